import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import {
  DEFAULT_TUF_MIRROR_URL,
  NPM_KEYS_TARGET,
  TRUSTED_ROOT_TARGET,
  resolveTrustMaterial,
  UNREACHABLE_RETRY_MS,
  type ResolveTrustOptions,
} from '../../src/trust/tuf';
import { takeRecordKeyVariable } from '../../src/install/record-key';
import { recordRepositoryUnreachable, tufCacheFor } from '../../src/trust/tuf-cache';
import { temporaryRecordKey } from '../../testkit/pipeline';
import type { Fetcher } from '../../src/trust/tuf-fetch';
import { serveRepository, TufTestRepository, type ServedRepository } from '../../testkit/tuf-repository';

const DAY_MS = 24 * 60 * 60 * 1000;
const fixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/sigstore', name), 'utf8');
const productionRoot = JSON.parse(fixture('trusted_root.production.json')) as { tlogs: unknown[] };
const npmKeys = JSON.parse(fixture('npm_registry_keys.json')) as { keys: unknown[] };

/** The same documents after a rotation: a new transparency log key and a new npm signing key. */
const rotatedRoot = { ...productionRoot, tlogs: [...productionRoot.tlogs, { baseUrl: 'https://rekor.rotated.example', hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: 'cm90YXRlZA==', keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2026-11-01T00:00:00Z' } }, logId: { keyId: 'cm90YXRlZA==' } }] };
const rotatedNpmKeys = { keys: [...npmKeys.keys, { keyId: 'SHA256:rotated', keyUsage: 'npm:signatures', publicKey: { rawBytes: 'cm90YXRlZA==', keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2026-11-01T00:00:00.000Z' } } }] };

async function rejection(promise: Promise<unknown>): Promise<SigstorePluginError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SigstorePluginError);
  return error as SigstorePluginError;
}

/** A fetcher standing for a network that drops every connection: nothing leaves the process. */
const refusingFetcher: Fetcher = {
  downloadBytes: async () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  },
  downloadFile: async () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  },
};

/** A refusing fetcher that counts the requests it was given. */
function countingRefusal(): Fetcher & { calls: number } {
  const refuse = async (): Promise<never> => {
    fetcher.calls++;
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  };
  const fetcher = { calls: 0, downloadBytes: refuse, downloadFile: refuse };
  return fetcher;
}

describe('resolveTrustMaterial against a TUF repository on 127.0.0.1', () => {
  // The "unreachable" record is MAC'd under the user's record key: a temporary one.
  temporaryRecordKey({ beforeAll, afterAll }, 'tuf-record-key-');
  let cacheDir: string;
  let repository: TufTestRepository;
  let served: ServedRepository;
  let rootPath: string;

  const options = (extra: Partial<ResolveTrustOptions> = {}): ResolveTrustOptions => ({
    cacheDir,
    mode: 'auto',
    tufMirrorUrl: served.url,
    tufRootPath: rootPath,
    ci: false,
    retries: 0,
    ...extra,
  });

  beforeEach(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'tuf-cache-'));
    repository = new TufTestRepository()
      .setTarget(TRUSTED_ROOT_TARGET, JSON.stringify(productionRoot))
      .setTarget(NPM_KEYS_TARGET, JSON.stringify(npmKeys));
    repository.publish();
    served = await serveRepository(repository);
    rootPath = join(cacheDir, 'seed-root.json');
    writeFileSync(rootPath, repository.rootJson);
  });

  afterEach(async () => {
    vi.useRealTimers();
    await served.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('downloads and verifies both targets on first use', async () => {
    const resolved = await resolveTrustMaterial(options());
    expect(resolved.source).toBe('tuf');
    expect(resolved.ageDays).toBe(0);
    expect(resolved.material.trustedRoot).toEqual(productionRoot);
    expect(resolved.material.npmKeys).toEqual(npmKeys);
    expect(resolved.material.origin).toBe(`tuf:${served.url}`);
    expect(resolved.warnings).toEqual([]);
    expect(served.requests).toContain('timestamp.json');
  });

  it('makes no request while the cached timestamp is valid', async () => {
    await resolveTrustMaterial(options());
    const requestsAfterFirst = served.requests.length;
    const resolved = await resolveTrustMaterial(options());
    expect(served.requests.length).toBe(requestsAfterFirst);
    expect(resolved.source).toBe('tuf-cache');
    expect(resolved.material.trustedRoot).toEqual(productionRoot);
  });

  it('picks up a rotated trusted root and npm key once the cached timestamp expires', async () => {
    await resolveTrustMaterial(options());
    repository.setTarget(TRUSTED_ROOT_TARGET, JSON.stringify(rotatedRoot)).setTarget(NPM_KEYS_TARGET, JSON.stringify(rotatedNpmKeys));
    repository.publish({ timestampExpiresInDays: 10 });

    const beforeExpiry = await resolveTrustMaterial(options());
    expect(beforeExpiry.material.trustedRoot).toEqual(productionRoot);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * DAY_MS); // the first timestamp (1 day) has expired
    const afterExpiry = await resolveTrustMaterial(options());
    expect(afterExpiry.source).toBe('tuf');
    expect(afterExpiry.material.trustedRoot).toEqual(rotatedRoot);
    expect(afterExpiry.material.npmKeys).toEqual(rotatedNpmKeys);
  });

  it('picks up a rotation at once when asked to refresh', async () => {
    await resolveTrustMaterial(options());
    repository.setTarget(NPM_KEYS_TARGET, JSON.stringify(rotatedNpmKeys));
    repository.publish();
    const resolved = await resolveTrustMaterial(options({ forceRefresh: true }));
    expect(resolved.material.npmKeys).toEqual(rotatedNpmKeys);
  });

  it('follows a rotation of the TUF signing keys to a new root version', async () => {
    await resolveTrustMaterial(options());
    repository.rotateKeys();
    repository.setTarget(TRUSTED_ROOT_TARGET, JSON.stringify(rotatedRoot));
    repository.publish();
    const resolved = await resolveTrustMaterial(options({ forceRefresh: true }));
    expect(served.requests).toContain('2.root.json');
    expect(resolved.material.trustedRoot).toEqual(rotatedRoot);
  });

  it('drops a cached TUF root changed since this user vouched for it (here corrupt) and starts again from the seed root', async () => {
    await resolveTrustMaterial(options());
    writeFileSync(join(tufCacheFor(cacheDir, served.url).metadataDir, 'root.json'), '{ corrupt');
    const resolved = await resolveTrustMaterial(options());
    expect(resolved.source).toBe('tuf');
    expect(resolved.material.trustedRoot).toEqual(productionRoot);
  });

  it('fails with a coded error when the seed TUF root is corrupt', async () => {
    writeFileSync(rootPath, '{ corrupt');
    const error = await rejection(resolveTrustMaterial(options()));
    expect(error.code).toBe(ErrorCodes.TRUST_CONFIG_INVALID);
  });

  it('fails on an expired timestamp (freeze attack) instead of falling back', async () => {
    repository.publish({ timestampExpiresInDays: -1 });
    const error = await rejection(resolveTrustMaterial(options()));
    expect(error.code).toBe(ErrorCodes.TUF_EXPIRED);
    expect(error.message).toContain(served.url);
  });

  it('fails on an expired timestamp met during a refresh of a valid cache', async () => {
    await resolveTrustMaterial(options());
    repository.publish({ timestampExpiresInDays: -1 });
    const error = await rejection(resolveTrustMaterial(options({ forceRefresh: true })));
    expect(error.code).toBe(ErrorCodes.TUF_EXPIRED);
  });

  it('fails when the repository rolls back to older metadata', async () => {
    const older = repository.snapshotFiles();
    repository.publish();
    await resolveTrustMaterial(options()); // caches version 2
    repository.files = older; // serves version 1 again
    const error = await rejection(resolveTrustMaterial(options({ forceRefresh: true })));
    expect(error.code).toBe(ErrorCodes.TUF_ROLLBACK);
    expect(error.message).toMatch(/rollback/);
  });

  it('fails when a target does not match the signed metadata', async () => {
    const tampered = JSON.stringify({ ...productionRoot, tlogs: [] });
    for (const [path, bytes] of repository.files) {
      if (path.startsWith('targets/') && path.endsWith(TRUSTED_ROOT_TARGET)) repository.files.set(path, Buffer.from(tampered.padEnd(bytes.length).slice(0, bytes.length)));
    }
    const error = await rejection(resolveTrustMaterial(options()));
    expect(error.code).toBe(ErrorCodes.TUF_METADATA_INVALID);
  });

  it('fails when the metadata is signed by a key the root does not trust', async () => {
    const impostor = new TufTestRepository().setTarget(TRUSTED_ROOT_TARGET, JSON.stringify(rotatedRoot));
    impostor.publish();
    repository.files = impostor.files;
    const error = await rejection(resolveTrustMaterial(options()));
    expect(error.code).toBe(ErrorCodes.TUF_METADATA_INVALID);
  });

  it('offline mode uses the cache and sends no request', async () => {
    await resolveTrustMaterial(options());
    const requestsAfterFirst = served.requests.length;
    const resolved = await resolveTrustMaterial(options({ mode: 'offline' }));
    expect(served.requests.length).toBe(requestsAfterFirst);
    expect(resolved.source).toBe('tuf-cache');
    expect(resolved.ageDays).toBe(0);
    expect(resolved.summary).toContain(served.url);
  });

  it('offline mode keeps using an expired cache, says how old it is, and enforces the maximum age', async () => {
    await resolveTrustMaterial(options());
    const requestsAfterFirst = served.requests.length;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 5 * DAY_MS);

    const local = await resolveTrustMaterial(options({ mode: 'offline', maxAgeDays: 3 }));
    expect(served.requests.length).toBe(requestsAfterFirst);
    expect(local.source).toBe('tuf-cache');
    expect(local.ageDays).toBe(5);
    expect(local.material.trustedRoot).toEqual(productionRoot);
    expect(local.warnings.join('\n')).toMatch(/offline mode: using the cached trusted root, last confirmed 5 days ago/);
    expect(local.warnings.join('\n')).toMatch(/5 days old, more than the maximum of 3 days/);

    const error = await rejection(resolveTrustMaterial(options({ mode: 'offline', maxAgeDays: 3, ci: true })));
    expect(error.code).toBe(ErrorCodes.TRUSTED_ROOT_TOO_OLD);
    expect(served.requests.length).toBe(requestsAfterFirst);
  });

  it('falls back to the cache with a warning naming its age when the mirror is unreachable', async () => {
    await resolveTrustMaterial(options());
    await served.close();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const resolved = await resolveTrustMaterial(options());
    expect(resolved.source).toBe('tuf-cache');
    expect(resolved.material.trustedRoot).toEqual(productionRoot);
    expect(resolved.warnings[0]).toMatch(new RegExp(`TUF repository ${served.url} unreachable .*: using the cached trusted root, last confirmed 2 days ago`));
  });

  it('does not ask an unreachable repository again for an hour: every install would wait for its deadline', async () => {
    await resolveTrustMaterial(options());
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now() + 2 * DAY_MS;
    vi.setSystemTime(start);
    const network = countingRefusal();
    const first = await resolveTrustMaterial(options({ fetcher: network }));
    expect(network.calls).toBeGreaterThan(0);
    expect(first.warnings[0]).toMatch(new RegExp(`TUF repository ${served.url} unreachable \\(connect ECONNREFUSED\\): using the cached trusted root`));
    const asked = network.calls;

    vi.setSystemTime(start + 10 * 60 * 1000);
    const within = await resolveTrustMaterial(options({ fetcher: network }));
    expect(network.calls).toBe(asked);
    expect(within.source).toBe('tuf-cache');
    expect(within.material.trustedRoot).toEqual(productionRoot);
    const at = new Date(start).toISOString().slice(0, 16).replace('T', ' ');
    const retry = new Date(start + UNREACHABLE_RETRY_MS).toISOString().slice(0, 16).replace('T', ' ');
    expect(within.warnings[0]).toBe(`TUF repository ${served.url} unreachable at ${at} UTC (connect ECONNREFUSED), not asked again before ${retry} UTC: using the cached trusted root, last confirmed 2 days ago`);

    vi.setSystemTime(start + UNREACHABLE_RETRY_MS + 60 * 1000);
    await resolveTrustMaterial(options({ fetcher: network }));
    expect(network.calls).toBeGreaterThan(asked);
  });

  it('asks again within the hour when the cache is too old for CI: a network back since must let the job pass', async () => {
    await resolveTrustMaterial(options());
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const network = countingRefusal();
    await resolveTrustMaterial(options({ fetcher: network }));
    const asked = network.calls;
    vi.setSystemTime(Date.now() + 10 * 60 * 1000);
    const tooOld = await rejection(resolveTrustMaterial(options({ fetcher: network, ci: true, maxAgeDays: 1 })));
    expect(tooOld.code).toBe(ErrorCodes.TRUSTED_ROOT_TOO_OLD);
    expect(tooOld.message).toContain('let the TUF refresh through (the repository could not be reached), pin a current trusted_root.json (sigstoreTrustedRootPath), or raise sigstoreTrustMaxAgeDays');
    // Asked, not failed from the record: had the network come back, this job would have refreshed.
    expect(network.calls).toBeGreaterThan(asked);
  });

  it('asks again at once when the "unreachable" record is not this user\'s, or nothing is cached to fall back on', async () => {
    await resolveTrustMaterial(options());
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const cache = tufCacheFor(cacheDir, served.url);
    await recordRepositoryUnreachable(cache, new Date(), 'planted');
    // Rewritten as a restored cache would hold it: the MAC no longer matches.
    const file = join(cache.metadataDir, 'unreachable.json');
    const record = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
    writeFileSync(file, JSON.stringify({ mac: record.mac, body: record.body.replace('planted', 'planted!') }));
    const network = countingRefusal();
    await resolveTrustMaterial(options({ fetcher: network }));
    expect(network.calls).toBeGreaterThan(0);

    // A private mirror with nothing cached: found unreachable, then asked again by the very next install.
    const empty = mkdtempSync(join(tmpdir(), 'tuf-cache-'));
    const fresh = countingRefusal();
    expect((await rejection(resolveTrustMaterial(options({ cacheDir: empty, fetcher: fresh })))).code).toBe(ErrorCodes.TUF_UNREACHABLE);
    const asked = fresh.calls;
    expect(asked).toBeGreaterThan(0);
    expect((await rejection(resolveTrustMaterial(options({ cacheDir: empty, fetcher: fresh })))).code).toBe(ErrorCodes.TUF_UNREACHABLE);
    expect(fresh.calls).toBeGreaterThan(asked);
  });

  it('fails when a private mirror is unreachable and nothing from it is cached', async () => {
    await served.close();
    const error = await rejection(resolveTrustMaterial(options()));
    expect(error.code).toBe(ErrorCodes.TUF_UNREACHABLE);
    expect(error.message).toContain(served.url);
  });

  it('names a mirror URL without its credentials in the summary, the origin, warnings and errors', async () => {
    const withCredentials = served.url.replace('://', '://mirror-user:s3cret@');
    const resolved = await resolveTrustMaterial(options({ tufMirrorUrl: withCredentials }));
    const printed = JSON.stringify([resolved.summary, resolved.material.origin, resolved.warnings]);
    expect(printed).toContain(served.url.replace(/^https?:\/\//, ''));
    expect(printed).not.toMatch(/s3cret|mirror-user/);
    await served.close();
    const error = await rejection(resolveTrustMaterial(options({ tufMirrorUrl: withCredentials, cacheDir: mkdtempSync(join(tmpdir(), 'tuf-cache-')) })));
    expect(error.code).toBe(ErrorCodes.TUF_UNREACHABLE);
    expect(error.message).toContain(served.url.replace(/^https?:\/\//, ''));
    expect(error.message).not.toMatch(/s3cret|mirror-user/);
  });

  it('keeps a mirror URL\'s credentials out of the "unreachable" record and the warnings that quote it', async () => {
    const withCredentials = served.url.replace('://', '://mirror-user:s3cret@');
    await resolveTrustMaterial(options({ tufMirrorUrl: withCredentials }));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const naming: Fetcher = {
      downloadBytes: async (url) => {
        throw Object.assign(new Error(`request to ${url} failed: connect ECONNREFUSED`), { code: 'ECONNREFUSED' });
      },
      downloadFile: async (url) => {
        throw Object.assign(new Error(`request to ${url} failed: connect ECONNREFUSED`), { code: 'ECONNREFUSED' });
      },
    };
    await resolveTrustMaterial(options({ tufMirrorUrl: withCredentials, fetcher: naming }));
    const stored = readFileSync(join(tufCacheFor(cacheDir, served.url).metadataDir, 'unreachable.json'), 'utf8');
    expect(stored).toContain('ECONNREFUSED');
    expect(stored).not.toMatch(/s3cret|mirror-user/);
    vi.setSystemTime(Date.now() + 10 * 60 * 1000);
    const quoted = await resolveTrustMaterial(options({ tufMirrorUrl: withCredentials, fetcher: naming }));
    expect(quoted.warnings[0]).toMatch(/not asked again before/);
    expect(quoted.warnings.join('\n')).not.toMatch(/s3cret|mirror-user/);
  });

  /**
   * The TUF cache of another repository (the attacker's keys and trusted root), planted where this mirror's cache lives, as a
   * poisoned global folder would hold it: without the attacker's own vouch (made under another key), with this user's earlier
   * vouch for the genuine cache replayed if there was one.
   */
  async function plantForeignCache(): Promise<void> {
    const attacker = new TufTestRepository().setTarget(TRUSTED_ROOT_TARGET, JSON.stringify(rotatedRoot)).setTarget(NPM_KEYS_TARGET, JSON.stringify(rotatedNpmKeys));
    attacker.publish({ timestampExpiresInDays: 30 });
    const attackerServed = await serveRepository(attacker);
    const attackerCacheDir = mkdtempSync(join(tmpdir(), 'tuf-attacker-'));
    try {
      const attackerRootPath = join(attackerCacheDir, 'seed-root.json');
      writeFileSync(attackerRootPath, attacker.rootJson);
      await resolveTrustMaterial(options({ cacheDir: attackerCacheDir, tufMirrorUrl: attackerServed.url, tufRootPath: attackerRootPath }));
      const target = tufCacheFor(cacheDir, served.url).metadataDir;
      const vouch = join(target, 'vouched.json');
      const genuineVouch = existsSync(vouch) ? readFileSync(vouch) : undefined;
      rmSync(target, { recursive: true, force: true });
      cpSync(tufCacheFor(attackerCacheDir, attackerServed.url).metadataDir, target, { recursive: true });
      rmSync(vouch);
      if (genuineVouch) writeFileSync(vouch, genuineVouch);
    } finally {
      await attackerServed.close();
      rmSync(attackerCacheDir, { recursive: true, force: true });
    }
  }

  it('never takes a TUF cache this user did not write: a planted one (another root, valid for 30 days) is replaced by the repository\'s material', async () => {
    await resolveTrustMaterial(options());
    await plantForeignCache();
    const resolved = await resolveTrustMaterial(options());
    expect(resolved.material.trustedRoot).toEqual(productionRoot);
    expect(resolved.material.npmKeys).toEqual(npmKeys);
    expect(resolved.source).toBe('tuf');
    expect(resolved.warnings).toEqual([`the TUF cache of ${served.url} held material that this user's record key does not vouch for (restored from another machine's cache, planted, or written by an older version of the plugin): not used, and removed`]);
    expect(served.requests).toContain('timestamp.json');
    // The repository's material is this user's now: the next install takes it from the cache.
    const requests = served.requests.length;
    expect((await resolveTrustMaterial(options())).source).toBe('tuf-cache');
    expect(served.requests.length).toBe(requests);
  });

  it('offline, or with the repository unreachable, a planted TUF cache is not taken either: as if nothing were cached', async () => {
    await plantForeignCache();
    expect((await rejection(resolveTrustMaterial(options({ mode: 'offline' })))).code).toBe(ErrorCodes.TUF_UNREACHABLE);
    await plantForeignCache();
    await served.close();
    expect((await rejection(resolveTrustMaterial(options()))).code).toBe(ErrorCodes.TUF_UNREACHABLE);
  });

  it('offline, a cached target changed since it was vouched for is not taken (the repository cannot be asked to replace it)', async () => {
    await resolveTrustMaterial(options());
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * DAY_MS);
    const cache = tufCacheFor(cacheDir, served.url);
    writeFileSync(join(cache.targetDir, encodeURIComponent(TRUSTED_ROOT_TARGET)), JSON.stringify(rotatedRoot));
    expect((await rejection(resolveTrustMaterial(options({ mode: 'offline' })))).code).toBe(ErrorCodes.TUF_UNREACHABLE);
  });

  it('the age CI bounds is the vouched one: a vouch edited to say "checked just now" is not this user\'s, and the cache goes', async () => {
    await resolveTrustMaterial(options());
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 5 * DAY_MS);
    expect((await rejection(resolveTrustMaterial(options({ mode: 'offline', ci: true, maxAgeDays: 3 })))).code).toBe(ErrorCodes.TRUSTED_ROOT_TOO_OLD);
    const file = join(tufCacheFor(cacheDir, served.url).metadataDir, 'vouched.json');
    const record = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
    const body = JSON.parse(record.body) as { checkedAt: string };
    writeFileSync(file, JSON.stringify({ mac: record.mac, body: JSON.stringify({ ...body, checkedAt: new Date().toISOString() }) }));
    expect((await rejection(resolveTrustMaterial(options({ mode: 'offline', ci: true, maxAgeDays: 3 })))).code).toBe(ErrorCodes.TUF_UNREACHABLE);
  });

  it('without a usable record key (an unwritable config folder), refreshes on every install and warns of nothing it could not vouch for', async () => {
    const userConfig = process.env.XDG_CONFIG_HOME;
    const blocker = join(cacheDir, 'not-a-folder');
    writeFileSync(blocker, '');
    process.env.XDG_CONFIG_HOME = join(blocker, 'config');
    try {
      for (let install = 0; install < 2; install++) {
        const requests = served.requests.length;
        const resolved = await resolveTrustMaterial(options());
        expect(resolved.source).toBe('tuf');
        expect(resolved.warnings).toEqual([]);
        expect(served.requests.length).toBeGreaterThan(requests);
      }
    } finally {
      process.env.XDG_CONFIG_HOME = userConfig;
    }
  });

  it('a CI job holding the same SIGSTORE_RECORD_KEY takes a restored cache without asking; without the key it asks again', async () => {
    const ciKey = randomBytes(32).toString('hex');
    const freshRunner = mkdtempSync(join(tmpdir(), 'tuf-runner-'));
    const userConfig = process.env.XDG_CONFIG_HOME;
    try {
      process.env.SIGSTORE_RECORD_KEY = ciKey;
      await resolveTrustMaterial(options());
      // Another runner: a per-user key of its own, the global folder restored, the same CI secret.
      process.env.XDG_CONFIG_HOME = freshRunner;
      const requests = served.requests.length;
      process.env.SIGSTORE_RECORD_KEY = ciKey;
      expect((await resolveTrustMaterial(options())).source).toBe('tuf-cache');
      expect(served.requests.length).toBe(requests);
      process.env.SIGSTORE_RECORD_KEY = '';
      expect((await resolveTrustMaterial(options())).source).toBe('tuf');
      expect(served.requests.length).toBeGreaterThan(requests);
    } finally {
      process.env.SIGSTORE_RECORD_KEY = '';
      takeRecordKeyVariable();
      delete process.env.SIGSTORE_RECORD_KEY;
      process.env.XDG_CONFIG_HOME = userConfig;
      rmSync(freshRunner, { recursive: true, force: true });
    }
  });

  it('offline mode with an empty cache of a private mirror fails rather than trusting the public root', async () => {
    const error = await rejection(resolveTrustMaterial(options({ mode: 'offline' })));
    expect(error.code).toBe(ErrorCodes.TUF_UNREACHABLE);
    expect(served.requests).toEqual([]);
  });

  it('refuses a private mirror without its TUF root', async () => {
    const error = await rejection(resolveTrustMaterial(options({ tufRootPath: undefined })));
    expect(error.code).toBe(ErrorCodes.TRUST_CONFIG_INVALID);
    expect(served.requests).toEqual([]);
  });
});

describe('resolveTrustMaterial without a TUF repository', () => {
  let cacheDir: string;
  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'tuf-cache-'));
  });
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

  // The public-good mirror is never contacted: offline mode, or a fetcher that refuses.
  it('falls back to the embedded root of the public-good instance, naming its age', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const resolved = await resolveTrustMaterial({ cacheDir, mode: 'auto', ci: false, fetcher: refusingFetcher, now, maxAgeDays: 1000 });
    expect(resolved.source).toBe('embedded');
    expect(resolved.material.trustedRoot).toEqual(productionRoot);
    expect(resolved.material.npmKeys).toEqual(npmKeys);
    // the newest key in the embedded seed starts on 2025-09-23
    expect(resolved.ageDays).toBe(100);
    expect(resolved.warnings[0]).toMatch(new RegExp(`TUF repository ${DEFAULT_TUF_MIRROR_URL} unreachable \\(connect ECONNREFUSED\\): using the trusted root embedded in the plugin, last confirmed 100 days ago`));
  });

  it('says nothing of a cache it seeded itself: offline installs with nothing cached keep the seed root and warn only of the fallback', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    for (let install = 0; install < 2; install++) {
      const resolved = await resolveTrustMaterial({ cacheDir, mode: 'offline', ci: false, now, maxAgeDays: 1000 });
      expect(resolved.source).toBe('embedded');
      expect(resolved.warnings).toHaveLength(1);
      expect(resolved.warnings[0]).toMatch(/^offline mode: using the trusted root embedded in the plugin/);
    }
    expect(readdirSync(tufCacheFor(cacheDir, DEFAULT_TUF_MIRROR_URL).metadataDir).sort()).toEqual(['root.json', 'targets']);
  });

  it('fails in CI when the embedded root is older than the maximum age, and warns locally', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const error = await rejection(resolveTrustMaterial({ cacheDir, mode: 'offline', ci: true, now, maxAgeDays: 30 }));
    expect(error.code).toBe(ErrorCodes.TRUSTED_ROOT_TOO_OLD);
    expect(error.message).toContain('100 days old');
    // The remedies name real settings, and offline mode's own way out.
    expect(error.message).toMatch(/refusing stale trust material in CI; set sigstoreTrustMode: auto for TUF to refresh it, pin a current trusted_root\.json \(sigstoreTrustedRootPath\), or raise sigstoreTrustMaxAgeDays$/);
    const local = await resolveTrustMaterial({ cacheDir, mode: 'offline', ci: false, now, maxAgeDays: 30 });
    expect(local.source).toBe('embedded');
    expect(local.warnings.join('\n')).toContain('100 days old, more than the maximum of 30 days');
  });

  it('refuses a mirror URL that is not http(s)', async () => {
    const error = await rejection(resolveTrustMaterial({ cacheDir, mode: 'auto', ci: false, tufMirrorUrl: 'not a url', fetcher: refusingFetcher }));
    expect(error.code).toBe(ErrorCodes.TRUST_CONFIG_INVALID);
    expect(error.message).toContain('not a url');
  });

  it('uses a pinned trusted root file without TUF', async () => {
    const path = join(cacheDir, 'trusted_root.json');
    writeFileSync(path, JSON.stringify(rotatedRoot));
    const keysPath = join(cacheDir, 'keys.json');
    writeFileSync(keysPath, JSON.stringify(rotatedNpmKeys));
    const resolved = await resolveTrustMaterial({ cacheDir, mode: 'auto', ci: true, trustedRootPath: path, npmKeysPath: keysPath, fetcher: refusingFetcher });
    expect(resolved).toMatchObject({ source: 'file', material: { trustedRoot: rotatedRoot, npmKeys: rotatedNpmKeys, origin: `file:${path}` } });
  });

  it('rejects a pinned file that is not JSON, naming it', async () => {
    const path = join(cacheDir, 'trusted_root.json');
    writeFileSync(path, '{ not json');
    const error = await rejection(resolveTrustMaterial({ cacheDir, mode: 'offline', ci: false, trustedRootPath: path }));
    expect(error.code).toBe(ErrorCodes.TRUSTED_ROOT_INVALID);
    expect(error.message).toContain(path);
  });
});
