/**
 * The hand-off to the verification worker: a document's bytes as served are
 * transferred (the worker parses them), never taken from the caller, and the
 * real worker entry verifies a document from its bytes as from its parsed form;
 * a queue of documents is spread over one worker per core.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Verifier, VerifierThread, type VerifierInputs } from '../../src/install/verify';
import type { VerificationOutcome } from '../../src/policy';
import { verifyPackageAttestations } from '../../src/verify';
import { createTrustContext, embeddedTrustMaterial } from '../../src/trust';
import { fixture, NPM_FIXTURES, subjectOf } from '../../testkit/verify-fixtures';

// A worker that answers with what it received: the document's kind and text.
const echo = `const { parentPort } = require('worker_threads');
parentPort.on('message', ({ id, document }) => parentPort.postMessage({ id, result: {
  bytes: document instanceof Uint8Array,
  text: document instanceof Uint8Array ? Buffer.from(document).toString('utf8') : JSON.stringify(document),
} }));`;

describe('the worker hand-off of a document', () => {
  const thread = new (VerifierThread as any)(echo, {}) as VerifierThread;
  const subject = { name: 'a', version: '1.0.0', sha512Hex: 'a'.repeat(128) };
  afterAll(() => (thread as any).worker?.terminate());

  it("hands bytes over as bytes and leaves the caller's buffer whole (a pooled one too)", async () => {
    const text = '{"attestations":[]}';
    // Buffer.from(string) of a short string is a view into Node's shared pool: a transfer of its memory would detach the pool.
    const pooled = Buffer.from(text);
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    expect(await thread.verify(pooled, subject)).toEqual({ bytes: true, text });
    expect(pooled.toString('utf8')).toBe(text);
    expect(Buffer.from('still usable').toString()).toBe('still usable');
  });

  it('hands a parsed document over by structured clone', async () => {
    expect(await thread.verify({ attestations: [] }, subject)).toEqual({ bytes: false, text: '{"attestations":[]}' });
  });
});

describe('verifying a document from its bytes', () => {
  const trust = createTrustContext(embeddedTrustMaterial());
  const pkg = fixture('gundam-visor', '1.0.1');

  it('verifies the same as from the parsed document (what the worker does with transferred bytes)', () => {
    const bytes = readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json'));
    const fromBytes = verifyPackageAttestations(new Uint8Array(bytes), subjectOf(pkg), trust);
    const fromParsed = verifyPackageAttestations(JSON.parse(bytes.toString('utf8')), subjectOf(pkg), trust);
    expect(fromBytes).toEqual(fromParsed);
    expect(fromBytes.provenance?.identity.san).toMatch(/^https:\/\/github.com\//);
  });

  it('reads bytes in place: a view into a larger buffer is parsed from its own range', () => {
    const bytes = readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json'));
    const framed = Buffer.concat([Buffer.from('garbage'), bytes, Buffer.from('more garbage')]);
    const view = new Uint8Array(framed.buffer, framed.byteOffset + 7, bytes.length);
    expect(verifyPackageAttestations(view, subjectOf(pkg), trust).provenanceCount).toBe(1);
  });
});

describe('the verification workers', () => {
  // A worker that answers after a while with its thread id, as a busy verifier would.
  const slow = `const { parentPort, threadId } = require('worker_threads');
parentPort.on('message', ({ id }) => setTimeout(() => parentPort.postMessage({ id, result: { threadId } }), 30));`;
  const verifierOf = () =>
    new Verifier(
      async () => ({ trust: {}, material: {}, verify: () => { throw new Error('not in-process'); } }) as unknown as VerifierInputs,
      () => new (VerifierThread as any)(slow, {}) as VerifierThread,
    );
  const subjectNo = (n: number) => ({ name: `p${n}`, version: '1.0.0', sha512Hex: 'a'.repeat(128) });
  const threadIds = (outcomes: VerificationOutcome[]) => new Set(outcomes.map((outcome) => (outcome.status === 'verified' ? (outcome.result as unknown as { threadId: number }).threadId : -1)));
  const stop = (verifier: Verifier) => (verifier as any).threads.forEach((thread: any) => thread.worker?.terminate());

  it('starts one worker for a few documents', async () => {
    const verifier = verifierOf();
    const outcomes = await Promise.all([1, 2, 3].map((n) => verifier.document({ document: {} }, subjectNo(n))));
    expect(verifier.workers).toBe(1);
    expect(threadIds(outcomes).size).toBe(1);
    stop(verifier);
  });

  it('spreads a queue of documents over one worker per core (at most 4), each answering its own', async () => {
    const verifier = verifierOf();
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, n) => verifier.document({ document: {} }, subjectNo(n))));
    const expected = Math.min(4, availableParallelism());
    expect(verifier.workers).toBe(expected);
    expect(threadIds(outcomes).size).toBe(expected);
    expect(threadIds(outcomes).has(-1)).toBe(false);
    stop(verifier);
  });
});
