/**
 * Bundle sources against a real loopback registry: where a document is
 * looked for, where credentials may go, and how a bad source fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAttestations, safeTarget, type SourceOptions, type SourceTransport } from '../../src/sources';
import { createHttpClient, DIRECT } from '../../src/net/client';
import { verifyDocument } from '../../src/install/document-verification';
import { fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { startForeignHost, startRegistry, type TestRegistry } from '../../testkit/registry';

const GOGGLES = { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' };
let registry: TestRegistry;
let foreign: TestRegistry;

/** A transport as the Yarn layer builds it: a token for the registry only. */
function transport(token = 'registry-token'): SourceTransport {
  const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 1000, retries: 1 });
  const get = async (url: string, headers: Record<string, string>) => {
    const answer = await client.get(url, { headers, maxBytes: 1_000_000 });
    if (answer.status === 404) return null;
    if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
    return answer.body;
  };
  return {
    registryGet: (base, path) => get(base + path, base === registry.url ? { authorization: `Bearer ${token}` } : {}),
    anonymousGet: (url) => get(url, {}),
  };
}

function options(extra: Partial<SourceOptions> = {}): SourceOptions {
  return { transport: transport(), maxResponseBytes: 1_000_000, ...extra };
}

const lookup = () => ({ ...GOGGLES, registry: registry.url });

beforeAll(async () => {
  registry = await startRegistry({ versions: [fixtureToRegistryVersion(loadFixturePackage(GOGGLES.name, GOGGLES.version))] });
  foreign = await startForeignHost();
});

afterAll(async () => {
  await registry.close();
  await foreign.close();
});

describe('safeTarget', () => {
  it('keeps URLs on the registry, rebuilds npm attestation paths from other hosts, and sends anything else anonymously', () => {
    expect(safeTarget('https://r.example/npm/-/npm/v1/attestations/a@1', 'https://r.example/npm')).toEqual({ kind: 'registry', path: '/-/npm/v1/attestations/a@1' });
    expect(safeTarget('https://evil.example/-/npm/v1/attestations/a@1', 'https://r.example')).toEqual({ kind: 'registry', path: '/-/npm/v1/attestations/a@1' });
    expect(safeTarget('https://r.example.evil/x.json', 'https://r.example')).toEqual({ kind: 'anonymous', url: 'https://r.example.evil/x.json' });
    expect(safeTarget('https://r.example/other/x.json', 'https://r.example/npm')).toEqual({ kind: 'anonymous', url: 'https://r.example/other/x.json' });
  });
});

