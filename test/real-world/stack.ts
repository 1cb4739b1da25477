/**
 * The adoption path every real-world stack must pass, as a new user walks it:
 * a zero-config install; `yarn sigstore policy init`; the same tree installed
 * again under that policy from an empty cache (see testkit/real-world.ts);
 * `yarn sigstore verify` agreeing with that install; and under that policy a
 * new unsigned package refused with the command that allows it, which then
 * does.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRealWorldProject,
  forgetAllButZips,
  registryPackagesInLockfile,
  registryVerdicts,
  sharedYarnCache,
  sigstoreFailures,
  sigstoreSummary,
  statusCounts,
  type RealWorldStack,
  type SigstoreSummary,
} from '../../testkit/real-world';
import { assertRegistryReachable, configuredNpmRegistry } from '../../testkit/npm-registry';
import type { YarnProject } from '../../testkit/yarn';

/** A real tree on a loaded 2-core machine: an install may take a minute. */
const STEP_TIMEOUT = 300_000;

/** A leaf package without provenance that none of the stacks depends on. */
const NEW_UNSIGNED = { name: 'left-pad', version: '1.3.0' };

/** A day `days` from now, as `--expires` takes it. */
function isoDateIn(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export function describeRealWorldStack(stack: RealWorldStack): void {
  describe(`${stack.name} (${stack.nodeLinker}) from the npm registry`, () => {
    const registryUrl = configuredNpmRegistry();
    let project: YarnProject;
    let zeroConfig: SigstoreSummary | undefined;
    let underPolicy: SigstoreSummary | undefined;

    beforeAll(async () => {
      await assertRegistryReachable(registryUrl);
      project = await createRealWorldProject(stack, registryUrl, sharedYarnCache());
    });

    afterAll(() => {
      if (project) rmSync(project.cwd, { recursive: true, force: true });
    });

    it('installs with zero config, every registry package of yarn.lock counted once', { timeout: STEP_TIMEOUT }, async () => {
      const install = await project.run(['install', '--json']);
      expect(install.code, sigstoreFailures(install) || install.output).toBe(0);
      const summary = sigstoreSummary(install);
      expect(summary).toMatchObject({ outcome: 'completed', failures: 0 });
      const registryPackages = registryPackagesInLockfile(project);
      expect(summary.packages, 'the registry packages announced are those of yarn.lock').toBe(registryPackages);
      expect(registryVerdicts(summary), 'the counts by verdict add up to the packages announced').toBe(registryPackages);
      expect(summary.allowedUnsigned, 'the registry serves unsigned packages').toBeGreaterThan(0);
      zeroConfig = summary;
    });

    it('policy init writes a policy under which the same tree installs again from an empty cache', { timeout: STEP_TIMEOUT }, async () => {
      expect(zeroConfig, 'the zero-config install passed').toBeDefined();
      const init = await project.run(['sigstore', 'policy', 'init']);
      expect(init.code, init.output).toBe(0);
      const check = await project.run(['sigstore', 'policy', 'check']);
      expect(check.code, check.output).toBe(0);

      forgetAllButZips(project, stack);
      const lockfile = project.read('yarn.lock');
      const install = await project.run(['install', '--json']);
      expect(install.code, sigstoreFailures(install) || install.output).toBe(0);
      expect(project.read('yarn.lock'), 'the same tree: yarn.lock unchanged').toBe(lockfile);
      const summary = sigstoreSummary(install);
      expect(summary.outcome).toBe('completed');
      expect(statusCounts(summary), 'the same verdicts as the zero-config install').toEqual(statusCounts(zeroConfig!));
      underPolicy = summary;
    });

    it('yarn sigstore verify agrees with that install', { timeout: STEP_TIMEOUT }, async () => {
      expect(underPolicy, 'the install under the written policy passed').toBeDefined();
      const verify = await project.run(['sigstore', 'verify', '--json']);
      expect(verify.code, sigstoreFailures(verify) || verify.output).toBe(0);
      const summary = sigstoreSummary(verify);
      expect(summary.outcome).toBe('completed');
      expect(statusCounts(summary)).toEqual(statusCounts(underPolicy!));
    });

    it('yarn add of a new unsigned package fails with the command that allows it, and that command allows it', { timeout: STEP_TIMEOUT }, async () => {
      expect(underPolicy, 'the install under the written policy passed').toBeDefined();
      const { name, version } = NEW_UNSIGNED;
      expect(project.read('yarn.lock'), `${name} is new to the tree`).not.toContain(`"${name}@`);

      const refused = await project.run(['add', `${name}@${version}`]);
      expect(refused.code, refused.output).toBe(1);
      expect(refused.output).toMatch(new RegExp(`${name}@(npm:)?${version.replace(/\./g, '\\.')}`));
      expect(refused.output).toContain(`yarn sigstore policy allow ${name}`);

      const allow = await project.run(['sigstore', 'policy', 'allow', name, '--reason', 'a leaf package without provenance, reviewed', '--expires', isoDateIn(90)]);
      expect(allow.code, allow.output).toBe(0);
      const added = await project.run(['add', `${name}@${version}`, '--json']);
      expect(added.code, sigstoreFailures(added) || added.output).toBe(0);
      expect(sigstoreSummary(added)).toMatchObject({ outcome: 'completed', failures: 0, allowedUnsigned: underPolicy!.allowedUnsigned + 1 });
    });
  });
}
