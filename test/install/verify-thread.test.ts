/**
 * The hand-off to the verification worker: a document's bytes as served are
 * transferred (the worker parses them), never taken from the caller, and the
 * real worker entry verifies a document from its bytes as from its parsed form.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VerifierThread } from '../../src/install/verify';
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
