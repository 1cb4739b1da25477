/**
 * The install-time gate end to end: the real pinned Yarn, the built plugin
 * bundle, a real loopback registry serving the real fixtures and packages
 * signed through a mock Sigstore, `enableScripts: true` and postinstall
 * markers. Every case starts from a fresh project with its own global folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, INSTALLABLE_FIXTURES, attestationsVariantBytes, fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { startForeignHost, type TestRegistry } from '../../testkit/registry';
import { githubIdentity, type MockSigstore } from '../../testkit/signer';
import { buildPackageTarball, integrityOf, withPostinstallMarker } from '../../testkit/tarball';
import type { YarnProject, YarnProjectOptions } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const [GUNDAM, GOGGLES] = INSTALLABLE_FIXTURES;
const MARKER = { name: '@acme/marker', version: '1.0.0', repository: 'https://github.com/acme/marker' };
const UNSIGNED = { name: 'plain-unsigned', version: '2.0.0' };
const ISSUER = 'https://token.actions.githubusercontent.com';

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;

function rule(packages: string, repository: string, workflow = '.github/workflows/npm-publish.yml'): string {
  return [
    `  - packages: ["${packages}"]`,
    '    require: provenance',
    '    identity:',
    `      issuer: ${ISSUER}`,
    `      repository: ${repository}`,
    `      workflow: ${workflow}`,
  ].join('\n');
}

/** The policy naming the real repositories and workflows; `overrides` replace a package's repository. */
function policy(options: { mode?: string; gundamRepository?: string; extraRules?: string[]; sources?: string } = {}): string {
  return [
    'version: 1',
    `mode: ${options.mode ?? 'enforce'}`,
    'default: { require: provenance }',
    'rules:',
    ...(options.extraRules ?? []),
    rule(GUNDAM.name, options.gundamRepository ?? GUNDAM.repository),
    rule(GOGGLES.name, GOGGLES.repository),
    rule(MARKER.name, MARKER.repository, '.github/workflows/release.yml'),
    ...(options.sources ? [options.sources] : []),
    '',
  ].join('\n');
}

const ALL_DEPENDENCIES = { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version, [MARKER.name]: MARKER.version };

function project(options: Partial<YarnProjectOptions> & { policy?: string } = {}): Promise<YarnProject> {
  return kit.project({ dependencies: ALL_DEPENDENCIES, ...options });
}

function expectNothingInstalled(p: YarnProject): void {
  expect(p.exists('node_modules/gundam-visor')).toBe(false);
  expect(p.exists('node_modules/@acme/marker')).toBe(false);
  expect(p.markerExists(MARKER.name, MARKER.version)).toBe(false);
  expect(p.exists('yarn.lock')).toBe(false);
}

/** Stages a registry change for one case and always undoes it. */
async function withRegistryChange<T>(stage: () => void, undo: () => void, body: () => Promise<T>): Promise<T> {
  stage();
  try {
    return await body();
  } finally {
    undo();
  }
}

function restoreFixture(name: string, version: string): void {
  registry.clearFaults();
  registry.addVersion(fixtureToRegistryVersion(loadFixturePackage(name, version)));
}

beforeAll(async () => {
  kit = await startE2eKit({ fixtures: true });
  ({ registry, mock } = kit);
  const markerTarball = buildPackageTarball(withPostinstallMarker({ name: MARKER.name, version: MARKER.version }));
  registry.addVersion({
    name: MARKER.name,
    version: MARKER.version,
    tarball: markerTarball,
    attestations: await mock.signPackage({ name: MARKER.name, version: MARKER.version, tarball: markerTarball, identity: githubIdentity({ repository: 'acme/marker' }) }),
  });
  registry.addVersion({ name: UNSIGNED.name, version: UNSIGNED.version, tarball: buildPackageTarball(withPostinstallMarker({ name: UNSIGNED.name, version: UNSIGNED.version })) });
});

afterAll(() => kit?.close());

