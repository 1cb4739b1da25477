/**
 * Packuments read on the packument worker: the real worker entry, bundled
 * from source as the plugin build embeds it (scripts/workers.ts), fed bodies
 * fetched from a real loopback registry with the plugin's HTTP client. The
 * worker answers exactly the facts and the coded errors the main thread
 * computes from the same bytes; the body is handed over, not copied; and a
 * worker that dies or cannot start fails every package it owes with a coded
 * error naming it, never a pass and never a wait.
 */
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../../scripts/workers';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { Documents } from '../../src/install/documents';
import { PackumentThread, packumentReader } from '../../src/install/packument-thread';
import { createHttpClient, DIRECT } from '../../src/net/client';
import { readPackumentFacts } from '../../src/sources/packument';
import type { EncodedBody, PackageLookup, SourceTransport } from '../../src/sources/types';
import { fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { refOf } from '../../testkit/pipeline';
import { startRegistry, type TestRegistry } from '../../testkit/registry';
import { buildPackageTarball } from '../../testkit/tarball';

const GOGGLES = { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' };
const MAX_BYTES = 10_000_000;
/** A package of many versions, some published with a trusted publisher, whose packument is far over Node's 4 KiB pooled-buffer size. */
const WIDE = 'wide-history';
const WIDE_VERSIONS = 80;

let registry: TestRegistry;
let source: string;
const threads: PackumentThread[] = [];

/** A thread over `code` (the real worker's unless given), terminated after the test. */
function threadOf(code: unknown = source): PackumentThread {
  const thread = new (PackumentThread as any)(code) as PackumentThread;
  threads.push(thread);
  return thread;
}

const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 5000, retries: 0 });

const transport: SourceTransport = {
  registryGet: async (base, path) => {
    const answer = await client.get(base + path, { maxBytes: MAX_BYTES });
    return answer.status === 404 ? null : answer.body;
  },
  anonymousGet: () => Promise.reject(new Error('not used')),
};

/** The packument's body as the plugin's client receives it. */
async function served(name: string): Promise<EncodedBody> {
  return { bytes: (await transport.registryGet(registry.url, `/${name.replace('/', '%2f')}`))! };
}

/** A body served unencoded. */
const asServed = (text: string): EncodedBody => ({ bytes: Buffer.from(text) });

const lookup = (name: string, version: string): PackageLookup => ({ name, version, registry: registry.url });
const urlOf = (name: string) => `${registry.url}/${name.replace('/', '%2f')}`;

/** What the main thread throws for a body, as a plain record. */
function inProcessError(body: EncodedBody, pkg: PackageLookup, url: string, maxBytes = MAX_BYTES): Record<string, unknown> {
  try {
    readPackumentFacts(body, pkg, url, maxBytes);
  } catch (error) {
    return plain(error);
  }
  throw new Error('expected an error');
}

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => plain(error),
  );
}

function plain(error: unknown): Record<string, unknown> {
  const { name, code, message, subject, details } = error as SigstorePluginError;
  return { instance: error instanceof SigstorePluginError, name, code, message, subject, details };
}

beforeAll(async () => {
  source = await buildWorker('packument worker');
  const tarball = buildPackageTarball({ name: WIDE, version: '0.0.0' });
  const wide = Array.from({ length: WIDE_VERSIONS }, (_, i) => ({
    name: WIDE,
    version: `1.${i}.0`,
    tarball,
    // Brackets, quotes and escapes inside strings: the depth scan must skip them as the parser does.
    manifest: { name: WIDE, version: `1.${i}.0`, description: `[{"not": "nested"}] \\" ü ${'['.repeat(i)}` },
    trustedPublisher: i % 3 === 0,
    signatures: [{ keyid: 'SHA256:test', sig: `sig-${i}` }],
  }));
  registry = await startRegistry({ versions: [fixtureToRegistryVersion(loadFixturePackage(GOGGLES.name, GOGGLES.version)), ...wide] });
});

