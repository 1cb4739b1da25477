/**
 * Compressed answers (a real registry gzips its packuments, ~10x smaller):
 * decoded while streaming, the size cap applied to the decoded bytes, and
 * an encoding the client cannot decode failing closed. A real server on
 * loopback answers each case.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, DIRECT, NetworkError } from '../../src/net/client';

const DOCUMENT = Buffer.from(JSON.stringify({ versions: Object.fromEntries(Array.from({ length: 200 }, (_, index) => [`1.0.${index}`, { dist: { integrity: 'sha512-' + 'A'.repeat(86) } }])) }));
/** 10 MB of zeros: a few KB gzipped. */
const BOMB = zlib.gzipSync(Buffer.alloc(10_000_000));

const ANSWERS: Record<string, { encoding?: string; body: Buffer }> = {
  '/gzip': { encoding: 'gzip', body: zlib.gzipSync(DOCUMENT) },
  '/deflate': { encoding: 'deflate', body: zlib.deflateSync(DOCUMENT) },
  '/br': { encoding: 'br', body: zlib.brotliCompressSync(DOCUMENT) },
  '/identity': { body: DOCUMENT },
  '/bomb': { encoding: 'gzip', body: BOMB },
  '/unknown': { encoding: 'zstd', body: DOCUMENT },
  '/corrupt': { encoding: 'gzip', body: Buffer.concat([zlib.gzipSync(DOCUMENT).subarray(0, 40), Buffer.alloc(40, 7)]) },
};

let server: http.Server;
let base: string;
const acceptEncodings: string[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    acceptEncodings.push(String(request.headers['accept-encoding']));
    const answer = ANSWERS[request.url ?? ''];
    if (!answer) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.body.length, ...(answer.encoding ? { 'content-encoding': answer.encoding } : {}) });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 5000, retries: 0 });
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as NetworkError,
  );

describe('compressed answers', () => {
  it.each(['gzip', 'deflate', 'br', 'identity'])('asks for gzip, deflate and br, and decodes a %s answer to the document', async (encoding) => {
    const answer = await client.get(`${base}/${encoding}`, { maxBytes: 1_000_000 });
    expect(answer.body.equals(DOCUMENT)).toBe(true);
    expect(acceptEncodings.at(-1)).toBe('gzip, deflate, br');
  });

  it('applies the size cap to the decoded bytes: a small gzip bomb fails as too large', async () => {
    expect(BOMB.length).toBeLessThan(100_000);
    const error = await failureOf(client.get(`${base}/bomb`, { maxBytes: 1_000_000 }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ kind: 'too-large' });
    expect(error!.message).toContain('once decoded');
  });

  it('fails closed on an encoding it cannot decode, naming it', async () => {
    const error = await failureOf(client.get(`${base}/unknown`, { maxBytes: 1_000_000 }));
    expect(error).toMatchObject({ kind: 'network' });
    expect(error!.message).toContain('"zstd"');
  });

  it('fails on a corrupt gzip answer instead of returning part of it', async () => {
    const error = await failureOf(client.get(`${base}/corrupt`, { maxBytes: 1_000_000 }));
    expect(error).toMatchObject({ kind: 'network' });
    expect(error!.message).toMatch(/gzip answer cannot be decoded/);
  });
});