describe('yarn install through the sigstore gate', () => {
  it('1. installs real and mock-signed packages whose identities match the policy, and runs their scripts', async () => {
    const p = await project({ policy: policy(), importPlugin: true });
    const result = await p.install();
    expect(result.output).toContain('sigstore: 3 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(result.code).toBe(0);
    expect(p.exists('node_modules/gundam-visor/package.json')).toBe(true);
    expect(p.exists('node_modules/@trishankatdatadog/supreme-goggles/package.json')).toBe(true);
    expect(p.markerExists(MARKER.name, MARKER.version)).toBe(true);
    const evidence = p.evidence();
    const gundam = evidence.packages.find((entry: any) => entry.name === GUNDAM.name);
    expect(gundam.status).toBe('verified');
    expect(gundam.identity.sourceRepositoryUri ?? gundam.identity.san).toContain('ramonpetgrave64/gundam-visor');
    expect(gundam.bundles.length).toBeGreaterThan(0);
  });

  it('2. fails an identity mismatch naming package, rule, expected and found; nothing linked, no script, no yarn.lock', async () => {
    const p = await project({ policy: policy({ gundamRepository: 'https://github.com/someone-else/gundam-visor' }) });
    const result = await p.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('gundam-visor@1.0.1');
    expect(result.output).toContain('https://github.com/someone-else/gundam-visor');
    expect(result.output).toContain('https://github.com/ramonpetgrave64/gundam-visor');
    expect(result.output).toMatch(/rules\[\d\]/);
    expectNothingInstalled(p);
  });

  it('3. fails a tarball replaced by other bytes as a digest mismatch, also when dist.integrity is changed to match', async () => {
    const fixture = loadFixturePackage(GUNDAM.name, GUNDAM.version);
    const evil = buildPackageTarball(withPostinstallMarker({ name: GUNDAM.name, version: GUNDAM.version }));
    for (const integrity of [fixture.integrity, integrityOf(evil)]) {
      await withRegistryChange(
        () => {
          registry.setTarball(GUNDAM.name, GUNDAM.version, evil);
          registry.setIntegrity(GUNDAM.name, GUNDAM.version, integrity);
        },
        () => restoreFixture(GUNDAM.name, GUNDAM.version),
        async () => {
          const p = await project({ policy: policy() });
          const result = await p.install();
          expect(result.code).not.toBe(0);
          expect(result.output).toContain('SUBJECT_DIGEST_MISMATCH');
          expect(result.output).toContain('gundam-visor@1.0.1');
          expectNothingInstalled(p);
          expect(p.markerExists(GUNDAM.name, GUNDAM.version)).toBe(false);
        },
      );
    }
  });

  it('4. fails attestations whose provenance payload was altered (attestations.invalidsigprov.json) as a signature error', async () => {
    const fixture = loadFixturePackage(GUNDAM.name, GUNDAM.version);
    await withRegistryChange(
      () => registry.setAttestations(GUNDAM.name, GUNDAM.version, attestationsVariantBytes(fixture, 'invalidsigprov')),
      () => restoreFixture(GUNDAM.name, GUNDAM.version),
      async () => {
        const p = await project({ policy: policy() });
        const result = await p.install();
        expect(result.code).not.toBe(0);
        expect(result.output).toMatch(/gundam-visor@npm:1\.0\.1: sigstore \[(SIGNATURE|TLOG_[A-Z_]+|STATEMENT_MALFORMED|BUNDLE_MALFORMED)\]/);
        expectNothingInstalled(p);
      },
    );
  });

  it('5. an unsigned package fails under require: provenance and passes under a require: none rule, reported as such', async () => {
    const dependencies = { [UNSIGNED.name]: UNSIGNED.version, [GUNDAM.name]: GUNDAM.version };
    const strict = await project({ policy: policy(), dependencies });
    const refused = await strict.install();
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(`${UNSIGNED.name}@${UNSIGNED.version}`);
    expect(refused.output).toContain('POLICY_DENIED');
    expect(strict.markerExists(UNSIGNED.name, UNSIGNED.version)).toBe(false);
    expect(strict.exists('node_modules')).toBe(false);

    const exception = `  - packages: ["${UNSIGNED.name}"]\n    require: none\n    reason: no provenance upstream, tracked in SEC-1\n    expires: 2099-12-31`;
    const lenient = await project({ policy: policy({ extraRules: [exception] }), dependencies });
    const allowed = await lenient.install();
    expect(allowed.code).toBe(0);
    expect(allowed.output).toContain('sigstore: 1 verified, 1 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(lenient.markerExists(UNSIGNED.name, UNSIGNED.version)).toBe(true);
    const entry = lenient.evidence().packages.find((item: any) => item.name === UNSIGNED.name);
    expect(entry.status).toBe('allowed-unsigned');
    expect(entry.verdict.rule.index).toBe(0);
  });

  it('6. a second install on a warm cache after the policy was tightened fails and leaves node_modules as it was', async () => {
    const p = await project({ policy: policy() });
    expect((await p.install()).code).toBe(0);
    const lockfile = p.read('yarn.lock');
    const installedManifest = p.read('node_modules/gundam-visor/package.json');
    p.write('sigstore-policy.yml', policy({ gundamRepository: 'https://github.com/someone-else/*' }));
    const result = await p.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('https://github.com/someone-else/*');
    expect(p.read('yarn.lock')).toBe(lockfile);
    expect(p.read('node_modules/gundam-visor/package.json')).toBe(installedManifest);

    // Without the binding records the cache hit is re-derived from a fresh download, and passes again.
    p.write('sigstore-policy.yml', policy());
    rmSync(join(p.cwd, '.yarn-global/sigstore'), { recursive: true, force: true });
    registry.clearRequests();
    const rederived = await p.install();
    expect(rederived.code).toBe(0);
    expect(rederived.output).toContain('sigstore: 3 verified');
    expect(registry.requests.some((request) => request.kind === 'tarball' && request.name === GUNDAM.name)).toBe(true);
  });

  it('7. an attestations endpoint answering 500, never answering, sending invalid JSON or a huge body fails naming the package', async () => {
    const faults = [
      { action: { type: 'status', status: 500 } as const, expect: /500|remote server failed/i },
      { action: { type: 'hang' } as const, expect: /within 1500 ms/ },
      { action: { type: 'invalid-json' } as const, expect: /not valid JSON/ },
      { action: { type: 'huge', bytes: 50_000_000, contentLength: false } as const, expect: /exceeds the 1000000-byte limit/ },
    ];
    for (const fault of faults) {
      await withRegistryChange(
        () => registry.addFault({ match: { kind: 'attestations', name: GOGGLES.name }, action: fault.action }),
        () => registry.clearFaults(),
        async () => {
          const p = await project({ policy: policy(), yarnrc: 'sigstoreRequestTimeout: 1500\nsigstoreMaxResponseSize: 1000000\nhttpRetry: 1' });
          const result = await p.install();
          expect(result.code, fault.action.type).not.toBe(0);
          expect(result.output).toContain('SOURCE_FETCH_FAILED');
          expect(result.output).toContain(`${GOGGLES.name}@${GOGGLES.version}`);
          expect(result.output).toMatch(fault.expect);
          expectNothingInstalled(p);
        },
      );
    }
  });

  it('8. warn mode: an identity mismatch warns and the install completes; tampering still fails', async () => {
    const warnPolicy = policy({ mode: 'warn', gundamRepository: 'https://github.com/someone-else/gundam-visor' });
    const p = await project({ policy: warnPolicy });
    const warned = await p.install();
    expect(warned.code).toBe(0);
    expect(warned.output).toMatch(/YN0000: .*sigstore: .*gundam-visor@1\.0\.1.*someone-else/);
    expect(warned.output).toContain('2 verified, 0 allowed unsigned by rule, 1 warnings, 0 failures');
    expect(p.markerExists(MARKER.name, MARKER.version)).toBe(true);

    const fixture = loadFixturePackage(GOGGLES.name, GOGGLES.version);
    await withRegistryChange(
      () => registry.setAttestations(GOGGLES.name, GOGGLES.version, attestationsVariantBytes(fixture, 'invalidsigprov')),
      () => restoreFixture(GOGGLES.name, GOGGLES.version),
      async () => {
        const tampered = await project({ policy: warnPolicy });
        const result = await tampered.install();
        expect(result.code).not.toBe(0);
        expectNothingInstalled(tampered);
      },
    );
    const evil = buildPackageTarball({ name: GOGGLES.name, version: GOGGLES.version });
    await withRegistryChange(
      () => registry.setTarball(GOGGLES.name, GOGGLES.version, evil),
      () => restoreFixture(GOGGLES.name, GOGGLES.version),
      async () => {
        const swapped = await project({ policy: warnPolicy });
        const result = await swapped.install();
        expect(result.code).not.toBe(0);
        expect(result.output).toContain('SUBJECT_DIGEST_MISMATCH');
      },
    );
  });

  it('9. git and tarball-URL dependencies are refused before resolution unless allowed; an edited lockfile fails', async () => {
    const tarballUrl = registry.tarballUrl(UNSIGNED.name, UNSIGNED.version);
    const gitUrl = `git+http://127.0.0.1:${registry.port}/acme/tool.git#commit=0123456789abcdef0123456789abcdef01234567`;
    registry.clearRequests();
    const git = await project({ policy: policy(), dependencies: { tool: gitUrl } });
    const gitResult = await git.install();
    expect(gitResult.code).not.toBe(0);
    expect(gitResult.output).toContain('SOURCE_DENIED');
    expect(gitResult.output).toContain('sources.git');

    const tarball = await project({ policy: policy(), dependencies: { 'url-dep': tarballUrl } });
    const tarballResult = await tarball.install();
    expect(tarballResult.code).not.toBe(0);
    expect(tarballResult.output).toContain('SOURCE_DENIED');
    expect(tarballResult.output).toContain('sources.tarball');
    // Refused on the descriptor: Yarn never downloaded the tarball to resolve it.
    expect(registry.requests.filter((request) => request.kind === 'tarball' || request.url.includes('acme/tool'))).toEqual([]);

    const allowed = await project({ policy: policy({ sources: `sources:\n  tarball:\n    - { package: url-dep, url: "${tarballUrl}" }` }), dependencies: { 'url-dep': tarballUrl } });
    const allowedResult = await allowed.install();
    expect(allowedResult.code).toBe(0);
    expect(allowed.exists('node_modules/url-dep/package.json')).toBe(true);

    const edited = await project({ policy: policy({ sources: `sources:\n  tarball:\n    - { package: gundam-visor, url: "${registry.url}/**" }` }), dependencies: { [GUNDAM.name]: GUNDAM.version } });
    expect((await edited.install()).code).toBe(0);
    const lockfile = edited.read('yarn.lock')!;
    const evilUrl = `${registry.url}/evil/-/evil-1.0.0.tgz`;
    edited.write('yarn.lock', lockfile.replace(/resolution: "gundam-visor@npm:1\.0\.1"/, `resolution: "gundam-visor@${evilUrl}"`));
    rmSync(join(edited.cwd, 'node_modules'), { recursive: true, force: true });
    const editedResult = await edited.install();
    expect(editedResult.code).not.toBe(0);
    expect(editedResult.output).toContain('LOCKFILE_PROTOCOL_MISMATCH');
    expect(edited.exists('node_modules/gundam-visor')).toBe(false);
  });

  it('10. the registry token goes to the registry and never to an attestation URL on another host', async () => {
    const foreign = await startForeignHost();
    const token = 'test-token-1234';
    try {
      await withRegistryChange(
        () => {
          registry.requiredToken = token;
          registry.moveAttestationsTo(foreign, GUNDAM.name, GUNDAM.version);
        },
        () => {
          registry.requiredToken = undefined;
          registry.setAttestationsUrl(GUNDAM.name, GUNDAM.version, undefined);
        },
        async () => {
          registry.clearRequests();
          const p = await project({ policy: policy(), yarnrc: `npmAuthToken: "${token}"\nnpmAlwaysAuth: true` });
          const result = await p.install();
          expect(result.code).toBe(0);
          expect(registry.requests.length).toBeGreaterThan(0);
          expect(registry.requests.every((request) => request.authorization === `Bearer ${token}`)).toBe(true);
          expect(registry.requests.some((request) => request.kind === 'attestations' && request.name === GUNDAM.name)).toBe(true);
          expect(foreign.requests.filter((request) => request.hasAuthorization)).toEqual([]);
        },
      );
    } finally {
      await foreign.close();
    }
  });

  it('11. a tarball-URL dependency allowed by sources is verified through <url>.sigstore.json like a registry bundle', async () => {
    const name = 'url-tool';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
    const path = `/files/${name}-1.0.0.tgz`;
    const provenanceOf = async (repository: string, bytes: Buffer) =>
      (await mock.signPackage({ name, version: '1.0.0', tarball: bytes, identity: githubIdentity({ repository }), publish: false })).attestations[0].bundle;
    const sources = `sources:\n  tarball:\n    - { package: ${name}, url: "${registry.url}/files/*" }`;
    const toolRule = rule(name, 'https://github.com/acme/tool', '.github/workflows/release.yml');
    registry.setRoute(path, { body: tarball, contentType: 'application/octet-stream' });
    const cases = [
      { bundle: await provenanceOf('acme/tool', tarball), ok: true, expect: '1 non-registry allowed by sources (1 with a verified bundle)' },
      { bundle: await provenanceOf('acme/other', tarball), ok: false, expect: 'https://github.com/acme/other' },
      { bundle: await provenanceOf('acme/tool', buildPackageTarball({ name, version: '1.0.0' })), ok: false, expect: 'SUBJECT_DIGEST_MISMATCH' },
    ];
    try {
      for (const testCase of cases) {
        registry.setRoute(`${path}.sigstore.json`, { body: testCase.bundle as object });
        const p = await project({ policy: policy({ extraRules: [toolRule], sources }), dependencies: { [name]: `${registry.url}${path}` } });
        const result = await p.install();
        expect(result.code === 0, result.output).toBe(testCase.ok);
        expect(result.output).toContain(testCase.expect);
        expect(p.markerExists(name, '1.0.0')).toBe(testCase.ok);
      }
    } finally {
      registry.setRoute(path, undefined);
      registry.setRoute(`${path}.sigstore.json`, undefined);
    }
  });

  it('12. bundles come from a local bundle directory or a per-scope attestation registry when the registry has none', async () => {
    const fixture = loadFixturePackage(GOGGLES.name, GOGGLES.version);
    const foreign = await startForeignHost();
    const bundleDirectory = mkdtempSync(join(tmpdir(), 'sigstore-e2e-bundles-'));
    writeFileSync(join(bundleDirectory, `${GOGGLES.name.replace('/', '%2f')}@${GOGGLES.version}.json`), fixture.attestationsBytes);
    foreign.setRoute(`/-/npm/v1/attestations/${GOGGLES.name.replace('/', '%2f')}@${GOGGLES.version}`, { body: fixture.attestationsBytes });
    const dependencies = { [GOGGLES.name]: GOGGLES.version };
    try {
      await withRegistryChange(
        () => registry.setAttestations(GOGGLES.name, GOGGLES.version, null),
        () => restoreFixture(GOGGLES.name, GOGGLES.version),
        async () => {
          const bare = await project({ policy: policy(), dependencies });
          expect((await bare.install()).code).not.toBe(0);

          const local = await project({ policy: policy(), dependencies, yarnrc: `sigstoreBundleDirectory: "${bundleDirectory}"` });
          const localResult = await local.install();
          expect(localResult.code, localResult.output).toBe(0);
          expect(localResult.output).toContain('sigstore: 1 verified');

          const scoped = await project({ policy: policy(), dependencies, yarnrc: `sigstoreAttestationRegistries:\n  trishankatdatadog: "${foreign.url}"` });
          const scopedResult = await scoped.install();
          expect(scopedResult.code, scopedResult.output).toBe(0);
          expect(scopedResult.output).toContain('sigstore: 1 verified');
          expect(foreign.requests.some((request) => request.url.startsWith('/-/npm/v1/attestations/'))).toBe(true);
        },
      );
    } finally {
      await foreign.close();
      rmSync(bundleDirectory, { recursive: true, force: true });
    }
  });

  it('13. a cache entry swapped for other bytes (lockfile checksum edited to match) fails the binding', async () => {
    const p = await project({ policy: policy(), dependencies: { [GUNDAM.name]: GUNDAM.version, [MARKER.name]: MARKER.version } });
    expect((await p.install()).code).toBe(0);
    const cacheDir = join(p.cwd, '.yarn-global/cache');
    const files = readdirSync(cacheDir);
    const gundamZip = files.find((file) => file.startsWith('gundam-visor-npm-1.0.1-'))!;
    const markerZip = files.find((file) => file.startsWith('@acme-marker-npm-1.0.0-'))!;
    const lockfile = p.read('yarn.lock')!;
    const gundamEntry = lockfile.slice(lockfile.indexOf('"gundam-visor@npm:1.0.1"'));
    const gundamChecksum = /checksum: (\S+)/.exec(gundamEntry)![1];
    const markerEntry = lockfile.slice(lockfile.indexOf('"@acme/marker@npm:1.0.0"'));
    const markerChecksum = /checksum: (\S+)/.exec(markerEntry)![1];
    // The attacker's archive sits where Yarn will look for gundam-visor, and yarn.lock vouches for it.
    const [, markerHash] = markerChecksum.split('/');
    const [cacheKey, gundamHash] = gundamChecksum.split('/');
    const evilName = gundamZip.replace(gundamHash.slice(0, 10), markerHash.slice(0, 10));
    writeFileSync(join(cacheDir, evilName), readFileSync(join(cacheDir, markerZip)));
    p.write('yarn.lock', lockfile.replace(gundamChecksum, `${cacheKey}/${markerHash}`));
    rmSync(join(p.cwd, 'node_modules'), { recursive: true, force: true });
    const result = await p.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/CACHE_BINDING_MISSING|SUBJECT_DIGEST_MISMATCH/);
    expect(p.exists('node_modules/gundam-visor')).toBe(false);
  });

  it('14. a mode override is printed; loosening is refused unless the policy allows it; --json carries events', async () => {
    const mismatch = policy({ gundamRepository: 'https://github.com/someone-else/gundam-visor' });
    const strict = await project({ policy: mismatch });
    const refused = await strict.install({ YARN_SIGSTORE_MODE: 'warn' });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/sigstoreMode.*asks for mode warn, refused/);
    expectNothingInstalled(strict);

    const loosenable = await project({ policy: `allowLooseningOverrides: true\n${mismatch}` });
    const loosened = await loosenable.run(['install', '--json'], { YARN_SIGSTORE_MODE: 'warn' });
    expect(loosened.code).toBe(0);
    const events = loosened.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(events.some((event) => /sets mode warn \(loosening, allowed by the policy\)/.test(event.data ?? ''))).toBe(true);
    const gundam = events.find((event) => event.type === 'sigstore-package' && event.name === GUNDAM.name);
    expect(gundam).toMatchObject({ status: 'warned', verdict: { decision: 'warn' } });
    expect(events.find((event) => event.type === 'sigstore-summary')).toMatchObject({ verified: 2, warnings: 1, failures: 0 });
  });

  it('15. a patch: package is judged by its base, also when the patched archive is cached', async () => {
    const patch = ['diff --git a/index.js b/index.js', '--- a/index.js', '+++ b/index.js', '@@ -1,3 +1,3 @@', '-//index.js', '+//index.js (patched)', ' ', ' function helloNpm() {', ''].join('\n');
    const dependencies = { [GUNDAM.name]: `patch:${GUNDAM.name}@npm%3A${GUNDAM.version}#./gundam.patch` };
    const p = await project({ policy: policy(), dependencies });
    p.write('gundam.patch', patch);
    const first = await p.install();
    expect(first.code, first.output).toBe(0);
    expect(p.read('node_modules/gundam-visor/index.js')).toContain('(patched)');
    expect(first.output).toContain('sigstore: 1 verified');

    p.write('sigstore-policy.yml', policy({ gundamRepository: 'https://github.com/someone-else/gundam-visor' }));
    const second = await p.install();
    expect(second.code).not.toBe(0);
    expect(second.output).toContain('https://github.com/someone-else/gundam-visor');
  });

  it('16. optional packages with os conditions: the one for this platform is verified (Yarn leaves its checksum out) and asked for once, the other is not installed', async () => {
    const here = { name: '@acme/native-here', version: '1.0.0' };
    const elsewhere = { name: '@acme/native-elsewhere', version: '1.0.0' };
    const otherOs = process.platform === 'aix' ? 'sunos' : 'aix';
    for (const [spec, os] of [[here, process.platform], [elsewhere, otherOs]] as const) {
      const tarball = buildPackageTarball(withPostinstallMarker({ ...spec, extra: { os: [os] } }));
      registry.addVersion({ ...spec, tarball, attestations: await mock.signPackage({ ...spec, tarball, identity: githubIdentity({ repository: 'acme/marker' }) }) });
    }
    const nativeRule = rule('@acme/native-*', MARKER.repository, '.github/workflows/release.yml');
    const dependencies = { [here.name]: here.version, [elsewhere.name]: elsewhere.version };
    // Optional, as real platform packages are (esbuild's, rollup's): Yarn then leaves their checksum out of yarn.lock.
    const p = await project({ policy: policy({ extraRules: [nativeRule] }), manifest: { name: 'e2e-project', private: true, optionalDependencies: dependencies } });
    const first = await p.install();
    expect(first.code, first.output).toBe(0);
    expect(p.evidence().packages.find((entry: any) => entry.name === here.name).status).toBe('verified');
    expect(p.markerExists(here.name, here.version)).toBe(true);
    expect(p.exists('node_modules/@acme/native-elsewhere')).toBe(false);

    // Warm, nothing changed: yarn.lock has no checksum for it, the archive index's last digest stands in, and nothing is asked for it.
    expect(p.read('yarn.lock')).not.toMatch(/"@acme\/native-here@npm:1\.0\.0":\n(?:  .*\n)*  checksum:/);
    registry.clearRequests();
    const warm = await p.install();
    expect(warm.code, warm.output).toBe(0);
    expect(registry.requests.filter((request) => request.name === here.name).map((request) => request.url)).toEqual([]);

    // Warm cache, tightened policy: the conditional package is judged again.
    p.write('sigstore-policy.yml', policy({ extraRules: [rule('@acme/native-*', 'https://github.com/acme/other', '.github/workflows/release.yml')] }));
    const second = await p.install();
    expect(second.code).not.toBe(0);
    expect(second.output).toContain('@acme/native-here@1.0.0');
  });

  it('17. zero-config allows the unsigned with a hint but still fails tampering; a custom policy path and trusted root apply', async () => {
    const dependencies = { [UNSIGNED.name]: UNSIGNED.version, [GUNDAM.name]: GUNDAM.version };
    const zero = await project({ dependencies });
    const allowed = await zero.install();
    expect(allowed.code).toBe(0);
    // No policy, no rule: the summary says why the unsigned were allowed.
    expect(allowed.output).toContain('sigstore: 1 verified, 1 allowed unsigned (no policy), 0 warnings, 0 failures');
    expect(allowed.output).not.toContain('by rule');
    expect(allowed.output).toContain('yarn sigstore policy init');

    const fixture = loadFixturePackage(GUNDAM.name, GUNDAM.version);
    await withRegistryChange(
      () => registry.setAttestations(GUNDAM.name, GUNDAM.version, attestationsVariantBytes(fixture, 'invalidsigpub')),
      () => restoreFixture(GUNDAM.name, GUNDAM.version),
      async () => {
        const tampered = await project({ dependencies });
        expect((await tampered.install()).code).not.toBe(0);
      },
    );

    const custom = await project({ dependencies: { [GUNDAM.name]: GUNDAM.version }, yarnrc: 'sigstorePolicyPath: config/trust.yml' });
    mkdirSync(join(custom.cwd, 'config'));
    custom.write('config/trust.yml', policy({ gundamRepository: 'https://github.com/someone-else/gundam-visor' }));
    const denied = await custom.install();
    expect(denied.code).not.toBe(0);
    expect(denied.output).toContain('someone-else');

    const staging = await project({ policy: policy(), dependencies: { [GUNDAM.name]: GUNDAM.version }, trustedRootPath: join(FIXTURES_DIR, 'sigstore/trusted_root.staging.json') });
    const untrusted = await staging.install();
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.output).toContain('gundam-visor@1.0.1');
  });

  it('18. a committed zero-install cache on a fresh CI machine is re-derived from the registry before it counts', async () => {
    const p = await project({ policy: policy(), dependencies: { [GUNDAM.name]: GUNDAM.version }, yarnrc: 'enableGlobalCache: false' });
    expect((await p.install()).code).toBe(0);
    expect(readdirSync(join(p.cwd, '.yarn/cache')).some((file) => file.startsWith('gundam-visor-'))).toBe(true);

    // A fresh machine: its own global folder holds no binding record.
    const ci = { YARN_GLOBAL_FOLDER: join(p.cwd, '.ci-global'), YARN_ENABLE_GLOBAL_CACHE: 'false' };
    registry.clearRequests();
    const fresh = await p.run(['install', '--immutable', '--immutable-cache'], ci);
    expect(fresh.code, fresh.output).toBe(0);
    expect(fresh.output).toContain('sigstore: 1 verified');
    expect(registry.requests.some((request) => request.kind === 'tarball' && request.name === GUNDAM.name)).toBe(true);

    // The registry unreachable: the committed archive alone is not enough.
    const offline = await p.run(['install', '--immutable', '--immutable-cache'], { ...ci, YARN_GLOBAL_FOLDER: join(p.cwd, '.ci-global-2'), YARN_NPM_REGISTRY_SERVER: 'http://127.0.0.1:9', YARN_HTTP_RETRY: '0' });
    expect(offline.code).not.toBe(0);
    expect(offline.output).toMatch(/gundam-visor@npm:1\.0\.1: sigstore \[SOURCE_FETCH_FAILED\].*http:\/\/127\.0\.0\.1:9\//);
  });

  it('19. project-local file: packages pass and run their scripts; a portal: outside the project needs sources.local; a broken policy stops the install', async () => {
    const p = await project({ policy: policy(), dependencies: { local: 'file:./packages/local' } });
    mkdirSync(join(p.cwd, 'packages/local'), { recursive: true });
    p.write('packages/local/package.json', JSON.stringify({ name: 'local', version: '1.0.0', scripts: { postinstall: 'node -e "require(\'fs\').mkdirSync(process.env.SIGSTORE_TEST_MARKER_DIR,{recursive:true});require(\'fs\').writeFileSync(require(\'path\').join(process.env.SIGSTORE_TEST_MARKER_DIR,\'local@1.0.0\'),\'ran\')"' } }));
    const local = await p.install();
    expect(local.code, local.output).toBe(0);
    expect(p.markerExists('local', '1.0.0')).toBe(true);

    const outside = mkdtempSync(join(tmpdir(), 'sigstore-e2e-outside-'));
    writeFileSync(join(outside, 'package.json'), JSON.stringify({ name: 'outside', version: '1.0.0' }));
    try {
      const denied = await project({ policy: policy(), dependencies: { outside: `portal:${outside}` } });
      const deniedResult = await denied.install();
      expect(deniedResult.code).not.toBe(0);
      expect(deniedResult.output).toContain('sources.local');
      const allowed = await project({ policy: policy({ sources: 'sources:\n  local: ["outside"]' }), dependencies: { outside: `portal:${outside}` } });
      expect((await allowed.install()).code).toBe(0);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }

    const broken = await project({ policy: 'version: 1\nrules:\n  - packages: ["x"]\n    require: sometimes\n' });
    const brokenResult = await broken.install();
    expect(brokenResult.code).not.toBe(0);
    expect(brokenResult.output).toContain('POLICY_INVALID');
    expect(brokenResult.output).toContain('rules[0].require');
    expectNothingInstalled(broken);
  });

  it('20. a semver range answered by a workspace (transparent workspaces) is not a lockfile protocol mismatch', async () => {
    const p = await project({ policy: policy(), dependencies: { lib: '^1.0.0', [GUNDAM.name]: GUNDAM.version } });
    const manifest = JSON.parse(p.read('package.json')!);
    p.write('package.json', JSON.stringify({ ...manifest, workspaces: ['packages/*'] }));
    mkdirSync(join(p.cwd, 'packages/lib'), { recursive: true });
    p.write('packages/lib/package.json', JSON.stringify({ name: 'lib', version: '1.0.0' }));
    const result = await p.install();
    expect(result.code, result.output).toBe(0);
    expect(p.read('yarn.lock')).toContain('lib@workspace:packages/lib');
    expect(result.output).toContain('sigstore: 1 verified');
  });

  it('21. a JavaScript policy applies through the built plugin (its loader is imported on first use): CommonJS denies, ESM allows', async () => {
    const identity = (repository: string) => ({ issuer: ISSUER, repository, workflow: '.github/workflows/npm-publish.yml' });
    const jsPolicy = (repository: string) => JSON.stringify({ version: 1, mode: 'enforce', default: { require: 'provenance' }, rules: [{ packages: [GUNDAM.name], require: 'provenance', identity: identity(repository) }] });
    const dependencies = { [GUNDAM.name]: GUNDAM.version };

    const commonJs = await project({ dependencies });
    commonJs.write('.sigstorerc.cjs', `module.exports = ${jsPolicy('https://github.com/someone-else/gundam-visor')};\n`);
    const denied = await commonJs.install();
    expect(denied.code).not.toBe(0);
    expect(denied.output).toContain('.sigstorerc.cjs');
    expect(denied.output).toContain('https://github.com/someone-else/gundam-visor');
    expect(commonJs.exists('node_modules/gundam-visor')).toBe(false);

    const esm = await project({ dependencies });
    esm.write('sigstore.config.mjs', `export default ${jsPolicy(GUNDAM.repository)};\n`);
    const allowed = await esm.install();
    expect(allowed.code, allowed.output).toBe(0);
    expect(allowed.output).toContain('sigstore: 1 verified');
    expect(esm.exists('node_modules/gundam-visor/package.json')).toBe(true);
  });
});
