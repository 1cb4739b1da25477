/**
 * Every command that installs applies the project's policy, not only
 * `yarn install`: `yarn dlx` (whose temporary project has no policy file of
 * its own), `yarn add`, `yarn up`, `yarn workspaces focus`. The attacker's
 * package is unsigned (or signed by someone else) and carries a postinstall
 * and a bin that write a marker.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import { runYarn, type YarnProject } from '../../testkit/yarn';
import { expectInstalled, markersWritten, policyOf, provenanceRule, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => {
  await kit?.close();
});

/** An unsigned package with a postinstall and a bin that both write its marker. */
function publishUnsigned(name: string, version = '1.0.0'): void {
  const spec = withPostinstallMarker({ name, version, bin: { [name]: 'postinstall-marker.js' } });
  kit.registry.addVersion({ name, version, tarball: buildPackageTarball(spec) });
}

/** A project whose policy requires provenance by default, with one signed dependency installed. */
async function guardedProject(prefix: string, policy?: string): Promise<{ p: YarnProject; signed: string }> {
  const signed = await publishSigned(kit, { name: `${prefix}-signed`, version: '1.0.0', bin: { [`${prefix}-signed`]: 'postinstall-marker.js' } });
  const p = await kit.project({ dependencies: { [signed.name]: '1.0.0' }, policy: policy ?? policyOf([provenanceRule(signed.name)]) });
  expectInstalled(p, await p.install(), signed.name, '1.0.0');
  return { p, signed: signed.name };
}

describe.concurrent('yarn dlx', () => {
  it('applies the policy of the project it runs from: an unsigned package is refused, its postinstall and bin never run, and the policy is named', async () => {
    const { p } = await guardedProject('dlx-a');
    publishUnsigned('dlx-a-unsigned');
    const before = markersWritten(p);
    const result = await p.run(['dlx', 'dlx-a-unsigned']);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_DENIED/);
    expect(result.output).toContain('dlx-a-unsigned@1.0.0');
    expect(result.output).toContain(`sigstore-policy.yml, the policy of ${p.cwd}, where yarn dlx runs`);
    expect(markersWritten(p)).toEqual(before);
  });

  it('control: a signed package the policy allows runs through dlx', async () => {
    const { p } = await guardedProject('dlx-b');
    const tool = await publishSigned(kit, { name: 'dlx-b-tool', version: '1.0.0', bin: { 'dlx-b-tool': 'postinstall-marker.js' } });
    p.write('sigstore-policy.yml', policyOf([provenanceRule('dlx-b-signed'), provenanceRule(tool.name)]));
    const result = await p.run(['dlx', tool.name]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('where yarn dlx runs');
    expect(p.markerExists(tool.name, '1.0.0')).toBe(true);
    // dlx's temporary project and its sigstore.lock are thrown away: no pins announced for them.
    expect(result.output).not.toContain('sigstore: pinned');
  });

  it('with `--cwd <project>` from another folder, still the policy of that project', async () => {
    const { p } = await guardedProject('dlx-c');
    publishUnsigned('dlx-c-unsigned');
    const before = markersWritten(p);
    const elsewhere = mkdtempSync(join(tmpdir(), 'sigstore-dlx-elsewhere-'));
    const result = await runYarn(elsewhere, ['--cwd', p.cwd, 'dlx', 'dlx-c-unsigned'], { HOME: p.cwd, YARN_GLOBAL_FOLDER: join(p.cwd, '.yarn-global'), YARN_ENABLE_TELEMETRY: '0', SIGSTORE_TEST_MARKER_DIR: p.markers });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_DENIED/);
    expect(markersWritten(p)).toEqual(before);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a policy that cannot be applied (invalid) refuses dlx', async () => {
    const { p } = await guardedProject('dlx-d');
    publishUnsigned('dlx-d-unsigned');
    p.write('sigstore-policy.yml', 'version: 1\nrules: [\n');
    const before = markersWritten(p);
    const result = await p.run(['dlx', 'dlx-d-unsigned']);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_INVALID/);
    expect(markersWritten(p)).toEqual(before);
  });
});

describe.concurrent('other commands that install', () => {
  it('yarn add of an unsigned package is refused', async () => {
    const { p } = await guardedProject('add-a');
    publishUnsigned('add-a-unsigned');
    const before = markersWritten(p);
    const result = await p.run(['add', 'add-a-unsigned']);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_DENIED/);
    expect(markersWritten(p)).toEqual(before);
    expect(p.exists('node_modules/add-a-unsigned')).toBe(false);
  });

  it('yarn up to an unsigned new version is refused', async () => {
    const { p, signed } = await guardedProject('up-a');
    publishUnsigned(signed, '1.1.0');
    const before = markersWritten(p);
    const result = await p.run(['up', `${signed}@1.1.0`]);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_DENIED/);
    expect(result.output).toContain(`${signed}@1.1.0`);
    expect(markersWritten(p)).toEqual(before);
    expect(p.read('node_modules/up-a-signed/package.json')).toContain('"1.0.0"');
  });

  it('yarn install --mode=update-lockfile (fetches what the lockfile lacks, links nothing) refuses an unsigned package, and no archive of it enters the cache', async () => {
    const { p } = await guardedProject('lockfile-a');
    publishUnsigned('lockfile-a-unsigned');
    const manifest = JSON.parse(p.read('package.json')!);
    p.write('package.json', JSON.stringify({ ...manifest, dependencies: { ...manifest.dependencies, 'lockfile-a-unsigned': '1.0.0' } }));
    const before = markersWritten(p);
    const result = await p.run(['install', '--mode=update-lockfile']);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_DENIED/);
    expect(result.output).toContain('lockfile-a-unsigned@1.0.0');
    expect(markersWritten(p)).toEqual(before);
    // The test projects use Yarn's global cache (in their own global folder); the signed package's archive is there.
    const cached = readdirSync(join(p.cwd, '.yarn-global/cache'));
    expect(cached.some((file) => file.startsWith('lockfile-a-signed-'))).toBe(true);
    expect(cached.filter((file) => file.startsWith('lockfile-a-unsigned-'))).toEqual([]);
  });

  it('yarn workspaces focus applies the policy to the focused workspace', async () => {
    const { p } = await guardedProject('focus-a');
    publishUnsigned('focus-a-unsigned');
    const manifest = JSON.parse(p.read('package.json')!);
    p.write('package.json', JSON.stringify({ ...manifest, workspaces: ['packages/*'] }));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(p.cwd, 'packages/app'), { recursive: true });
    p.write('packages/app/package.json', JSON.stringify({ name: 'app', version: '0.0.0', dependencies: { 'focus-a-unsigned': '1.0.0' } }));
    const before = markersWritten(p);
    const result = await p.run(['workspaces', 'focus', 'app']);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(/POLICY_DENIED/);
    expect(markersWritten(p)).toEqual(before);
  });
});
