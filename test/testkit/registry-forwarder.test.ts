import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../testkit/registry';
import { kindOf, startRegistryForwarder, type RegistryForwarder } from '../../testkit/registry-forwarder';
import { buildPackageTarball } from '../../testkit/tarball';

describe('registry forwarder (the real-tree bench counts requests through it)', () => {
  let upstream: TestRegistry;
  let forwarder: RegistryForwarder;
  const tarball = buildPackageTarball({ name: 'forwarded', version: '1.0.0', padBytes: 3000 });

  beforeEach(async () => {
    upstream = await startRegistry();
    upstream.addVersion({ name: 'forwarded', version: '1.0.0', tarball });
    forwarder = await startRegistryForwarder(upstream.url);
  });
  afterEach(async () => {
    await forwarder.close();
    await upstream.close();
  });

  it('rewrites the upstream address in packuments, so tarballs come through it, and counts each request with its kind and size', async () => {
    const packument = (await (await fetch(`${forwarder.url}/forwarded`)).json()) as { versions: Record<string, { dist: { tarball: string } }> };
    const tarballUrl = packument.versions['1.0.0'].dist.tarball;
    expect(tarballUrl.startsWith(`${forwarder.url}/`), tarballUrl).toBe(true);
    expect(JSON.stringify(packument)).not.toContain(upstream.url);

    const bytes = Buffer.from(await (await fetch(tarballUrl)).arrayBuffer());
    expect(bytes.equals(tarball)).toBe(true);
    const missing = await fetch(`${forwarder.url}/-/npm/v1/attestations/forwarded@1.0.0`);
    expect(missing.status).toBe(404);

    expect(forwarder.requests.map(({ kind, status }) => [kind, status])).toEqual([
      ['packument', 200],
      ['tarball', 200],
      ['attestations', 404],
    ]);
    expect(forwarder.requests[1].bytes).toBe(tarball.length);
    expect(upstream.requests).toHaveLength(3);
  });

  it('gzips a JSON answer for a client that accepts it, as the real registry does', async () => {
    const { request } = await import('node:http');
    const { gunzipSync } = await import('node:zlib');
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      request(`${forwarder.url}/forwarded`, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
    expect(raw.encoding).toBe('gzip');
    expect(JSON.parse(gunzipSync(raw.body).toString('utf8')).name).toBe('forwarded');
    expect(forwarder.requests[0].bytes).toBe(raw.body.length);
  });

  it('names request kinds by path', () => {
    expect(kindOf('/@scope%2fname')).toBe('packument');
    expect(kindOf('/@scope/name/-/name-1.0.0.tgz')).toBe('tarball');
    expect(kindOf('/-/npm/v1/attestations/@scope%2fname@1.0.0')).toBe('attestations');
    expect(kindOf('/-/npm/v1/keys')).toBe('other');
  });
});
