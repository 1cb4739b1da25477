/**
 * Hostile nesting and sizes in what the plugin parses: fetched documents (a
 * nesting cap before JSON.parse), the verification worker's hand-off (no
 * request stays pending when a document cannot be cloned), a deep policy
 * file and a deep sigstore.lock (coded errors, never a crash).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { parsePinLock } from '../../src/pins';
import { loadPolicy } from '../../src/policy';
import { MAX_JSON_DEPTH, nestingExceeds, parseJsonBody } from '../../src/sources/http';
import { VerifierThread } from '../../src/install/verify';

const nested = (depth: number, open = '[', close = ']') => `{"attestations":${open.repeat(depth)}${close.repeat(depth)}}`;

function thrown(run: () => unknown): SigstorePluginError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SigstorePluginError);
    return error as SigstorePluginError;
  }
  throw new Error('expected an error');
}

describe('the nesting cap on fetched JSON', () => {
  it('accepts a document nested exactly to the cap and refuses one level more, naming the package and URL', () => {
    // The outer object is one level: `depth` arrays inside it make depth + 1.
    expect(parseJsonBody(Buffer.from(nested(MAX_JSON_DEPTH - 1)), 1e6, 'a@1.0.0', 'http://r/a')).toBeTruthy();
    const error = thrown(() => parseJsonBody(Buffer.from(nested(MAX_JSON_DEPTH)), 1e6, 'a@1.0.0', 'http://r/a'));
    expect(error.code).toBe(ErrorCodes.DOCUMENT_TOO_DEEP);
    expect(error.message).toContain('a@1.0.0');
    expect(error.message).toContain('http://r/a');
  });

  it('refuses the 200,000-level document of the report (400 KB) without a stack overflow', () => {
    const body = Buffer.from(nested(200_000, '{"a":', '}'));
    expect(thrown(() => parseJsonBody(body, 1e7, 'deep@1.0.0', 'http://r/deep')).code).toBe(ErrorCodes.DOCUMENT_TOO_DEEP);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[{{{{\\"[[[[', t: '"]]]]' + '['.repeat(1000) });
    expect(nestingExceeds(Buffer.from(text), 2)).toBe(false);
    expect(nestingExceeds(Buffer.from('[[["x"]]]'), 2)).toBe(true);
  });
});

describe('the verification worker hand-off', () => {
  // The thread as the plugin builds it, with a worker that answers every request it receives.
  const echo = "const { parentPort } = require('worker_threads'); parentPort.on('message', ({ id }) => parentPort.postMessage({ id, result: { ok: true } }));";
  const thread = new (VerifierThread as any)(echo, {}) as VerifierThread;
  const pending = () => (thread as any).pending.size as number;

  it('rejects, with a code, a document that cannot be cloned to the worker, and leaves nothing pending', async () => {
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const request = { url: 'http://r/deep', maxBytes: 1e7, name: 'deep', version: '1.0.0', sha512Hex: 'a'.repeat(128) };
    const error = await thread.verify({ ...request, document: deep }).then(
      () => undefined,
      (e: unknown) => e as SigstorePluginError,
    );
    expect(error?.code).toBe(ErrorCodes.INTERNAL);
    expect(error?.message).toContain('deep@1.0.0');
    expect(pending()).toBe(0);
    // The worker still answers the next request.
    expect(await thread.verify({ ...request, document: { attestations: [] }, name: 'next' })).toEqual({ ok: true });
    expect(pending()).toBe(0);
  });
});

describe('deep local files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hostile-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a policy nested 200,000 levels deep is POLICY_INVALID', async () => {
    const file = path.join(dir, 'sigstore-policy.json');
    writeFileSync(file, `{"version":1,"rules":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    const error = await loadPolicy(dir).then(
      () => undefined,
      (e: unknown) => e as SigstorePluginError,
    );
    expect(error).toBeInstanceOf(SigstorePluginError);
    expect(error?.code).toBe(ErrorCodes.POLICY_INVALID);
  });

  it('a sigstore.lock nested 100,000 levels deep is PIN_LOCK_INVALID', () => {
    const text = `"lib@npm:1.0.0":\n  x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    expect(thrown(() => parsePinLock(text)).code).toBe(ErrorCodes.PIN_LOCK_INVALID);
  });
});