afterEach(async () => {
  for (const thread of threads.splice(0)) await (thread as any).worker?.terminate();
});

afterAll(async () => {
  await registry.close();
});

describe('the packument worker', () => {
  it('answers the facts the main thread reads from the same bytes (a real package with attestations, and a packument of 80 versions)', async () => {
    const thread = threadOf();
    for (const [name, version] of [
      [GOGGLES.name, GOGGLES.version],
      [WIDE, '1.40.0'],
    ]) {
      const pkg = lookup(name, version);
      const expected = readPackumentFacts(await served(name), pkg, urlOf(name), MAX_BYTES);
      const facts = await thread.read(await served(name), pkg, urlOf(name), MAX_BYTES);
      expect(facts).toEqual(expected);
      expect(facts.history).toBeInstanceOf(Map);
      expect(facts.publishedAt).toBeInstanceOf(Date);
    }
    // What the facts say, so that equal answers are not both empty.
    const goggles = await thread.read(await served(GOGGLES.name), lookup(GOGGLES.name, GOGGLES.version), urlOf(GOGGLES.name), MAX_BYTES);
    expect(goggles.attestationsUrl).toContain('/-/npm/v1/attestations/');
    const wide = await thread.read(await served(WIDE), lookup(WIDE, '1.3.0'), urlOf(WIDE), MAX_BYTES);
    expect(wide.history.size).toBe(WIDE_VERSIONS);
    expect([wide.history.get('1.3.0'), wide.history.get('1.4.0')]).toEqual(['trusted-publisher', 'none']);
    expect(wide.signatures).toEqual([{ keyid: 'SHA256:test', sig: 'sig-3' }]);
  });

  it("leaves the caller's bytes whole, a large body as a small one from Node's shared pool", async () => {
    const thread = threadOf();
    const large = (await served(WIDE)).bytes;
    const before = Buffer.from(large);
    expect(large.length).toBeGreaterThan(8192);
    expect((await thread.read({ bytes: large }, lookup(WIDE, '1.0.0'), urlOf(WIDE), MAX_BYTES)).history.size).toBe(WIDE_VERSIONS);
    expect(large.equals(before)).toBe(true);

    const text = JSON.stringify({ versions: { '1.0.0': {} } });
    const pooled = Buffer.from(text);
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    expect((await thread.read({ bytes: pooled }, lookup('small', '1.0.0'), 'http://r/small', MAX_BYTES)).history.get('1.0.0')).toBe('none');
    expect(pooled.toString('utf8')).toBe(text);
    expect(Buffer.from('the pool still works').toString()).toBe('the pool still works');
  });

  it('rejects with the coded error the main thread raises, same code, message, subject and URL', async () => {
    const thread = threadOf();
    const pkg = lookup('bad', '1.0.0');
    const url = urlOf('bad');
    const cases: Array<[string, string, number, string]> = [
      ['{"versions": {"1.0.0": ', ErrorCodes.SOURCE_FETCH_FAILED, MAX_BYTES, 'answer is not valid JSON'],
      [`{"versions":${'['.repeat(200)}${']'.repeat(200)}}`, ErrorCodes.DOCUMENT_TOO_DEEP, MAX_BYTES, 'nests deeper than 64 levels'],
      [JSON.stringify({ versions: { '1.0.0': { pad: 'x'.repeat(5000) } } }), ErrorCodes.SOURCE_FETCH_FAILED, 4096, 'exceeds the 4096-byte limit'],
      ['{"name":"bad"}', ErrorCodes.SOURCE_FETCH_FAILED, MAX_BYTES, 'packument has no `versions`'],
      ['{"versions":{"0.9.0":{}}}', ErrorCodes.SOURCE_FETCH_FAILED, MAX_BYTES, 'packument has no version 1.0.0'],
      ['{"versions":{"1.0.0":{"dist":{"attestations":{"url":7}}}}}', ErrorCodes.SOURCE_FETCH_FAILED, MAX_BYTES, '`dist.attestations.url` is not a string'],
    ];
    for (const [text, code, maxBytes, cause] of cases) {
      const expected = inProcessError(asServed(text), pkg, url, maxBytes);
      const error = await rejection(thread.read(asServed(text), pkg, url, maxBytes));
      expect(error).toEqual(expected);
      expect(error).toMatchObject({ instance: true, code, subject: 'bad@1.0.0', details: { url } });
      expect(error.message).toContain(`bad@1.0.0: `);
      expect(error.message).toContain(url);
      expect(error.message).toContain(cause);
    }
    // The worker is still there for the next package.
    expect((await thread.read(asServed('{"versions":{"1.0.0":{}}}'), pkg, url, MAX_BYTES)).url).toBe(url);
  });

  it('decodes a body kept encoded (gzip, deflate, br) to the facts of the decoded body; a bomb or a corrupt body is the coded error the main thread raises', async () => {
    const thread = threadOf();
    const { bytes } = await served(WIDE);
    const pkg = lookup(WIDE, '1.3.0');
    const expected = readPackumentFacts({ bytes }, pkg, urlOf(WIDE), MAX_BYTES);
    for (const [encoding, encoded] of [
      ['gzip', zlib.gzipSync(bytes)],
      ['deflate', zlib.deflateSync(bytes)],
      ['br', zlib.brotliCompressSync(bytes)],
    ] as const) {
      expect(await thread.read({ bytes: encoded, encoding }, pkg, urlOf(WIDE), MAX_BYTES)).toEqual(expected);
      expect(readPackumentFacts({ bytes: encoded, encoding }, pkg, urlOf(WIDE), MAX_BYTES)).toEqual(expected);
    }
    const url = urlOf('bad');
    const bad = lookup('bad', '1.0.0');
    const cases: Array<[EncodedBody, string]> = [
      [{ bytes: zlib.gzipSync(Buffer.alloc(MAX_BYTES + 1, 0x20)), encoding: 'gzip' }, `answer exceeds the ${MAX_BYTES}-byte limit once decoded`],
      [{ bytes: Buffer.concat([zlib.gzipSync(bytes).subarray(0, 40), Buffer.alloc(40, 7)]), encoding: 'gzip' }, 'the gzip answer cannot be decoded'],
      [{ bytes: Buffer.from('not brotli at all'), encoding: 'br' }, 'the br answer cannot be decoded'],
    ];
    for (const [body, cause] of cases) {
      const error = await rejection(thread.read(body, bad, url, MAX_BYTES));
      expect(error).toEqual(inProcessError(body, bad, url));
      expect(error).toMatchObject({ instance: true, code: ErrorCodes.SOURCE_FETCH_FAILED, subject: 'bad@1.0.0', details: { url } });
      expect(error.message).toContain(`bad@1.0.0: fetching ${url} failed: ${cause}`);
    }
  });

  it('starts no thread until the first packument', async () => {
    const thread = threadOf();
    expect((thread as any).worker).toBeUndefined();
    await thread.read(asServed('{"versions":{"1.0.0":{}}}'), lookup('a', '1.0.0'), 'http://r/a', MAX_BYTES);
    expect((thread as any).worker).toBeDefined();
  });
});

