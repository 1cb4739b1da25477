/**
 * What Yarn does to a package's manifest is not tampering: the real pinned
 * Yarn installs, from the loopback registry, the shapes of real trees that
 * the manifest check once refused (a package whose scripts call node-gyp, a
 * binding.gyp package as npm publishes it, a built-in compat patch, the
 * project's packageExtensions, optional platform packages, resolutions), and
 * `yarn install`, `yarn sigstore verify` and `yarn sigstore explain` reach
 * the same verdict on the same state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageTarball, readPackageJson, withPostinstallMarker } from '../../testkit/tarball';
import type { YarnProject } from '../../testkit/yarn';
import { provenanceRule, publishSigned } from '../../testkit/attack-harness';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';
import { editLockfileEntry, serveNodeGyp, withLockfileDependency } from '../../testkit/manifest-kit';

let kit: E2eKit;

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-manifest-trust-' });
  serveNodeGyp(kit);
  // Yarn's built-in compat patch applies to every `resolve` (optional: it falls back to the original when a hunk does not apply).
  await publishSigned(kit, { name: 'resolve', version: '1.22.8' });
});

afterAll(() => kit?.close());

/** Provenance required for `signed`, nothing for the packages Yarn adds (node-gyp) or the helpers. */
function policyFor(signed: string[], head = 'mode: enforce'): string {
  return ['version: 1', head, 'default: { require: none }', 'rules:', ...signed.map((name) => provenanceRule(name)), ''].join('\n');
}

function expectGreen(p: YarnProject, result: { code: number | null; output: string }): void {
  expect(result.code, result.output).toBe(0);
  expect(result.output).not.toContain('MANIFEST_MISMATCH');
}

describe.concurrent('what Yarn does to a manifest installs green', () => {
  it('a package whose scripts call node-gyp (Yarn adds node-gyp@latest, as for fsevents)', async () => {
    const staged = await publishSigned(kit, { name: 'mf-gyp-script', version: '1.0.0', scripts: { rebuild: 'node-gyp rebuild' } });
    const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyFor([staged.name]) });
    expectGreen(p, await p.install());
    expect(p.read('yarn.lock')).toMatch(/node-gyp: "npm:latest"/);
    expect(p.markerExists(staged.name, staged.version)).toBe(true);
    expectGreen(p, await p.install());
  });

  it('a binding.gyp package whose metadata carries the install script npm adds on publish (node-addon-api)', async () => {
    const name = 'mf-gypfile';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0', files: [{ path: 'binding.gyp', content: '{ "targets": [] }\n' }] }));
    const attestations = await kit.mock.signPackage({ name, version: '1.0.0', tarball, identity: (await import('../../testkit/signer')).githubIdentity({ repository: `acme/${name}` }) });
    const packageJson = readPackageJson(tarball) as { scripts: Record<string, string> };
    kit.registry.addVersion({ name, version: '1.0.0', tarball, attestations, manifest: { ...packageJson, gypfile: true, scripts: { ...packageJson.scripts, install: 'node-gyp rebuild' } } });
    const p = await kit.project({ dependencies: { [name]: '1.0.0' }, policy: policyFor([name]) });
    expectGreen(p, await p.install());
    expect(p.markerExists(name, '1.0.0')).toBe(true);
  });

  it("a package Yarn patches with its built-in compat patch (resolve), cold and warm, and Yarn's extensions", async () => {
    const p = await kit.project({ dependencies: { resolve: '1.22.8' }, policy: policyFor(['resolve']) });
    expectGreen(p, await p.install());
    expect(p.read('yarn.lock')).toContain('resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>');
    expectGreen(p, await p.install());
  });

  it("the project's packageExtensions (a dependency and a peer dependency added to a verified package)", async () => {
    const staged = await publishSigned(kit, { name: 'mf-extended', version: '1.0.0' });
    const added = await publishSigned(kit, { name: 'mf-extension-dep', version: '1.0.0' });
    const yarnrc = ['packageExtensions:', `  "${staged.name}@*":`, '    dependencies:', `      ${added.name}: "1.0.0"`, '    peerDependencies:', '      react: "*"'].join('\n');
    const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyFor([staged.name, added.name]), yarnrc });
    expectGreen(p, await p.install());
    expect(p.exists(`node_modules/${added.name}/package.json`)).toBe(true);
  });

  it('optional platform packages: the one for this platform installed, the others never fetched', async () => {
    const other = process.platform === 'darwin' ? 'linux' : 'darwin';
    await publishSigned(kit, { name: '@mf/plat-here', version: '1.0.0', extra: { os: [process.platform] } });
    await publishSigned(kit, { name: '@mf/plat-other', version: '1.0.0', extra: { os: [other] } });
    const staged = await publishSigned(kit, { name: 'mf-platform', version: '1.0.0', extra: { optionalDependencies: { '@mf/plat-here': '1.0.0', '@mf/plat-other': '1.0.0' } } });
    const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyFor([staged.name, '@mf/plat-here', '@mf/plat-other']) });
    expectGreen(p, await p.install());
    expect(p.exists('node_modules/@mf/plat-here/package.json')).toBe(true);
    expect(p.exists('node_modules/@mf/plat-other')).toBe(false);
  });

  it("the project's resolutions (a verified package's ^2 dependency forced to 1.0.0)", async () => {
    for (const version of ['1.0.0', '2.0.0']) await publishSigned(kit, { name: 'mf-res-lib', version });
    const staged = await publishSigned(kit, { name: 'mf-res-app', version: '1.0.0', dependencies: { 'mf-res-lib': '^2.0.0' } });
    const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyFor([staged.name, 'mf-res-lib']) });
    p.write('package.json', JSON.stringify({ name: 'e2e-project', private: true, dependencies: { [staged.name]: staged.version }, resolutions: { 'mf-res-lib': '1.0.0' } }));
    expectGreen(p, await p.install());
    expect(JSON.parse(p.read('node_modules/mf-res-lib/package.json')!).version).toBe('1.0.0');
  });
});

