/**
 * The `yarn sigstore` commands end to end: the real pinned Yarn, the built
 * plugin, a loopback registry serving the real fixtures and mock-signed
 * packages. Each case starts from a fresh project with its own global folder.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALLABLE_FIXTURES, fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import type { TestRegistry } from '../../testkit/registry';
import { githubIdentity, type MockSigstore } from '../../testkit/signer';
import { buildPackageTarball } from '../../testkit/tarball';
import { jsonEvents as events, type YarnProject, type YarnProjectOptions } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const [GUNDAM, GOGGLES] = INSTALLABLE_FIXTURES;
const ACME = { name: '@acme/widget', version: '1.0.0', repository: 'acme/widget', repositoryId: '4242' };
const UNSIGNED = { name: 'plain-unsigned', version: '2.0.0' };
const ISSUER = 'https://token.actions.githubusercontent.com';

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;
let acmeTarball: Buffer;

function rule(packages: string, repository: string): string {
  return [`  - packages: ["${packages}"]`, '    require: provenance', '    identity:', `      issuer: ${ISSUER}`, `      repository: ${repository}`, '      workflow: .github/workflows/npm-publish.yml'].join('\n');
}

function fixturePolicy(gundamRepository: string = GUNDAM.repository): string {
  return ['version: 1', 'mode: enforce', 'default: { require: provenance }', 'rules:', rule(GUNDAM.name, gundamRepository), rule(GOGGLES.name, GOGGLES.repository), ''].join('\n');
}

function project(options: Partial<YarnProjectOptions>): Promise<YarnProject> {
  return kit.project({ dependencies: { [GUNDAM.name]: GUNDAM.version }, ...options });
}

async function signAcme(repository: string, repositoryId: string) {
  return mock.signPackage({ name: ACME.name, version: ACME.version, tarball: acmeTarball, identity: githubIdentity({ repository, repositoryId, workflow: '.github/workflows/release.yml' }) });
}

beforeAll(async () => {
  kit = await startE2eKit({ fixtures: true, tempPrefix: 'sigstore-commands-trust-' });
  ({ registry, mock } = kit);
  acmeTarball = buildPackageTarball({ name: ACME.name, version: ACME.version });
  registry.addVersion({ name: ACME.name, version: ACME.version, tarball: acmeTarball, attestations: await signAcme(ACME.repository, ACME.repositoryId) });
  registry.addVersion({ name: UNSIGNED.name, version: UNSIGNED.version, tarball: buildPackageTarball({ name: UNSIGNED.name, version: UNSIGNED.version }) });
});

afterAll(() => kit?.close());

describe('yarn sigstore verify', () => {
  it('passes on an installed project, then fails once the policy is tightened, naming package and identities', async () => {
    const p = await project({ dependencies: { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version }, policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);

    const passing = await p.run(['sigstore', 'verify']);
    expect(passing.output).toContain('sigstore: 2 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(passing.code).toBe(0);

    p.write('sigstore-policy.yml', fixturePolicy('https://github.com/someone-else/gundam-visor'));
    const failing = await p.run(['sigstore', 'verify']);
    expect(failing.code).toBe(1);
    expect(failing.output).toContain('gundam-visor@1.0.1');
    expect(failing.output).toContain('identity.repository expected https://github.com/someone-else/gundam-visor, found https://github.com/ramonpetgrave64/gundam-visor');
    expect(failing.output).toContain('1 verified, 0 allowed unsigned by rule, 0 warnings, 1 failures');

    const json = await p.run(['sigstore', 'verify', '--json']);
    expect(json.code).toBe(1);
    const lines = events(json.stdout);
    const packages = lines.filter((event) => event.type === 'sigstore-package');
    expect(packages.map((event) => `${event.name}:${event.status}`).sort()).toEqual([`${GOGGLES.name}:verified`, 'e2e-project:local', `${GUNDAM.name}:failed`]);
    expect(packages.find((event) => event.name === GOGGLES.name).identity.sourceRepositoryUri).toBe(GOGGLES.repository);
    expect(lines.find((event) => event.type === 'sigstore-summary')).toMatchObject({ outcome: 'failed', verified: 1, failures: 1 });
  });

  it('fails on a lockfile that does not cover the manifest instead of resolving anew', async () => {
    const p = await project({ policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);
    p.write('package.json', JSON.stringify({ name: 'e2e-project', private: true, dependencies: { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version } }));
    const result = await p.run(['sigstore', 'verify']);
    expect(result.code).toBe(1);
    expect(result.output).toContain('supreme-goggles');
    expect(result.output).not.toContain('sigstore: 2 verified');
    expect(result.output).toContain('0 failures (stopped before every package was verified)');

    const json = await p.run(['sigstore', 'verify', '--json']);
    expect(json.code).toBe(1);
    const lines = events(json.stdout);
    expect(lines.some((event) => event.type === 'error' && /LOCKFILE_STALE/.test(event.data ?? ''))).toBe(true);
    expect(lines.filter((event) => event.type === 'sigstore-summary')).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ type: 'sigstore-summary', outcome: 'failed', verified: 0, failures: 0 });
  });

  it('--json reports every package once (registry, policy-allowed tarball URL, workspaces) and ends with a completed summary', async () => {
    const tarballUrl = registry.tarballUrl(UNSIGNED.name, UNSIGNED.version);
    const p = await project({ policy: `${fixturePolicy()}sources:\n  tarball:\n    - { package: url-dep, url: "${tarballUrl}" }\n`, dependencies: { [GUNDAM.name]: GUNDAM.version, 'url-dep': tarballUrl, lib: 'workspace:*' } });
    p.write('package.json', JSON.stringify({ ...JSON.parse(p.read('package.json')!), workspaces: ['packages/*'] }));
    mkdirSync(join(p.cwd, 'packages/lib'), { recursive: true });
    p.write('packages/lib/package.json', JSON.stringify({ name: 'lib', version: '1.0.0' }));
    expect((await p.install()).code).toBe(0);

    const json = await p.run(['sigstore', 'verify', '--json']);
    expect(json.code).toBe(0);
    const lines = events(json.stdout);
    const packages = lines.filter((event) => event.type === 'sigstore-package');
    expect(packages.map((event) => `${event.name}:${event.status}`).sort()).toEqual(['e2e-project:local', `${GUNDAM.name}:verified`, 'lib:local', 'url-dep:allowed-source']);
    expect(packages.find((event) => event.name === 'url-dep').source).toMatch(/url-dep/);
    expect(lines.filter((event) => event.type === 'sigstore-summary')).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ type: 'sigstore-summary', outcome: 'completed', packages: 1, verified: 1, otherSources: 1, local: 2, failures: 0 });
  });

  it('--json on a project without dependencies ends with a completed summary of zero registry packages', async () => {
    const p = await kit.project({ dependencies: {}, policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);
    const json = await p.run(['sigstore', 'verify', '--json']);
    expect(json.code).toBe(0);
    const lines = events(json.stdout);
    expect(lines.filter((event) => event.type === 'sigstore-package').map((event) => `${event.name}:${event.status}`)).toEqual(['e2e-project:local']);
    expect(lines.at(-1)).toMatchObject({ type: 'sigstore-summary', outcome: 'completed', verified: 0, allowedUnsigned: 0, warnings: 0, failures: 0, otherSources: 0 });
  });

  it('--json with a policy that does not load ends with a failed summary', async () => {
    const p = await project({ policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);
    p.write('sigstore-policy.yml', 'version: 1\nrules:\n  - packages: ["x"]\n    require: sometimes\n');
    const json = await p.run(['sigstore', 'verify', '--json']);
    expect(json.code).toBe(1);
    const lines = events(json.stdout);
    expect(lines.some((event) => event.type === 'error' && /POLICY_INVALID/.test(event.data ?? ''))).toBe(true);
    expect(lines.filter((event) => event.type === 'sigstore-summary')).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ type: 'sigstore-summary', outcome: 'failed' });
  });
});

describe('yarn sigstore explain', () => {
  it('explains a package of the project: bundle source, every claim, the matching rule and the verdict', async () => {
    const p = await project({ policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);
    // As the install, explain takes the result verified for these bytes; rechecking fetches the bundles again.
    const cached = await p.run(['sigstore', 'explain', GUNDAM.name]);
    expect(cached.code).toBe(0);
    expect(cached.output).toContain('Bundles: verified earlier for these exact bytes and trust material');
    expect(cached.output).toContain('Verdict: ALLOW');
    const result = await p.run(['sigstore', 'explain', GUNDAM.name], { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' });
    expect(result.code).toBe(0);
    expect(result.output).toContain(`${GUNDAM.name}@npm:${GUNDAM.version} (in the lockfile)`);
    expect(result.output).toContain(`Bundles: found at ${registry.url}/-/npm/v1/attestations/${GUNDAM.name}@${GUNDAM.version}`);
    expect(result.output).toContain(`Source repository: ${GUNDAM.repository}`);
    expect(result.output).toContain('Build config (workflow): https://github.com/ramonpetgrave64/gundam-visor/.github/workflows/npm-publish.yml');
    expect(result.output).toMatch(/verified provenance \(https:\/\/slsa\.dev\/provenance\/v1\)/);
    expect(result.output).toContain(`Rule: rules[0] (${GUNDAM.name})`);
    expect(result.output).toContain(`identity.repository: ${GUNDAM.repository}`);
    expect(result.output).toContain('Verdict: ALLOW');
  });

  it('explains a package not in the project, resolved by Yarn, and exits 1 when it would be denied', async () => {
    const p = await project({ policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);
    const goggles = await p.run(['sigstore', 'explain', `${GOGGLES.name}@^1.0.0`, '--json']);
    expect(goggles.code).toBe(0);
    const explained = events(goggles.stdout).find((event) => event.type === 'sigstore-explain');
    expect(explained).toMatchObject({ inProject: false, name: GOGGLES.name, version: GOGGLES.version, outcome: 'verified' });
    expect(explained.identity.sourceRepositoryUri).toBe(GOGGLES.repository);
    expect(explained.verdict).toMatchObject({ decision: 'allow', rule: { index: 1 } });

    const acme = await p.run(['sigstore', 'explain', ACME.name]);
    expect(acme.code).toBe(0);
    expect(acme.output).toContain(`${ACME.name}@npm:${ACME.version} (not in the project: resolved with Yarn's resolver)`);
    expect(acme.output).toContain('Source repository: https://github.com/acme/widget');
    expect(acme.output).toContain(`Repository ID: ${ACME.repositoryId}`);
    expect(acme.output).toContain('Rule: default rule: no rule selects this package, so the default applies');
    expect(acme.output).toContain('Verdict: ALLOW');

    const unsigned = await p.run(['sigstore', 'explain', UNSIGNED.name]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.output).toContain('Bundles: none found');
    expect(unsigned.output).toContain(`Verdict: DENY: ${UNSIGNED.name}@${UNSIGNED.version}: denied by default rule: require expected provenance, found no attestation`);
    expect(p.read('package.json')).not.toContain(UNSIGNED.name);
    expect(p.exists(`node_modules/${UNSIGNED.name}`)).toBe(false);
  });

  it('explains an npm alias as the package it installs, not a registry package bearing its name; a platform package this machine skips as such, not INTERNAL', async () => {
    // A registry package named like the alias: explaining it instead would deny, and suggest allowing it.
    const impostor = { name: 'visor-alias', version: '9.0.0' };
    registry.addVersion({ ...impostor, tarball: buildPackageTarball(impostor) });
    const elsewhere = { name: 'native-elsewhere', version: '1.0.0' };
    registry.addVersion({ ...elsewhere, tarball: buildPackageTarball({ ...elsewhere, extra: { os: [process.platform === 'aix' ? 'sunos' : 'aix'] } }) });
    const p = await project({
      policy: fixturePolicy(),
      manifest: { name: 'e2e-project', private: true, dependencies: { [impostor.name]: `npm:${GUNDAM.name}@${GUNDAM.version}` }, optionalDependencies: { [elsewhere.name]: elsewhere.version } },
    });
    const install = await p.install();
    expect(install.code, install.output).toBe(0);

    const alias = await p.run(['sigstore', 'explain', impostor.name]);
    expect(alias.code, alias.output).toBe(0);
    expect(alias.output).toContain(`${GUNDAM.name}@npm:${GUNDAM.version} (in the lockfile, installed as the alias ${impostor.name})`);
    expect(alias.output).toContain(`Source repository: ${GUNDAM.repository}`);
    expect(alias.output).toContain('Verdict: ALLOW');
    expect(alias.output).not.toContain(impostor.version);

    const skipped = await p.run(['sigstore', 'explain', elsewhere.name, '--json']);
    expect(skipped.code, skipped.output).toBe(0);
    expect(events(skipped.stdout).find((event) => event.type === 'sigstore-explain')).toMatchObject({ inProject: true, status: 'skipped', source: 'not installed on this platform' });
    expect(skipped.output).not.toContain('INTERNAL');
    // Its entry gives the version as every judged entry does, not Yarn's `npm:1.0.0` reference.
    const verify = await p.run(['sigstore', 'verify', '--json']);
    expect(events(verify.stdout).find((event) => event.type === 'sigstore-package' && event.name === elsewhere.name)).toMatchObject({ status: 'skipped', version: elsewhere.version });
  });

  it('an unknown package and a workspace get a plain coded error, not INTERNAL', async () => {
    const p = await project({ policy: fixturePolicy() });
    const unknown = await p.run(['sigstore', 'explain', 'no-such-package-anywhere']);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('sigstore [PACKAGE_NOT_FOUND] no-such-package-anywhere@npm:latest: the registry has no such package');
    const workspace = await p.run(['sigstore', 'explain', 'e2e-project']);
    expect(workspace.code).toBe(1);
    expect(workspace.output).toContain('sigstore [NOT_A_REGISTRY_PACKAGE] e2e-project is a workspace of this project');
    for (const result of [unknown, workspace]) expect(result.output).not.toContain('INTERNAL');
  });

  it('answers for a tarball-URL dependency from the policy\'s sources, without fetching it', async () => {
    const p = await project({ policy: fixturePolicy() });
    const url = `${registry.url}/not-served/tool-1.0.0.tgz`;
    const before = registry.requests.length;
    const denied = await p.run(['sigstore', 'explain', `some-tool@${url}`]);
    expect(denied.code).toBe(1);
    expect(denied.output).toContain('a tarball source, not the registry');
    expect(denied.output).toMatch(/Verdict: DENY: .*some-tool/);
    expect(registry.requests.slice(before).filter((request) => request.url.includes('not-served'))).toEqual([]);

    p.write('sigstore-policy.yml', `${fixturePolicy()}sources:\n  tarball:\n    - { package: some-tool, url: "${url}" }\n`);
    const allowed = await p.run(['sigstore', 'explain', `some-tool@${url}`]);
    expect(allowed.code).toBe(0);
    expect(allowed.output).toMatch(/Verdict: ALLOW: .*some-tool/);
  });
});

describe('yarn sigstore policy init', () => {
  it('writes a policy pinned to the real identities under which the same install passes, and a changed identity fails', async () => {
    const p = await project({ dependencies: { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version, [ACME.name]: ACME.version, [UNSIGNED.name]: UNSIGNED.version } });
    expect((await p.install()).code).toBe(0);

    const init = await p.run(['sigstore', 'policy', 'init']);
    expect(init.code).toBe(0);
    expect(init.output).toContain('3 packages pinned to their provenance identity, 0 publish-only, 1 unsigned exceptions to review');
    const written = p.read('sigstore-policy.yml')!;
    expect(written).toContain('# ---- github.com/acme ----');
    expect(written).toContain('# ---- github.com/ramonpetgrave64 ----');
    expect(written).toContain(`  - packages:\n      - "${ACME.name}"\n    require: provenance`);
    expect(written).toContain('repository: "https://github.com/acme/widget"');
    expect(written).toContain(`repositoryId: "${ACME.repositoryId}"`);
    expect(written).toContain('workflow: ".github/workflows/release.yml"');
    expect(written).toContain(`repository: "${GUNDAM.repository}"`);
    expect(written).toContain(`  - packages:\n      - "${UNSIGNED.name}"\n    require: none`);
    // One package a line, no flow list: a dependency added or removed later is one line in the diff.
    expect(written).not.toMatch(/packages: \[/);
    expect(written).toMatch(/require: none\n    reason: "TODO[^"]*"\n    expires: "\d{4}-\d{2}-\d{2}"/);

    expect((await p.run(['sigstore', 'policy', 'check'])).code).toBe(0);
    const again = await p.install();
    expect(again.output).toContain('sigstore: 3 verified, 1 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(again.code).toBe(0);

    const refused = await p.run(['sigstore', 'policy', 'init']);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('pass --force to overwrite it');
    expect(p.read('sigstore-policy.yml')).toBe(written);

    // Same tarball, now signed from another repository: the pinned rule must refuse it. (By default a warm
    // install takes the result cached for these very bytes; with recheck on it verifies what is served now.)
    registry.setAttestations(ACME.name, ACME.version, await signAcme('acme-fork/widget', '9999'));
    try {
      const changed = await p.run(['install'], { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' });
      expect(changed.code).not.toBe(0);
      expect(changed.output).toContain(`${ACME.name}@${ACME.version}: denied by rules[0]`);
      expect(changed.output).toContain('identity.repository expected https://github.com/acme/widget, found https://github.com/acme-fork/widget');
      expect(changed.output).toContain(`identity.repositoryId expected ${ACME.repositoryId}, found 9999`);
    } finally {
      registry.setAttestations(ACME.name, ACME.version, await signAcme(ACME.repository, ACME.repositoryId));
    }
  });
});

describe('yarn sigstore policy init, fail closed', () => {
  it('writes nothing when a package\'s bundle fails verification', async () => {
    const p = await project({});
    expect((await p.install()).code).toBe(0);
    registry.addVersion(fixtureToRegistryVersion(loadFixturePackage(GUNDAM.name, GUNDAM.version), 'invalidsigprov'));
    try {
      const init = await p.run(['sigstore', 'policy', 'init']);
      expect(init.code).toBe(1);
      expect(init.output).toMatch(/sigstore \[[A-Z_]+\] gundam-visor@1\.0\.1/);
      expect(init.output).toContain('no policy written');
      expect(p.exists('sigstore-policy.yml')).toBe(false);
    } finally {
      registry.addVersion(fixtureToRegistryVersion(loadFixturePackage(GUNDAM.name, GUNDAM.version)));
    }
  });

  it('writes nothing without a yarn.lock that records the declared dependencies (a failed first install)', async () => {
    const p = await project({ dependencies: { [GUNDAM.name]: GUNDAM.version } });
    const init = await p.run(['sigstore', 'policy', 'init']);
    expect(init.code).toBe(1);
    expect(init.output).toContain(`sigstore [LOCKFILE_STALE] yarn.lock does not record ${GUNDAM.name}@${GUNDAM.version}`);
    expect(init.output).toContain('then run `yarn sigstore policy init` again');
    expect(p.exists('sigstore-policy.yml')).toBe(false);
  });
});

describe('yarn sigstore policy init --force', () => {
  it('replaces a loadable policy, and refuses once (not per package) over one that does not load', async () => {
    const p = await project({ policy: fixturePolicy() });
    expect((await p.install()).code).toBe(0);
    const replaced = await p.run(['sigstore', 'policy', 'init', '--force']);
    expect(replaced.code).toBe(0);
    expect(p.read('sigstore-policy.yml')).toContain('written by `yarn sigstore policy init`');

    p.write('sigstore-policy.yml', 'version: 2\n');
    const refused = await p.run(['sigstore', 'policy', 'init', '--force']);
    expect(refused.code).toBe(1);
    expect(refused.output.match(/sigstore \[POLICY_INVALID\]/g)).toHaveLength(1);
    expect(refused.output).toContain('move the file away first');
    expect(p.read('sigstore-policy.yml')).toBe('version: 2\n');
  });
});

describe('yarn sigstore policy check', () => {
  it('prints every problem of a broken policy and exits 1; a valid one exits 0', async () => {
    const p = await project({ policy: ['version: 2', 'mode: strict', 'default: { require: provenance }', 'rules:', '  - packages: ["left-pad"]', '    require: none', '    verify: skip', ''].join('\n') });
    const broken = await p.run(['sigstore', 'policy', 'check']);
    expect(broken.code).toBe(1);
    expect(broken.output).toContain('sigstore-policy.yml: version: expected 1 (found 2)');
    expect(broken.output).toContain('sigstore-policy.yml: mode: expected one of enforce | warn | off (found "strict")');
    expect(broken.output).toContain('rules[0].reason: expected a reason');
    expect(broken.output).toContain('rules[0].expires: expected an expiry date');

    const json = await p.run(['sigstore', 'policy', 'check', '--json']);
    expect(json.code).toBe(1);
    const summary = events(json.stdout).find((event) => event.type === 'sigstore-policy-check');
    expect(summary).toMatchObject({ valid: false, errors: 4 });

    p.write('other-policy.yml', fixturePolicy());
    const valid = await p.run(['sigstore', 'policy', 'check', 'other-policy.yml']);
    expect(valid.code).toBe(0);
    expect(valid.output).toContain('other-policy.yml is valid');
  });
});