describe('a packument worker that fails', () => {
  const body = () => asServed('{"versions":{"1.0.0":{}}}');

  it('exits while packages wait: every one is answered, INTERNAL naming it, and the thread is no longer used', async () => {
    const thread = threadOf("require('worker_threads').parentPort.on('message', () => process.exit(7));");
    const errors = await Promise.all(['a', 'b', 'c'].map((name) => rejection(thread.read(body(), lookup(name, '1.0.0'), `http://r/${name}`, MAX_BYTES))));
    expect(errors.map(({ code, message }) => [code, message])).toEqual(['a', 'b', 'c'].map((name) => [ErrorCodes.INTERNAL, `${name}@1.0.0: the packument worker exited (code 7)`]));
    expect(thread.usable).toBe(false);
    expect((thread as any).pending.size).toBe(0);
  });

  it('fails as it starts: INTERNAL naming the package', async () => {
    const thread = threadOf("throw new Error('no memory for a thread');");
    const error = await rejection(thread.read(body(), lookup('a', '1.0.0'), 'http://r/a', MAX_BYTES));
    expect([error.code, error.message]).toEqual([ErrorCodes.INTERNAL, 'a@1.0.0: the packument worker failed: no memory for a thread']);
  });

  it('cannot be created: INTERNAL naming the package, nothing pending', async () => {
    const thread = threadOf(42);
    const error = await rejection(thread.read(body(), lookup('a', '1.0.0'), 'http://r/a', MAX_BYTES));
    expect(error.code).toBe(ErrorCodes.INTERNAL);
    expect(error.message).toMatch(/^a@1\.0\.0: the packument worker could not start: /);
    expect(thread.usable).toBe(false);
  });

  it('the reader then reads in-process, with the same facts', async () => {
    const thread = threadOf("require('worker_threads').parentPort.on('message', () => process.exit(1));");
    const read = packumentReader(readPackumentFacts, thread);
    const pkg = lookup(WIDE, '1.2.0');
    expect((await rejection(read(await served(WIDE), pkg, urlOf(WIDE), MAX_BYTES))).code).toBe(ErrorCodes.INTERNAL);
    expect(await read(await served(WIDE), pkg, urlOf(WIDE), MAX_BYTES)).toEqual(readPackumentFacts(await served(WIDE), pkg, urlOf(WIDE), MAX_BYTES));
  });
});

