/**
 * TUF in the install gate, end to end: the real pinned Yarn and the built
 * plugin, with no pinned trusted root, refresh the root from a real TUF
 * repository served on 127.0.0.1 (a private mirror: its own TUF root.json).
 * A package signed by a mock Sigstore verifies only if the root Yarn used is
 * the refreshed one that lists the mock CA and logs.
 */
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NPM_KEYS_TARGET, TRUSTED_ROOT_TARGET } from '../../src/trust/tuf';
import { tufCacheFor } from '../../src/trust/tuf-cache';
import { productionNpmKeys, productionTrustedRoot } from '../../testkit/fixtures';
import { startProxy } from '../../testkit/proxy';
import { createTestCa, startTlsFront } from '../../testkit/tls';
import { githubIdentity } from '../../testkit/signer';
import { buildPackageTarball } from '../../testkit/tarball';
import type { YarnProject } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';
import { serveRepository, TufTestRepository, type ServedRepository } from '../../testkit/tuf-repository';

const PACKAGE = { name: '@acme/tuf-signed', version: '1.0.0' };

/** No pinned trust: every project must take its root from the TUF mirror it is given. */
let kit: E2eKit;
const servers: ServedRepository[] = [];

/** A TUF repository serving this trusted root and npm keys, online on 127.0.0.1. */
async function tufMirror(material: { trustedRoot: unknown; npmKeys: unknown }, timestampExpiresInDays = 1) {
  const repository = new TufTestRepository().setTarget(TRUSTED_ROOT_TARGET, JSON.stringify(material.trustedRoot)).setTarget(NPM_KEYS_TARGET, JSON.stringify(material.npmKeys));
  repository.publish({ timestampExpiresInDays });
  const served = await serveRepository(repository);
  servers.push(served);
  const rootPath = join(kit.trustDir, `tuf-root-${servers.length}.json`);
  writeFileSync(rootPath, repository.rootJson);
  return { served, rootPath };
}

function projectTrusting(mirror: { served: ServedRepository; rootPath: string }): Promise<YarnProject> {
  return kit.project({
    dependencies: { [PACKAGE.name]: PACKAGE.version },
    yarnrc: [`sigstoreTufMirrorUrl: "${mirror.served.url}"`, `sigstoreTufRootPath: "${mirror.rootPath}"`].join('\n'),
  });
}

beforeAll(async () => {
  kit = await startE2eKit({ pinTrust: false, tempPrefix: 'sigstore-e2e-tuf-' });
  const tarball = buildPackageTarball({ name: PACKAGE.name, version: PACKAGE.version });
  kit.registry.addVersion({
    ...PACKAGE,
    tarball,
    attestations: await kit.mock.signPackage({ ...PACKAGE, tarball, identity: githubIdentity({ repository: 'acme/tuf-signed' }) }),
  });
});

afterAll(async () => {
  for (const served of servers) await served.close();
  await kit?.close();
});

