/**
 * Compressed answers (a real registry gzips its packuments, ~10x smaller):
 * decoded while streaming, or kept encoded for a reader elsewhere and decoded
 * there at once with the same failures; the size cap applied to the decoded
 * bytes, and an encoding the client cannot decode failing closed. A real
 * server on loopback answers each case.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, decodedAnswer, DIRECT, NetworkError } from '../../src/net/client';

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

describe('compressed answers kept encoded (keepEncoding), decoded later at once', () => {
  const failureOfSync = (decode: () => unknown) => {
    try {
      decode();
    } catch (error) {
      return error as NetworkError;
    }
    throw new Error('expected a failure');
  };

  it.each(['gzip', 'deflate', 'br'])('hands a %s answer over as served, with its encoding; decoded, it is the document', async (encoding) => {
    const answer = await client.get(`${base}/${encoding}`, { maxBytes: 1_000_000, keepEncoding: true });
    expect(answer.encoding).toBe(encoding);
    expect(answer.body.equals(ANSWERS[`/${encoding}`].body)).toBe(true);
    const decoded = decodedAnswer(answer, 1_000_000);
    expect(decoded.body.equals(DOCUMENT)).toBe(true);
    expect(decoded.encoding).toBeUndefined();
  });

  it('an unencoded answer has no encoding and is its own decoding', async () => {
    const answer = await client.get(`${base}/identity`, { maxBytes: 1_000_000, keepEncoding: true });
    expect(answer.encoding).toBeUndefined();
    expect(decodedAnswer(answer, 1_000_000)).toBe(answer);
  });

  it('a gzip bomb kept encoded passes the transfer, and its decoding fails as too large, as while streaming', async () => {
    const answer = await client.get(`${base}/bomb`, { maxBytes: 1_000_000, keepEncoding: true });
    expect(answer.body.length).toBe(BOMB.length);
    const streamed = await failureOf(client.get(`${base}/bomb`, { maxBytes: 1_000_000 }));
    const error = failureOfSync(() => decodedAnswer(answer, 1_000_000));
    expect(error).toBeInstanceOf(NetworkError);
    expect([error.kind, error.message]).toEqual([streamed!.kind, streamed!.message]);
    // Exactly at the cap is within it.
    expect(decodedAnswer(answer, 10_000_000).body.length).toBe(10_000_000);
  });

  it('the cap bounds the encoded bytes as they arrive', async () => {
    const error = await failureOf(client.get(`${base}/gzip`, { maxBytes: ANSWERS['/gzip'].body.length - 1, keepEncoding: true }));
    expect(error).toMatchObject({ kind: 'too-large' });
  });

  it('a corrupt answer fails to decode, never returning part of it; an unknown encoding fails as it arrives', async () => {
    const answer = await client.get(`${base}/corrupt`, { maxBytes: 1_000_000, keepEncoding: true });
    const error = failureOfSync(() => decodedAnswer(answer, 1_000_000));
    expect(error).toMatchObject({ kind: 'network' });
    expect(error.message).toMatch(/^the gzip answer cannot be decoded: /);
    expect(await failureOf(client.get(`${base}/unknown`, { maxBytes: 1_000_000, keepEncoding: true }))).toMatchObject({ kind: 'network' });
  });
});