describe.concurrent('install, verify and explain agree', () => {
  /** The three verdicts on the project as it stands: exit codes and output. */
  async function threeVerdicts(p: YarnProject, name: string) {
    const verify = await p.run(['sigstore', 'verify']);
    const explain = await p.run(['sigstore', 'explain', name]);
    const install = await p.install();
    return { install, verify, explain };
  }

  it('on a clean tree with node-gyp injection and a compat patch: all pass', async () => {
    const staged = await publishSigned(kit, { name: 'mf-agree-gyp', version: '1.0.0', scripts: { rebuild: 'node-gyp rebuild' } });
    const p = await kit.project({ dependencies: { [staged.name]: staged.version, resolve: '1.22.8' }, policy: policyFor([staged.name, 'resolve']) });
    expectGreen(p, await p.install());
    for (const name of [staged.name, 'resolve']) {
      const { install, verify, explain } = await threeVerdicts(p, name);
      for (const result of [install, verify, explain]) expectGreen(p, result);
      expect(explain.output).toContain('Verdict: ALLOW');
    }
  });

  it("on a yarn.lock whose entry of a compat-patched package (resolve) gained a dependency: all three refuse it, and under mode off or verify: skip all three let it through with a warning", async () => {
    const evil = await publishSigned(kit, { name: 'mf-agree-evil', version: '1.0.0' });
    const p = await kit.project({ dependencies: { resolve: '1.22.8', [evil.name]: evil.version }, policy: policyFor(['resolve', evil.name]) });
    expectGreen(p, await p.install());
    // The base's entry: Yarn derives the patch:'s entry from it on every install (a patch: entry edited alone is rewritten).
    editLockfileEntry(p, 'resolve@npm:1.22.8', (entry) => withLockfileDependency(entry, evil.name, 'npm:1.0.0'));

    const refused = await threeVerdicts(p, 'resolve');
    for (const [command, result] of Object.entries(refused)) {
      expect(result.code, `${command}: ${result.output}`).toBe(1);
      expect(result.output, command).toMatch(/MANIFEST_MISMATCH\] resolve@npm:1\.22\.8: .*dependency mf-agree-evil: the verified package\.json does not declare it, found npm:1\.0\.0/);
    }
    expect(refused.explain.output).toMatch(/Verdict: DENY: .*MANIFEST_MISMATCH/);

    const waivers = {
      'a top-level mode off': 'version: 1\nmode: off\ndefault: { require: provenance }\n',
      'a rule with mode off': 'version: 1\nmode: enforce\ndefault: { require: none }\nrules:\n  - packages: ["resolve"]\n    require: provenance\n    mode: off\n',
      'a rule with verify: skip': 'version: 1\nmode: enforce\ndefault: { require: none }\nrules:\n  - packages: ["resolve"]\n    require: none\n    verify: skip\n    reason: our verifier lags a new format\n    expires: 2999-12-31\n',
    };
    for (const [waiver, policy] of Object.entries(waivers)) {
      p.write('sigstore-policy.yml', policy);
      const waived = await threeVerdicts(p, 'resolve');
      for (const [command, result] of Object.entries(waived)) {
        expect(result.code, `${waiver}, ${command}: ${result.output}`).toBe(0);
        expect(result.output, `${waiver}, ${command}`).toMatch(/MANIFEST_MISMATCH\].*\(not enforced: /);
      }
    }
  });
});