describe('yarn install with the trusted root from a TUF repository', () => {
  it('verifies against the refreshed root, reports it, and reuses the cache without a request on the next install', async () => {
    const mirror = await tufMirror(kit.mergedMaterial);
    const project = await projectTrusting(mirror);

    const first = await project.install();
    expect(first.output).toContain(`trusted root refreshed from TUF ${mirror.served.url}`);
    expect(first.output).toContain('sigstore: 1 verified, 0 allowed unsigned (no policy), 0 warnings, 0 failures');
    expect(first.code).toBe(0);
    expect(mirror.served.requests).toContain('timestamp.json');
    expect(project.evidence().trust).toMatchObject({ source: 'tuf', ageDays: 0, origin: `tuf:${mirror.served.url}` });

    // The timestamp has not expired: the next install verifies from the TUF cache, asking nothing.
    const requestsBefore = mirror.served.requests.length;
    rmSync(join(project.cwd, 'node_modules'), { recursive: true, force: true });
    const second = await project.install();
    expect(second.code).toBe(0);
    expect(second.output).toContain(`trusted root from the TUF cache of ${mirror.served.url}`);
    expect(mirror.served.requests.length).toBe(requestsBefore);
    expect(project.evidence().trust.source).toBe('tuf-cache');
  });

  it("refreshes through Yarn's own network settings: an https mirror certified by a test CA (httpsCaFilePath), reached through httpsProxy", async () => {
    const mirror = await tufMirror(kit.mergedMaterial);
    const ca = createTestCa(kit.trustDir);
    const front = await startTlsFront(mirror.served.url, ca);
    const proxy = await startProxy();
    try {
      const project = await kit.project({
        dependencies: { [PACKAGE.name]: PACKAGE.version },
        yarnrc: [`sigstoreTufMirrorUrl: "${front.url}"`, `sigstoreTufRootPath: "${mirror.rootPath}"`, `httpsProxy: "${proxy.url}"`, `httpsCaFilePath: "${ca.certPath}"`].join('\n'),
      });
      const result = await project.install();
      expect(result.output).toContain(`trusted root refreshed from TUF ${front.url}`);
      expect(result.code).toBe(0);
      expect(mirror.served.requests).toContain('timestamp.json');
      // Only the mirror is https here: the CONNECT tunnels are the TUF requests'.
      expect(new Set(proxy.seen.map((sighting) => `${sighting.method} ${sighting.target}`))).toEqual(new Set([`CONNECT 127.0.0.1:${front.port}`]));
    } finally {
      await front.close();
      await proxy.close();
    }
  });

  it('fails the mock-signed package when the TUF root does not list the mock Sigstore (the served root is the one used)', async () => {
    const mirror = await tufMirror({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys() });
    const project = await projectTrusting(mirror);
    const result = await project.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`trusted root refreshed from TUF ${mirror.served.url}`);
    expect(result.output).toContain(`${PACKAGE.name}@${PACKAGE.version}`);
    expect(project.exists(`node_modules/${PACKAGE.name}`)).toBe(false);
  });

  it('fails the install with TUF_EXPIRED when the repository serves an expired timestamp; nothing installed', async () => {
    const mirror = await tufMirror(kit.mergedMaterial, -1);
    const project = await projectTrusting(mirror);
    const result = await project.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('sigstore [TUF_EXPIRED]');
    expect(result.output).toContain(mirror.served.url);
    expect(project.exists(`node_modules/${PACKAGE.name}`)).toBe(false);
    expect(project.exists('yarn.lock')).toBe(false);
  });

  it('a TUF cache planted in the global folder (another root listing the mock Sigstore) is not taken: the mirror\'s own root is, and the package fails', async () => {
    const genuine = await tufMirror({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys() });
    const attacker = await tufMirror(kit.mergedMaterial, 30);
    // The attacker's cache, as an install trusting the attacker's mirror writes it (its vouch under this machine's key left out: the attacker has none).
    const donor = await projectTrusting(attacker);
    expect((await donor.install()).code).toBe(0);
    const project = await projectTrusting(genuine);
    const planted = tufCacheFor(join(project.cwd, '.yarn-global'), genuine.served.url).metadataDir;
    cpSync(tufCacheFor(join(donor.cwd, '.yarn-global'), attacker.served.url).metadataDir, planted, { recursive: true });
    rmSync(join(planted, 'vouched.json'));

    const result = await project.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`trusted root refreshed from TUF ${genuine.served.url}`);
    expect(result.output).toContain(`the TUF cache of ${genuine.served.url} held material that this user's record key does not vouch for`);
    expect(result.output).toContain(`${PACKAGE.name}@${PACKAGE.version}`);
    expect(genuine.served.requests).toContain('timestamp.json');
    expect(project.exists(`node_modules/${PACKAGE.name}`)).toBe(false);
  });

  it('in offline mode never asks the mirror and fails a private instance with no cached root as TUF_UNREACHABLE', async () => {
    const mirror = await tufMirror(kit.mergedMaterial);
    const project = await projectTrusting(mirror);
    const result = await project.install({ YARN_SIGSTORE_TRUST_MODE: 'offline' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('sigstore [TUF_UNREACHABLE]');
    expect(mirror.served.requests).toEqual([]);
  });
});