describe('findAttestations', () => {
  const ENDPOINT_PATH = '/-/npm/v1/attestations/@trishankatdatadog%2fsupreme-goggles@1.0.5';
  const PACKUMENT_PATH = '/@trishankatdatadog%2fsupreme-goggles';
  /** The registry 404s its attestations endpoint (only), as a registry without the direct endpoint would. */
  const endpoint404 = () => registry.addFault({ match: ENDPOINT_PATH, action: { type: 'status', status: 404 } });

  it('asks the attestations endpoint directly: one request for a signed package, no packument', async () => {
    registry.clearRequests();
    const found = await findAttestations(lookup(), options());
    expect(found).toMatchObject({ found: true, origin: 'registry', url: registry.url + ENDPOINT_PATH });
    expect(found.found && JSON.parse(found.bytes.toString('utf8')).attestations.length).toBe(2);
    expect(registry.requests.map((request) => [request.kind, request.url])).toEqual([['attestations', ENDPOINT_PATH]]);
  });

  it('sends the registry token on the endpoint request, to the registry only', async () => {
    registry.clearRequests();
    foreign.clearRequests();
    await findAttestations(lookup(), options());
    expect(registry.requests).toEqual([expect.objectContaining({ kind: 'attestations', authorization: 'Bearer registry-token' })]);
    expect(foreign.requests).toEqual([]);
  });

  it('finds a document the packument does not announce: stripping the packument alone does not make a package unsigned', async () => {
    registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, false);
    try {
      registry.clearRequests();
      expect(await findAttestations(lookup(), options())).toMatchObject({ found: true, url: registry.url + ENDPOINT_PATH });
      expect(registry.requests.map((request) => request.kind)).toEqual(['attestations']);
    } finally {
      registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, true);
    }
  });

  it('is unsigned when the endpoint answers 404 and then the packument announces no attestations', async () => {
    registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, false);
    registry.setAttestations(GOGGLES.name, GOGGLES.version, null);
    try {
      registry.clearRequests();
      expect(await findAttestations(lookup(), options())).toEqual({ found: false, searched: [registry.url + ENDPOINT_PATH, registry.url + PACKUMENT_PATH] });
      expect(registry.requests.map((request) => [request.status, request.url])).toEqual([
        [404, ENDPOINT_PATH],
        [200, PACKUMENT_PATH],
      ]);
    } finally {
      registry.setAttestations(GOGGLES.name, GOGGLES.version, loadFixturePackage(GOGGLES.name, GOGGLES.version).attestationsBytes);
      registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, true);
    }
  });

  it('fails when the packument announces the attestations the endpoint 404ed, without asking the same path twice', async () => {
    const remove = endpoint404();
    try {
      registry.clearRequests();
      const failure = await findAttestations(lookup(), options()).catch((error: Error & { code?: string }) => error);
      expect(failure).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
      expect((failure as Error).message).toContain(`${GOGGLES.name}@${GOGGLES.version}`);
      expect((failure as Error).message).toContain('the attestations announced by the packument are missing (404)');
      expect(registry.requests.map((request) => request.kind)).toEqual(['attestations', 'packument']);
    } finally {
      remove();
    }
  });

  it('after an endpoint 404, follows dist.attestations.url from the full packument to another registry path', async () => {
    const remove = endpoint404();
    registry.setRoute('/mirror/goggles.json', { body: loadFixturePackage(GOGGLES.name, GOGGLES.version).attestationsBytes });
    registry.setAttestationsUrl(GOGGLES.name, GOGGLES.version, `${registry.url}/mirror/goggles.json`);
    try {
      registry.clearRequests();
      const found = await findAttestations(lookup(), options());
      expect(found).toMatchObject({ found: true, origin: 'registry', url: `${registry.url}/mirror/goggles.json` });
      expect(found.found && JSON.parse(found.bytes.toString('utf8')).attestations.length).toBe(2);
      expect(registry.requests.map((request) => [request.kind, request.url, request.authorization])).toEqual([
        ['attestations', ENDPOINT_PATH, 'Bearer registry-token'],
        ['packument', PACKUMENT_PATH, 'Bearer registry-token'],
        ['route', '/mirror/goggles.json', 'Bearer registry-token'],
      ]);
    } finally {
      remove();
      registry.setRoute('/mirror/goggles.json', undefined);
      registry.setAttestationsUrl(GOGGLES.name, GOGGLES.version, undefined);
    }
  });

  it('never sends the registry token to an attestation URL on another host (after an endpoint 404)', async () => {
    const remove = endpoint404();
    foreign.setRoute('/elsewhere.json', { body: { attestations: [] } });
    try {
      registry.moveAttestationsTo(foreign, GOGGLES.name, GOGGLES.version);
      registry.clearRequests();
      foreign.clearRequests();
      // An npm attestations path on another host is rebuilt onto the registry: the same path it just 404ed.
      await expect(findAttestations(lookup(), options())).rejects.toThrow(/announced by the packument are missing/);
      expect(foreign.requests).toEqual([]);

      registry.setAttestationsUrl(GOGGLES.name, GOGGLES.version, `${foreign.url}/elsewhere.json`);
      const found = await findAttestations(lookup(), options());
      expect(found.found && found.url).toBe(`${foreign.url}/elsewhere.json`);
      expect(foreign.requests).toHaveLength(1);
      expect(foreign.requests[0].hasAuthorization).toBe(false);
    } finally {
      remove();
      foreign.setRoute('/elsewhere.json', undefined);
      registry.setAttestationsUrl(GOGGLES.name, GOGGLES.version, undefined);
    }
  });

  it('packument first: announced attestations are asked at the endpoint (two requests), none announced is unsigned after one request, a missing document fails', async () => {
    registry.clearRequests();
    const found = await findAttestations(lookup(), options({ packumentFirst: true }));
    expect(found).toMatchObject({ found: true, origin: 'registry' });
    // The URL the packument announces (npm writes `@scope/name` there), with the registry's token: it is the registry's.
    expect(registry.requests.map((request) => [request.kind, decodeURIComponent(request.url), request.authorization])).toEqual([
      ['packument', decodeURIComponent(PACKUMENT_PATH), 'Bearer registry-token'],
      ['attestations', decodeURIComponent(ENDPOINT_PATH), 'Bearer registry-token'],
    ]);

    registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, false);
    try {
      registry.clearRequests();
      // A package allowed to be unsigned: the registry's packument decides, as a registry could already decide by a 404.
      expect(await findAttestations(lookup(), options({ packumentFirst: true }))).toEqual({ found: false, searched: [`${registry.url}${PACKUMENT_PATH}`] });
      expect(registry.requests.map((request) => request.kind)).toEqual(['packument']);
    } finally {
      registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, true);
    }

    const remove = registry.addFault({ match: { kind: 'attestations' }, action: { type: 'status', status: 404 } });
    try {
      await expect(findAttestations(lookup(), options({ packumentFirst: true }))).rejects.toThrow(/announced by the packument are missing \(404\)/);
    } finally {
      remove();
    }
  });

  it('fails closed when the registry does not know the package (endpoint and packument 404)', async () => {
    const missing = { ...lookup(), name: 'no-such-package' };
    registry.clearRequests();
    const failure = await findAttestations(missing, options()).catch((error: Error & { code?: string }) => error);
    expect(failure).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect((failure as Error).message).toContain(`no-such-package@1.0.5: fetching ${registry.url}/no-such-package failed: the registry does not know the package (404)`);
    expect(registry.requests.map((request) => request.url)).toEqual(['/-/npm/v1/attestations/no-such-package@1.0.5', '/no-such-package']);
  });

  it('prefers the local bundle directory, then the scope attestation registry', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sigstore-bundles-'));
    try {
      writeFileSync(join(directory, '@trishankatdatadog%2fsupreme-goggles@1.0.5.json'), '{"attestations":[]}');
      const local = await findAttestations(lookup(), options({ bundleDirectory: directory }));
      expect(local.found && local.origin).toBe('bundle-directory');

      foreign.setRoute('/-/npm/v1/attestations/@trishankatdatadog%2fsupreme-goggles@1.0.5', { body: { attestations: [] } });
      const scoped = await findAttestations(lookup(), options({ attestationRegistries: new Map([['trishankatdatadog', foreign.url]]) }));
      expect(scoped.found && scoped.origin).toBe('attestation-registry');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('hands invalid JSON on the endpoint over as served, never falling back to the packument; parsed where verified, it fails naming the package and the URL', async () => {
    const remove = registry.addFault({ match: { kind: 'attestations' }, action: { type: 'invalid-json' } });
    try {
      registry.clearRequests();
      const found = await findAttestations(lookup(), options());
      if (!found.found) throw new Error('expected the document as served');
      expect(registry.requests.map((request) => request.kind)).toEqual(['attestations']);
      let failure: (Error & { code?: string }) | undefined;
      try {
        verifyDocument({ document: found.bytes, url: found.url, maxBytes: 1_000_000, name: GOGGLES.name, version: GOGGLES.version }, {} as never, () => {
          throw new Error('not reached: nothing to verify');
        });
      } catch (error) {
        failure = error as Error & { code?: string };
      }
      expect(failure?.code).toBe('SOURCE_FETCH_FAILED');
      expect(failure?.message).toContain(`${GOGGLES.name}@${GOGGLES.version}: fetching ${registry.url}${ENDPOINT_PATH} failed`);
      expect(failure?.message).toMatch(/not valid JSON/);
    } finally {
      remove();
    }
  });

  it.each([
    ['a 500', { type: 'status', status: 500 }, /HTTP 500/],
    ['no answer', { type: 'hang' }, /no complete answer within 1000 ms/],
    ['a huge body', { type: 'huge', bytes: 5_000_000, contentLength: false }, /exceeds the 1000000-byte limit/],
  ] as const)('fails closed on the endpoint, naming the package and the URL, never falling back to the packument, on %s', async (_label, action, message) => {
    const remove = registry.addFault({ match: { kind: 'attestations' }, action });
    try {
      registry.clearRequests();
      const failure = await findAttestations(lookup(), options()).then(
        () => undefined,
        (error: Error & { code?: string }) => error,
      );
      expect(failure?.code).toBe('SOURCE_FETCH_FAILED');
      expect(failure?.message).toContain(`${GOGGLES.name}@${GOGGLES.version}`);
      expect(failure?.message).toContain(`fetching ${registry.url}${ENDPOINT_PATH} failed`);
      expect(failure?.message).toMatch(message);
      expect(registry.requests.map((request) => request.kind).filter((kind) => kind !== 'attestations')).toEqual([]);
    } finally {
      remove();
    }
  });
});