describe('the documents stage', () => {
  const global = globalThis as { __SIGSTORE_PACKUMENT_WORKER__?: string };
  afterEach(() => delete global.__SIGSTORE_PACKUMENT_WORKER__);

  const documents = () => new Documents({ transportFor: () => transport, maxResponseBytes: MAX_BYTES, concurrency: 4 });
  const ref = (name: string, version: string) => ({ ...refOf(name, version), registry: registry.url, sources: registry.url });

  it('reads packuments on the packument worker the bundle carries: the facts, and its failure as a coded error', async () => {
    global.__SIGSTORE_PACKUMENT_WORKER__ = source;
    expect(await documents().packument(ref(WIDE, '1.5.0'))).toEqual(readPackumentFacts(await served(WIDE), lookup(WIDE, '1.5.0'), urlOf(WIDE), MAX_BYTES));

    // A worker that dies: the package fails closed; the next one is read in-process.
    global.__SIGSTORE_PACKUMENT_WORKER__ = "require('worker_threads').parentPort.on('message', () => process.exit(3));";
    const stage = documents();
    const error = await rejection(stage.packument(ref(WIDE, '1.6.0')));
    expect([error.code, error.message]).toEqual([ErrorCodes.INTERNAL, `${WIDE}@1.6.0: the packument worker exited (code 3)`]);
    expect((await stage.packument(ref(GOGGLES.name, GOGGLES.version))).attestationsUrl).toContain('/-/npm/v1/attestations/');
  });

  it('a served packument too deep is DOCUMENT_TOO_DEEP through the worker, naming the package and URL', async () => {
    global.__SIGSTORE_PACKUMENT_WORKER__ = source;
    registry.setRoute('/deep-one', { body: `{"versions":${'['.repeat(100)}${']'.repeat(100)}}`, contentType: 'application/json' });
    const error = await rejection(documents().packument(ref('deep-one', '1.0.0')));
    expect([error.code, error.message]).toEqual([ErrorCodes.DOCUMENT_TOO_DEEP, `deep-one@1.0.0: the document at ${registry.url}/deep-one nests deeper than 64 levels; refused`]);
  });
});