describe('yarn install with the trust files chosen by YARN_* variables', () => {
  const ENVIRONMENT_WARNING = 'was set by the environment';

  it('verifies with the environment repeating the committed trusted root and keys, warns about each variable in install and verify, and records them in the evidence', async () => {
    const project = await kit.project({ dependencies: { [PACKAGE.name]: PACKAGE.version }, trustedRootPath: kit.trustedRootPath, npmKeysPath: kit.npmKeysPath });
    const env = { YARN_SIGSTORE_TRUSTED_ROOT_PATH: kit.trustedRootPath, YARN_SIGSTORE_NPM_KEYS_PATH: kit.npmKeysPath };

    const result = await project.install(env);
    expect(result.code).toBe(0);
    expect(result.output).toContain('sigstore: 1 verified, 0 allowed unsigned (no policy), 0 warnings, 0 failures');
    expect(result.output).toContain(`sigstore: the trusted root was set by the environment (YARN_SIGSTORE_TRUSTED_ROOT_PATH=${kit.trustedRootPath}): check that this CI variable is intended`);
    expect(result.output).toContain(`sigstore: the npm registry keys file was set by the environment (YARN_SIGSTORE_NPM_KEYS_PATH=${kit.npmKeysPath})`);
    expect(project.evidence().trust.fromEnvironment).toEqual(['YARN_SIGSTORE_TRUSTED_ROOT_PATH', 'YARN_SIGSTORE_NPM_KEYS_PATH']);

    const verify = await project.run(['sigstore', 'verify'], env);
    expect(verify.code).toBe(0);
    expect(verify.output).toContain(`the trusted root was set by the environment (YARN_SIGSTORE_TRUSTED_ROOT_PATH=${kit.trustedRootPath})`);
  });

  it('refuses an unknown sigstoreTrustMode or sigstoreMode with a coded error naming the setting; nothing installed', async () => {
    const project = await kit.project({ dependencies: { [PACKAGE.name]: PACKAGE.version }, trustedRootPath: kit.trustedRootPath, npmKeysPath: kit.npmKeysPath });
    const badTrustMode = await project.install({ YARN_SIGSTORE_TRUST_MODE: 'bogus' });
    expect(badTrustMode.code).not.toBe(0);
    expect(badTrustMode.output).toContain('sigstore [TRUST_CONFIG_INVALID] sigstoreTrustMode must be "auto" or "offline", not "bogus"');
    const badMode = await project.install({ YARN_SIGSTORE_MODE: 'strict' });
    expect(badMode.code).not.toBe(0);
    expect(badMode.output).toContain('sigstore [POLICY_INVALID] sigstoreMode is "strict"; expected one of enforce, warn, off');
    expect(project.exists(`node_modules/${PACKAGE.name}`)).toBe(false);
  });

  it('does not warn when the same trust files are set in .yarnrc.yml', async () => {
    const project = await kit.project({ dependencies: { [PACKAGE.name]: PACKAGE.version }, trustedRootPath: kit.trustedRootPath, npmKeysPath: kit.npmKeysPath });
    const result = await project.install();
    expect(result.code).toBe(0);
    expect(result.output).toContain('sigstore: 1 verified, 0 allowed unsigned (no policy), 0 warnings, 0 failures');
    expect(result.output).not.toContain(ENVIRONMENT_WARNING);
    expect(project.evidence().trust.fromEnvironment).toEqual([]);
  });

  it('prints a TUF mirror URL from the environment (the committed one, with credentials added) without its credentials', async () => {
    const mirror = await tufMirror(kit.mergedMaterial);
    const project = await kit.project({ dependencies: { [PACKAGE.name]: PACKAGE.version }, yarnrc: `sigstoreTufRootPath: "${mirror.rootPath}"\nsigstoreTufMirrorUrl: "${mirror.served.url}"` });
    const withCredentials = mirror.served.url.replace('http://', 'http://ci-user:s3cret-token@');
    const result = await project.install({ YARN_SIGSTORE_TUF_MIRROR_URL: withCredentials });
    const warning = result.output.split('\n').find((line) => line.includes('the TUF mirror was set by the environment'));
    expect(warning).toContain(`(YARN_SIGSTORE_TUF_MIRROR_URL=${mirror.served.url})`);
    // Only this warning's line: the trust summary still names the mirror as configured (see the report).
    expect(warning).not.toContain('s3cret-token');
    expect(project.evidence().trust.fromEnvironment).toEqual(['YARN_SIGSTORE_TUF_MIRROR_URL']);
  });
});
