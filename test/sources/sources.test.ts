/**
 * Bundle sources against a real loopback registry: where a document is
 * looked for, where credentials may go, and how a bad source fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAttestations, safeTarget, type SourceOptions, type SourceTransport } from '../../src/sources';
import { httpGet } from '../../src/sources/httpClient';
import { fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { startForeignHost, startRegistry, type TestRegistry } from '../../testkit/registry';

const GOGGLES = { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' };
let registry: TestRegistry;
let foreign: TestRegistry;

/** A transport as the Yarn layer builds it: a token for the registry only. */
function transport(token = 'registry-token'): SourceTransport {
  const get = async (url: string, headers: Record<string, string>) => {
    const answer = await httpGet(url, { headers, timeoutMs: 1000, maxBytes: 1_000_000, retries: 1 });
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
  it('reads dist.attestations.url from the full packument and fetches the document from the registry', async () => {
    registry.clearRequests();
    const found = await findAttestations(lookup(), options());
    expect(found.found && found.origin).toBe('registry');
    expect(found.found && (found.document as { attestations: unknown[] }).attestations.length).toBe(2);
    expect(registry.requests.map((request) => request.kind)).toEqual(['packument', 'attestations']);
  });

  it('is unsigned when the packument announces no attestations', async () => {
    registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, false);
    try {
      expect(await findAttestations(lookup(), options())).toEqual({ found: false, searched: [`${registry.url}/@trishankatdatadog%2fsupreme-goggles`] });
    } finally {
      registry.setAdvertiseAttestations(GOGGLES.name, GOGGLES.version, true);
    }
  });

  it('never sends the registry token to an attestation URL on another host', async () => {
    registry.moveAttestationsTo(foreign, GOGGLES.name, GOGGLES.version);
    foreign.setRoute('/elsewhere.json', { body: { attestations: [] } });
    try {
      registry.clearRequests();
      await findAttestations(lookup(), options());
      expect(foreign.requests).toEqual([]);
      expect(registry.requests.at(-1)).toMatchObject({ kind: 'attestations', authorization: 'Bearer registry-token' });

      registry.setAttestationsUrl(GOGGLES.name, GOGGLES.version, `${foreign.url}/elsewhere.json`);
      const found = await findAttestations(lookup(), options());
      expect(found.found && found.url).toBe(`${foreign.url}/elsewhere.json`);
      expect(foreign.requests).toHaveLength(1);
      expect(foreign.requests[0].hasAuthorization).toBe(false);
    } finally {
      registry.setAttestationsUrl(GOGGLES.name, GOGGLES.version, undefined);
    }
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

  it.each([
    ['a 500', { type: 'status', status: 500 }, /HTTP 500/],
    ['no answer', { type: 'hang' }, /no complete answer within 1000 ms/],
    ['invalid JSON', { type: 'invalid-json' }, /not valid JSON/],
    ['a huge body', { type: 'huge', bytes: 5_000_000, contentLength: false }, /exceeds the 1000000-byte limit/],
  ] as const)('fails closed, naming the package and the URL, on %s', async (_label, action, message) => {
    const remove = registry.addFault({ match: { kind: 'attestations' }, action });
    try {
      const failure = await findAttestations(lookup(), options()).then(
        () => undefined,
        (error: Error & { code?: string }) => error,
      );
      expect(failure?.code).toBe('SOURCE_FETCH_FAILED');
      expect(failure?.message).toContain(`${GOGGLES.name}@${GOGGLES.version}`);
      expect(failure?.message).toContain('/-/npm/v1/attestations/');
      expect(failure?.message).toMatch(message);
    } finally {
      remove();
    }
  });
});
