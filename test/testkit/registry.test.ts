import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureToRegistryVersion, loadFixturePackage, loadFixturePackages, productionNpmKeys } from '../../testkit/fixtures';
import { OLD_PUBLISH_TIME, startForeignHost, startRegistry, type TestRegistry } from '../../testkit/registry';
import { buildPackageTarball, integrityOf, readPackageJson, withPostinstallMarker } from '../../testkit/tarball';

const SCOPED = '@trishankatdatadog/supreme-goggles';

type Packument = {
  name: string;
  'dist-tags': Record<string, string>;
  time: Record<string, string>;
  versions: Record<string, { dependencies?: Record<string, string>; scripts?: Record<string, string>; dist: { tarball: string; integrity: string; shasum: string; attestations?: { url: string; provenance: { predicateType: string } } } }>;
};

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  expect(response.status, url).toBe(200);
  return (await response.json()) as T;
}

/** Resolves with the outcome of a GET once it ends or `waitMs` passed (for hanging answers). */
function rawGet(url: string, waitMs: number): Promise<{ outcome: 'answered' | 'pending' | 'error'; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const req = request(url, (response) => {
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolve({ outcome: 'answered', bytes }));
      response.on('error', () => resolve({ outcome: 'error', bytes }));
    });
    req.on('error', () => resolve({ outcome: 'error', bytes }));
    req.end();
    setTimeout(() => resolve({ outcome: 'pending', bytes }), waitMs).unref();
  });
}

