/**
 * Attacks on the specifications Yarn installs a verified package's
 * dependencies from: registry metadata or a yarn.lock edit that keeps every
 * dependency name but points one at an old, genuinely signed release or at
 * another package through an alias. The bytes verify; what Yarn would
 * install with them is not what the verified package.json declares.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackageJson } from '../../testkit/tarball';
import { editLockfileEntry } from '../../testkit/manifest-kit';
import { clearInstallOutput, expectInstalled, expectRefused, policyOf, provenanceRule, publishSigned, type AttackKit, type Staged, startAttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
  // `lib@1.0.0` is an old release, signed by its own repository: the target of a downgrade.
  for (const version of ['1.0.0', '2.0.0']) await publishSigned(kit, { name: 'ms-lib', version });
  await publishSigned(kit, { name: 'ms-other', version: '1.0.0' });
});
afterAll(async () => kit?.close());

const RULES = ['ms-lib', 'ms-other'].map((name) => provenanceRule(name));

/** A verified package declaring `"ms-lib": "^2.0.0"`, served with `dependencies` in its metadata instead (or as published). */
async function appDeclaringLib(name: string, servedDependencies?: Record<string, string>): Promise<Staged> {
  const staged = await publishSigned(kit, { name, version: '1.0.0', dependencies: { 'ms-lib': '^2.0.0' } });
  if (servedDependencies) {
    kit.registry.addVersion({ name, version: '1.0.0', tarball: staged.tarball, attestations: staged.attestations, manifest: { ...readPackageJson(staged.tarball), dependencies: servedDependencies } });
  }
  return staged;
}

/** The refusal names the package, the dependency, what the verified package.json declares and what was found. */
function expectNamed(output: string, name: string, found: string): void {
  expect(output).toContain(`[MANIFEST_MISMATCH] ${name}@npm:1.0.0: `);
  expect(output).toContain(`dependency ms-lib: the verified package.json declares npm:^2.0.0, found ${found}`);
}

describe.concurrent('dependency specifications rewritten', () => {
  it('control: the package as published installs with ms-lib 2.0.0', async () => {
    const staged = await appDeclaringLib('ms-control');
    const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyOf([provenanceRule(staged.name), ...RULES]) });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    expect(JSON.parse(p.read('node_modules/ms-lib/package.json')!).version).toBe('2.0.0');
  });

  for (const [what, range] of [
    ['"1.0.0" (an old signed release)', '1.0.0'],
    ['an alias, "npm:ms-other@1.0.0"', 'npm:ms-other@1.0.0'],
  ] as const) {
    it(`registry metadata rewrites "^2.0.0" to ${what}`, async () => {
      const staged = await appDeclaringLib(`ms-meta-${range.includes('other') ? 'alias' : 'range'}`, { 'ms-lib': range });
      const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyOf([provenanceRule(staged.name), ...RULES]) });
      const result = await p.install();
      expectRefused(p, result, 'MANIFEST_MISMATCH');
      expectNamed(result.output, staged.name, `npm:${range.replace(/^npm:/, '')}`);
    });
  }

  for (const [what, range] of [
    ['the range to an old signed release', 'npm:1.0.0'],
    ['the alias target to another package', 'npm:ms-other@1.0.0'],
  ] as const) {
    it(`a yarn.lock edit changes ${what} (${range})`, async () => {
      const staged = await appDeclaringLib(`ms-lock-${range.includes('other') ? 'alias' : 'range'}`);
      // The project also uses the edit's target, so the edited lockfile is complete and --immutable would accept it.
      const target: Record<string, string> = range.includes('other') ? { 'ms-lib-alias': 'npm:ms-other@1.0.0' } : { 'ms-lib-old': 'npm:ms-lib@1.0.0' };
      const p = await kit.project({ dependencies: { [staged.name]: staged.version, ...target }, policy: policyOf([provenanceRule(staged.name), ...RULES]) });
      expectInstalled(p, await p.install(), staged.name, staged.version);
      editLockfileEntry(p, `${staged.name}@npm:1.0.0`, (entry) => entry.replace('ms-lib: "npm:^2.0.0"', `ms-lib: "${range}"`));
      // An alias is keyed by the name it is installed as: the edit adds that key to the target's entry.
      if (range.includes('other')) editLockfileEntry(p, 'ms-other@npm:1.0.0', (entry) => entry.replace('"ms-lib-alias@npm:ms-other@1.0.0"', '"ms-lib-alias@npm:ms-other@1.0.0, ms-lib@npm:ms-other@1.0.0"'));
      clearInstallOutput(p);
      const result = await p.install();
      expectRefused(p, result, 'MANIFEST_MISMATCH', { warm: [staged.name] });
      expectNamed(result.output, staged.name, range);
      const verified = await p.run(['sigstore', 'verify']);
      expect(verified.code, verified.output).toBe(1);
      expectNamed(verified.output, staged.name, range);
    });
  }
});
