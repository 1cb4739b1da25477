/**
 * The hand-off to the verification worker: a document's bytes as served are
 * transferred (the worker parses them), never taken from the caller, and the
 * real worker entry verifies a document from its bytes as from its parsed form;
 * a queue of documents is spread over one worker per core.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../../scripts/workers';
import { verifyDocument } from '../../src/install/document-verification';
import { Verifier, VerifierThread, type VerifierInputs } from '../../src/install/verify';
import { ErrorCodes } from '../../src/errors';
import type { VerificationOutcome } from '../../src/policy';
import { verifyPackageAttestations } from '../../src/verify';
import { createTrustContext, embeddedTrustMaterial } from '../../src/trust';
import { codeOf, fixture, NPM_FIXTURES, subjectOf } from '../../testkit/verify-fixtures';

// A worker that answers with what it received: the document's kind and text.
const echo = `const { parentPort } = require('worker_threads');
parentPort.on('message', ({ id, document }) => parentPort.postMessage({ id, result: {
  bytes: document instanceof Uint8Array,
  text: document instanceof Uint8Array ? Buffer.from(document).toString('utf8') : JSON.stringify(document),
} }));`;

describe('the worker hand-off of a document', () => {
  const thread = new (VerifierThread as any)(echo, {}) as VerifierThread;
  const request = { url: 'http://r/a', maxBytes: 1e6, name: 'a', version: '1.0.0', sha512Hex: 'a'.repeat(128) };
  afterAll(() => (thread as any).worker?.terminate());

  it("hands bytes over as bytes and leaves the caller's buffer whole (a pooled one too)", async () => {
    const text = '{"attestations":[]}';
    // Buffer.from(string) of a short string is a view into Node's shared pool: a transfer of its memory would detach the pool.
    const pooled = Buffer.from(text);
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    expect(await thread.verify({ ...request, document: pooled })).toEqual({ bytes: true, text });
    expect(pooled.toString('utf8')).toBe(text);
    expect(Buffer.from('still usable').toString()).toBe('still usable');
  });

  it('hands a parsed document over by structured clone', async () => {
    expect(await thread.verify({ ...request, document: { attestations: [] } })).toEqual({ bytes: false, text: '{"attestations":[]}' });
  });
});

describe('verifying a document from its bytes', () => {
  const trust = createTrustContext(embeddedTrustMaterial());
  const pkg = fixture('gundam-visor', '1.0.1');
  const request = { url: 'http://r/a', maxBytes: 1e6, name: pkg.name, version: pkg.version, sha512Hex: subjectOf(pkg).sha512Hex };

  it('verifies the same as from the parsed document (what the worker does with transferred bytes)', () => {
    const bytes = readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json'));
    const fromBytes = verifyDocument({ ...request, document: new Uint8Array(bytes) }, trust, verifyPackageAttestations).result;
    const fromParsed = verifyPackageAttestations(JSON.parse(bytes.toString('utf8')), subjectOf(pkg), trust);
    expect(fromBytes).toEqual(fromParsed);
    expect(fromBytes?.provenance?.identity.san).toMatch(/^https:\/\/github.com\//);
  });

  it('reads bytes in place: a view into a larger buffer is parsed from its own range', () => {
    const bytes = readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json'));
    const framed = Buffer.concat([Buffer.from('garbage'), bytes, Buffer.from('more garbage')]);
    const view = new Uint8Array(framed.buffer, framed.byteOffset + 7, bytes.length);
    expect(verifyDocument({ ...request, document: view }, trust, verifyPackageAttestations).result?.provenanceCount).toBe(1);
  });
});

describe('a document verified where it is parsed (document-verification.ts)', () => {
  const trust = createTrustContext(embeddedTrustMaterial());
  const pkg = fixture('gundam-visor', '1.0.1');
  const bytes = readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json'));
  const request = { document: bytes, url: 'http://r/-/npm/v1/attestations/x', maxBytes: 1e6, name: pkg.name, version: pkg.version };
  const real = subjectOf(pkg).sha512Hex;

  it('without a digest, verifies for the one the document claims (an early verification), and says which', () => {
    const answer = verifyDocument(request, trust, verifyPackageAttestations);
    expect(answer.sha512Hex).toBe(real);
    expect(answer.result).toEqual(verifyPackageAttestations(JSON.parse(bytes.toString('utf8')), subjectOf(pkg), trust));
    expect(answer.signatures).toBeUndefined();
  });

  it('with the tarball\'s digest, verifies for that one: another digest fails as SUBJECT_DIGEST_MISMATCH', () => {
    expect(verifyDocument({ ...request, sha512Hex: real }, trust, verifyPackageAttestations).result?.provenanceCount).toBe(1);
    expect(codeOf(() => verifyDocument({ ...request, sha512Hex: 'b'.repeat(128) }, trust, verifyPackageAttestations))).toBe(ErrorCodes.SUBJECT_DIGEST_MISMATCH);
  });

  it('verifies nothing for a document that claims no digest for this package, and hands back the signatures it carries', () => {
    let verified = 0;
    const answer = verifyDocument({ ...request, name: 'another-package' }, trust, () => (verified++, {} as never));
    expect([answer.sha512Hex, answer.result, verified]).toEqual([undefined, undefined, 0]);
    const signatures = [{ keyid: 'k', sig: 's' }];
    const carried = Buffer.from(JSON.stringify({ ...JSON.parse(bytes.toString('utf8')), signatures }));
    expect(verifyDocument({ ...request, document: carried }, trust, verifyPackageAttestations).signatures).toEqual(signatures);
  });

  it('refuses as every source does, naming the package and the URL: invalid JSON, too deep, too large', () => {
    const refusal = (document: Buffer, maxBytes = 1e6) => {
      try {
        verifyDocument({ ...request, document, maxBytes }, trust, verifyPackageAttestations);
        return undefined;
      } catch (error) {
        return [(error as { code?: string }).code, (error as Error).message];
      }
    };
    expect(refusal(Buffer.from('{"attestations": ['))).toEqual([ErrorCodes.SOURCE_FETCH_FAILED, expect.stringMatching(/^gundam-visor@1\.0\.1: fetching http:\/\/r\/-\/npm\/v1\/attestations\/x failed: answer is not valid JSON/)]);
    expect(refusal(Buffer.from(`{"attestations":${'['.repeat(100)}${']'.repeat(100)}}`))).toEqual([ErrorCodes.DOCUMENT_TOO_DEEP, 'gundam-visor@1.0.1: the document at http://r/-/npm/v1/attestations/x nests deeper than 64 levels; refused']);
    expect(refusal(bytes, 100)).toEqual([ErrorCodes.SOURCE_FETCH_FAILED, expect.stringContaining(`answer of ${bytes.length} bytes exceeds the 100-byte limit`)]);
  });
});

describe('the real verification worker, built as the plugin builds it', () => {
  let source: string;
  beforeAll(async () => {
    source = await buildWorker('verification worker');
  });
  const pkg = fixture('gundam-visor', '1.0.1');
  const bytes = readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json'));
  const request = { document: bytes, url: 'http://r/a', maxBytes: 1e6, name: pkg.name, version: pkg.version };

  it('parses the bytes, verifies for the claimed digest or the given one, and sends refusals back coded', async () => {
    const verifier = new Verifier(
      async () => ({ trust: {}, material: embeddedTrustMaterial(), verify: () => { throw new Error('not in-process'); } }) as unknown as VerifierInputs,
      (material) => new (VerifierThread as any)(source, material) as VerifierThread,
    );
    try {
      const early = await verifier.document(request);
      expect(early).toMatchObject({ sha512Hex: subjectOf(pkg).sha512Hex, outcome: { status: 'verified', result: { provenanceCount: 1 } } });
      const other = await verifier.document({ ...request, sha512Hex: 'b'.repeat(128) });
      expect(other).toMatchObject({ sha512Hex: 'b'.repeat(128), outcome: { status: 'failed', error: { code: ErrorCodes.SUBJECT_DIGEST_MISMATCH } } });
      const invalid = await verifier.document({ ...request, document: Buffer.from('not json') });
      expect(invalid).toMatchObject({ sha512Hex: undefined, outcome: { status: 'failed', error: { code: ErrorCodes.SOURCE_FETCH_FAILED, message: expect.stringContaining('gundam-visor@1.0.1: fetching http://r/a failed') } } });
      expect(Buffer.from(bytes).equals(readFileSync(join(NPM_FIXTURES, pkg.dir, 'attestations.json')))).toBe(true);
    } finally {
      (verifier as any).threads.forEach((thread: any) => thread.worker?.terminate());
    }
  });
});

describe('the verification workers', () => {
  // A worker that answers after a while with its thread id, as a busy verifier would.
  const slow = `const { parentPort, threadId } = require('worker_threads');
parentPort.on('message', ({ id, sha512Hex }) => setTimeout(() => parentPort.postMessage({ id, result: { sha512Hex, result: { threadId } } }), 30));`;
  const verifierOf = () =>
    new Verifier(
      async () => ({ trust: {}, material: {}, verify: () => { throw new Error('not in-process'); } }) as unknown as VerifierInputs,
      () => new (VerifierThread as any)(slow, {}) as VerifierThread,
    );
  const requestNo = (n: number) => ({ document: {}, url: 'http://r/p', maxBytes: 1e6, name: `p${n}`, version: '1.0.0', sha512Hex: 'a'.repeat(128) });
  const threadIds = (answers: Array<{ outcome: VerificationOutcome }>) => new Set(answers.map(({ outcome }) => (outcome.status === 'verified' ? (outcome.result as unknown as { threadId: number }).threadId : -1)));
  const stop = (verifier: Verifier) => (verifier as any).threads.forEach((thread: any) => thread.worker?.terminate());

  it('starts one worker for a few documents', async () => {
    const verifier = verifierOf();
    const outcomes = await Promise.all([1, 2, 3].map((n) => verifier.document(requestNo(n))));
    expect(verifier.workers).toBe(1);
    expect(threadIds(outcomes).size).toBe(1);
    stop(verifier);
  });

  it('spreads a queue of documents over one worker per core (at most 4), each answering its own', async () => {
    const verifier = verifierOf();
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, n) => verifier.document(requestNo(n))));
    const expected = Math.min(4, availableParallelism());
    expect(verifier.workers).toBe(expected);
    expect(threadIds(outcomes).size).toBe(expected);
    expect(threadIds(outcomes).has(-1)).toBe(false);
    stop(verifier);
  });
});