describe('test registry', () => {
  let registry: TestRegistry;

  beforeEach(async () => {
    registry = await startRegistry({ versions: loadFixturePackages().map((fixture) => fixtureToRegistryVersion(fixture)), npmKeys: productionNpmKeys() });
  });
  afterEach(async () => {
    await registry.close();
  });

  it('listens on 127.0.0.1 with a random port', () => {
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(registry.port).toBeGreaterThan(0);
  });

  it('serves a scoped packument at /@scope%2fname and /@scope/name with tarball, integrity, attestations and old times', async () => {
    const fixture = loadFixturePackage(SCOPED, '1.0.5');
    for (const path of ['/@trishankatdatadog%2fsupreme-goggles', '/@trishankatdatadog/supreme-goggles']) {
      const packument = await getJson<Packument>(registry.url + path);
      expect(packument.name).toBe(SCOPED);
      expect(packument['dist-tags'].latest).toBe('1.0.5');
      expect(packument.time['1.0.5']).toBe(OLD_PUBLISH_TIME);
      const dist = packument.versions['1.0.5'].dist;
      expect(dist.tarball).toBe(`${registry.url}/@trishankatdatadog/supreme-goggles/-/supreme-goggles-1.0.5.tgz`);
      expect(dist.integrity).toBe(fixture.manifest.integrity);
      expect(dist.shasum).toBe(createHash('sha1').update(fixture.tarball).digest('hex'));
      expect(dist.attestations?.url).toBe(`${registry.url}/-/npm/v1/attestations/@trishankatdatadog/supreme-goggles@1.0.5`);
      expect(dist.attestations?.provenance.predicateType).toBe('https://slsa.dev/provenance/v1');
    }
  });

  it('serves the real tarball bytes whose sha512 is dist.integrity, and the real attestations document byte for byte', async () => {
    const fixture = loadFixturePackage('gundam-visor', '1.0.1');
    const packument = await getJson<Packument>(registry.packumentUrl('gundam-visor'));
    const tarball = Buffer.from(await (await fetch(packument.versions['1.0.1'].dist.tarball)).arrayBuffer());
    expect(integrityOf(tarball)).toBe(packument.versions['1.0.1'].dist.integrity);
    expect(tarball.equals(fixture.tarball)).toBe(true);
    const attestations = Buffer.from(await (await fetch(packument.versions['1.0.1'].dist.attestations!.url)).arrayBuffer());
    expect(attestations.equals(fixture.attestationsBytes)).toBe(true);
    expect(JSON.parse(attestations.toString()).attestations).toHaveLength(2);
  });

  it('answers 404 for unknown packages, versions and missing attestations', async () => {
    expect((await fetch(registry.packumentUrl('no-such-package'))).status).toBe(404);
    expect((await fetch(registry.attestationsUrl('gundam-visor', '9.9.9'))).status).toBe(404);
    registry.setAttestations('gundam-visor', '1.0.1', null);
    expect((await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'))).status).toBe(404);
    // setAttestations does not change what the packument advertises: the "advertised but 404" attack.
    const packument = await getJson<Packument>(registry.packumentUrl('gundam-visor'));
    expect(packument.versions['1.0.1'].dist.attestations).toBeDefined();
  });

  it('builds packuments from a generated tarball: dependencies, scripts and dist-tags', async () => {
    const spec = withPostinstallMarker({ name: '@demo/app', version: '2.0.0', dependencies: { 'gundam-visor': '^1.0.0' } });
    registry.addVersion({ name: spec.name, version: spec.version, tarball: buildPackageTarball(spec) });
    registry.addVersion({ name: spec.name, version: '1.0.0', tarball: buildPackageTarball({ ...spec, version: '1.0.0' }) });
    registry.addVersion({ name: spec.name, version: '3.0.0-beta.1', tarball: buildPackageTarball({ ...spec, version: '3.0.0-beta.1' }) });
    const packument = await getJson<Packument>(registry.packumentUrl('@demo/app'));
    expect(packument['dist-tags'].latest).toBe('2.0.0');
    expect(packument.versions['2.0.0'].dependencies).toEqual({ 'gundam-visor': '^1.0.0' });
    expect(packument.versions['2.0.0'].scripts?.postinstall).toBe('node postinstall-marker.js');
    // No attestations given: none advertised, endpoint 404.
    expect(packument.versions['2.0.0'].dist.attestations).toBeUndefined();
    expect((await fetch(registry.attestationsUrl('@demo/app', '2.0.0'))).status).toBe(404);
    registry.setDistTag('@demo/app', 'latest', '1.0.0');
    expect((await getJson<Packument>(registry.packumentUrl('@demo/app')))['dist-tags'].latest).toBe('1.0.0');
  });

  it('mutators: replaced tarball, overridden integrity, hidden or redirected attestations', async () => {
    const evil = buildPackageTarball({ name: 'gundam-visor', version: '1.0.1', scripts: { postinstall: 'echo pwned' } });
    registry.setTarball('gundam-visor', '1.0.1', evil);
    let dist = (await getJson<Packument>(registry.packumentUrl('gundam-visor'))).versions['1.0.1'].dist;
    expect(dist.integrity).toBe(integrityOf(evil));
    expect(readPackageJson(Buffer.from(await (await fetch(dist.tarball)).arrayBuffer())).scripts).toEqual({ postinstall: 'echo pwned' });

    registry.setIntegrity('gundam-visor', '1.0.1', 'sha512-forged');
    registry.setAdvertiseAttestations('gundam-visor', '1.0.1', false);
    dist = (await getJson<Packument>(registry.packumentUrl('gundam-visor'))).versions['1.0.1'].dist;
    expect(dist.integrity).toBe('sha512-forged');
    expect(dist.attestations).toBeUndefined();

    registry.setAdvertiseAttestations('gundam-visor', '1.0.1', true);
    registry.setAttestationsUrl('gundam-visor', '1.0.1', 'http://127.0.0.1:9/elsewhere');
    dist = (await getJson<Packument>(registry.packumentUrl('gundam-visor'))).versions['1.0.1'].dist;
    expect(dist.attestations?.url).toBe('http://127.0.0.1:9/elsewhere');

    registry.setAttestations('gundam-visor', '1.0.1', Buffer.from('not json at all'));
    expect(await (await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'))).text()).toBe('not json at all');
  });

  it('serves the npm keys when given', async () => {
    const keys = await getJson<{ keys: unknown[] }>(`${registry.url}/-/npm/v1/keys`);
    expect(keys.keys).toHaveLength(4);
  });

  it('logs requests with host and authorization, and enforces a required token', async () => {
    registry.requiredToken = 'secret-token';
    expect((await fetch(registry.packumentUrl('gundam-visor'))).status).toBe(401);
    expect((await fetch(registry.packumentUrl('gundam-visor'), { headers: { authorization: 'Bearer secret-token' } })).status).toBe(200);
    const [anonymous, authorized] = registry.requests;
    expect(anonymous).toMatchObject({ method: 'GET', kind: 'packument', name: 'gundam-visor', hasAuthorization: false, status: 401, host: `127.0.0.1:${registry.port}` });
    expect(authorized).toMatchObject({ hasAuthorization: true, authorization: 'Bearer secret-token', status: 200 });
    registry.clearRequests();
    expect(registry.requests).toHaveLength(0);
  });

  it('moves attestations to a foreign host that logs what reaches it', async () => {
    const foreign = await startForeignHost();
    try {
      const url = registry.moveAttestationsTo(foreign, SCOPED, '1.0.5');
      expect(url.startsWith(foreign.url)).toBe(true);
      const dist = (await getJson<Packument>(registry.packumentUrl(SCOPED))).versions['1.0.5'].dist;
      expect(dist.attestations?.url).toBe(url);
      const body = Buffer.from(await (await fetch(url, { headers: { authorization: 'Bearer leaked' } })).arrayBuffer());
      expect(body.equals(loadFixturePackage(SCOPED, '1.0.5').attestationsBytes)).toBe(true);
      expect(foreign.requests).toEqual([expect.objectContaining({ kind: 'route', hasAuthorization: true, authorization: 'Bearer leaked' })]);
    } finally {
      await foreign.close();
    }
  });

  describe('faults', () => {
    it('status code, limited by times', async () => {
      registry.addFault({ match: { kind: 'attestations', name: 'gundam-visor' }, action: { type: 'status', status: 500 }, times: 1 });
      expect((await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'))).status).toBe(500);
      expect((await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'))).status).toBe(200);
    });

    it('invalid JSON', async () => {
      const remove = registry.addFault({ match: /attestations/, action: { type: 'invalid-json' } });
      const response = await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'));
      expect(response.status).toBe(200);
      await expect(response.json()).rejects.toThrow();
      remove();
      expect((await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'))).status).toBe(200);
    });

    it('hang: never answers, and close() still returns', async () => {
      registry.addFault({ match: (request) => request.kind === 'tarball', action: { type: 'hang' } });
      const result = await rawGet(registry.tarballUrl('gundam-visor', '1.0.1'), 300);
      expect(result.outcome).toBe('pending');
      // afterEach closes the registry with the hanging socket open; the hook would time out if close() waited for it.
    });

    it('trickle: the real body, a few bytes at a time', async () => {
      const fixture = loadFixturePackage('gundam-visor', '1.0.1');
      registry.addFault({ match: { kind: 'tarball' }, action: { type: 'trickle', chunkBytes: 200, intervalMs: 5 } });
      const response = await fetch(registry.tarballUrl('gundam-visor', '1.0.1'));
      const reader = response.body!.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(fixture.tarball.length / 200));
      expect(Buffer.concat(chunks).equals(fixture.tarball)).toBe(true);
    });

    it('huge: streams the announced size without holding it', async () => {
      registry.addFault({ match: { kind: 'attestations' }, action: { type: 'huge', bytes: 20 * 1024 * 1024 } });
      const response = await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'));
      expect(response.headers.get('content-length')).toBe(String(20 * 1024 * 1024));
      let total = 0;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) total += chunk.length;
      expect(total).toBe(20 * 1024 * 1024);
    });

    it('huge default is 100 MB, and a client that hangs up stops the stream', async () => {
      registry.addFault({ match: { kind: 'attestations' }, action: { type: 'huge' } });
      const controller = new AbortController();
      const response = await fetch(registry.attestationsUrl('gundam-visor', '1.0.1'), { signal: controller.signal });
      expect(response.headers.get('content-length')).toBe(String(100 * 1024 * 1024));
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(Buffer.from(first.value!).toString().startsWith('{"attestations":')).toBe(true);
      controller.abort();
    });

    it('latency delays every answer (a minute of latency: still pending after 200 ms)', async () => {
      registry.latencyMs = 60_000;
      expect((await rawGet(registry.packumentUrl('gundam-visor'), 200)).outcome).toBe('pending');
      registry.latencyMs = 0;
      expect((await rawGet(registry.packumentUrl('gundam-visor'), 5_000)).outcome).toBe('answered');
    });
  });
});
