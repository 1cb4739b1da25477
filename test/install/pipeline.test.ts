/**
 * The install pipeline without Yarn: a fake transport, a fake (or real,
 * temporary) store, real fixtures verified against the embedded trust
 * material. Each test is one or two installs of one package.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRecord } from '../../src/install/record-files';
import { VERIFICATION_CACHE_SOURCE } from '../../src/install/results';
import { InstallStore, verificationKey } from '../../src/install/store';
import { loadFixturePackage } from '../../testkit/fixtures';
import { FAKE_REGISTRY, FakeStore, FakeTransport, KeptPrinter, fakePipeline, refOf, scratchFolder, temporaryRecordKey } from '../../testkit/pipeline';
import { createTrustContext, embeddedTrustMaterial } from '../../src/trust';

const fixture = loadFixturePackage('sigstore', '1.0.0');
const digest = createHash('sha512').update(fixture.tarball).digest('hex');
const otherDigest = createHash('sha512').update('other bytes').digest('hex');
const ref = refOf(fixture.name, fixture.version);
/** The embedded trust material's digest, as the pipeline keys results by it. */
const trustDigest = createTrustContext(embeddedTrustMaterial()).digest;

/** The coded error a judged package threw. */
async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

/** Waits until nothing the pipeline started is pending (the early verification runs on promises). */
const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('a signed package', () => {
  it('cold: one request, verified, the result remembered under its content key', async () => {
    const transport = new FakeTransport().signed(fixture);
    const store = new FakeStore();
    const pipeline = fakePipeline({ transport, store });
    const printer = new KeptPrinter();
    await pipeline.judgePackage(ref, digest, printer, false);
    expect(pipeline.results.get(ref.key)).toMatchObject({ status: 'verified', tgzSha512: digest, source: expect.stringContaining('/-/npm/v1/attestations/') });
    expect(transport.documentRequests).toHaveLength(1);
    expect(store.remembered.filter((kind) => kind === 'verified')).toHaveLength(1);
    expect(printer.events).toEqual([expect.objectContaining({ type: 'sigstore-package', status: 'verified', name: 'sigstore' })]);
  });

  it('warm, without recheck: the result cached for these bytes, no request; another digest misses and is verified afresh (and fails)', async () => {
    const transport = new FakeTransport().signed(fixture);
    const store = new FakeStore();
    await fakePipeline({ transport, store }).judgePackage(ref, digest, new KeptPrinter(), false);
    const warm = fakePipeline({ transport, store });
    await warm.judgePackage(ref, digest, new KeptPrinter(), false);
    expect(warm.results.get(ref.key)).toMatchObject({ status: 'verified', source: VERIFICATION_CACHE_SOURCE });
    expect(transport.documentRequests).toHaveLength(1);
    expect(store.hits('verified')).toBe(1);

    const other = fakePipeline({ transport, store });
    expect(await codeOf(other.judgePackage(ref, otherDigest, new KeptPrinter(), false))).toBe('SUBJECT_DIGEST_MISMATCH');
    expect(transport.documentRequests).toHaveLength(2);
    expect(other.results.get(ref.key)).toMatchObject({ status: 'failed', error: { code: 'SUBJECT_DIGEST_MISMATCH' } });
  });

  it('warm, with recheck: the document is asked again and the result found under the document key', async () => {
    const transport = new FakeTransport().signed(fixture);
    const store = new FakeStore();
    await fakePipeline({ transport, store, recheck: true }).judgePackage(ref, digest, new KeptPrinter(), false);
    // Under the document key, and the content key (turning recheck off is warm at once).
    expect(store.remembered.filter((kind) => kind === 'verified')).toHaveLength(2);
    const warm = fakePipeline({ transport, store, recheck: true });
    await warm.judgePackage(ref, digest, new KeptPrinter(), false);
    expect(transport.documentRequests).toHaveLength(2);
    expect(warm.results.get(ref.key)?.status).toBe('verified');
    expect(store.hits('verified')).toBe(1);
  });

  it('a document whose signature does not verify fails with its code, and nothing is remembered', async () => {
    const tampered = loadFixturePackage('@laurentsimon/provenance-npm-test', '1.0.3');
    const transport = new FakeTransport().signed(tampered, tampered.invalidSigProvBytes);
    const store = new FakeStore();
    const pipeline = fakePipeline({ transport, store });
    const tamperedRef = refOf(tampered.name, tampered.version);
    const code = await codeOf(pipeline.judgePackage(tamperedRef, createHash('sha512').update(tampered.tarball).digest('hex'), new KeptPrinter(), false));
    expect(code).toMatch(/^[A-Z_]+$/);
    expect(pipeline.results.get(tamperedRef.key)).toMatchObject({ status: 'failed', error: { code } });
    expect(store.remembered).not.toContain('verified');
  });

  it('a source that fails is a coded failure, never "unsigned"', async () => {
    const transport = new FakeTransport();
    transport.failing.add(`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`);
    const pipeline = fakePipeline({ transport, store: new FakeStore() });
    expect(await codeOf(pipeline.judgePackage(ref, digest, new KeptPrinter(), false))).toBe('SOURCE_FETCH_FAILED');
    expect(pipeline.results.get(ref.key)?.status).toBe('failed');
  });
});

describe('early verification (started when the document arrives, for the digest it claims)', () => {
  it('stands for the gate\'s own for that digest: the document is fetched once', async () => {
    const transport = new FakeTransport().signed(fixture);
    const pipeline = fakePipeline({ transport, store: new FakeStore() });
    pipeline.prefetch(ref, undefined);
    await settled();
    await pipeline.judgePackage(ref, digest, new KeptPrinter(), false);
    expect(pipeline.results.get(ref.key)?.status).toBe('verified');
    expect(transport.documentRequests).toHaveLength(1);
  });

  it('is used only for that digest: a tarball of other bytes is verified again, with its own digest, and fails', async () => {
    const transport = new FakeTransport().signed(fixture);
    const pipeline = fakePipeline({ transport, store: new FakeStore() });
    pipeline.prefetch(ref, undefined);
    await settled();
    expect(await codeOf(pipeline.judgePackage(ref, otherDigest, new KeptPrinter(), false))).toBe('SUBJECT_DIGEST_MISMATCH');
    expect(transport.documentRequests).toHaveLength(1);
  });

  it('is not started for an archive bound to a cached result (warm prefetch asks nothing)', async () => {
    const transport = new FakeTransport().signed(fixture);
    const store = new FakeStore();
    await fakePipeline({ transport, store }).judgePackage(ref, digest, new KeptPrinter(), false);
    const zipSha512 = 'ab'.repeat(64);
    store.remember('binding', { zipSha512 }, { zipSha512, tgzSha512: digest, name: fixture.name, version: fixture.version });
    const warm = fakePipeline({ transport, store });
    warm.prefetch(ref, zipSha512);
    await settled();
    expect(transport.documentRequests).toHaveLength(1);
    // A binding for another package does not make it warm.
    const other = refOf('tuf-js', '1.0.0');
    warm.prefetch(other, zipSha512);
    await settled();
    expect(transport.documentRequests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`, `${FAKE_REGISTRY}/-/npm/v1/attestations/tuf-js@1.0.0`]);
  });
});

describe('an unsigned package', () => {
  const unsignedRef = refOf('left-pad', '1.3.0');

  it('cold: asked (endpoint, then packument), allowed unsigned by zero-config, the answer remembered; warm: not asked while young enough', async () => {
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const store = new FakeStore();
    const cold = fakePipeline({ transport, store });
    await cold.judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    expect(cold.results.get(unsignedRef.key)?.status).toBe('allowed-unsigned');
    expect(transport.requests).toHaveLength(2);
    const warm = fakePipeline({ transport, store });
    await warm.judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    expect(warm.results.get(unsignedRef.key)).toMatchObject({ status: 'allowed-unsigned', source: expect.stringContaining('remembered answer') });
    expect(transport.requests).toHaveLength(2);
    // sigstoreUnsignedMaxAgeDays: 0 always asks.
    await fakePipeline({ transport, store, unsignedMaxAgeDays: 0 }).judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    expect(transport.requests).toHaveLength(4);
  });

  it('is denied by a policy that requires provenance, with the policy\'s code', async () => {
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const pipeline = fakePipeline({ transport, store: new FakeStore(), policy: { version: 1, default: { require: 'provenance' } } });
    const code = await codeOf(pipeline.judgePackage(unsignedRef, digest, new KeptPrinter(), false));
    expect(code).toBeDefined();
    expect(pipeline.results.get(unsignedRef.key)?.status).toBe('failed');
  });
});

describe('pins (sigstore.lock)', () => {
  const unsignedRef = refOf('left-pad', '1.3.0');

  it('a first install pins, a second with the same bytes agrees, one with other bytes is denied with PIN_INTEGRITY_CHANGED', async () => {
    const folder = scratchFolder();
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const present = new Map([['left-pad', new Set(['1.3.0'])]]);
    const first = fakePipeline({ transport, store: new FakeStore(), folder });
    first.judge.startPins(false);
    await first.judgePackage(unsignedRef, digest, new KeptPrinter(), true);
    const pinned: string[] = [];
    first.judge.finishPins({ immutable: false, persist: true, present, report: (pins) => pinned.push(...pins.map((pin) => pin.name)) });
    expect(pinned).toEqual(['left-pad']);
    expect(readFileSync(join(folder, 'sigstore.lock'), 'utf8')).toContain('left-pad');

    const same = fakePipeline({ transport, store: new FakeStore(), folder });
    same.judge.startPins(true);
    await same.judgePackage(unsignedRef, digest, new KeptPrinter(), true);
    same.judge.finishPins({ immutable: true, persist: false, present, report: () => {} });

    const changed = fakePipeline({ transport, store: new FakeStore(), folder });
    changed.judge.startPins(false);
    expect(await codeOf(changed.judgePackage(unsignedRef, otherDigest, new KeptPrinter(), true))).toBe('PIN_INTEGRITY_CHANGED');
    // Not pinned (a platform package): the pin is not consulted.
    const unpinned = fakePipeline({ transport, store: new FakeStore(), folder });
    await unpinned.judgePackage(unsignedRef, otherDigest, new KeptPrinter(), false);
    expect(unpinned.results.get(unsignedRef.key)?.status).toBe('allowed-unsigned');
  });

  it('under --immutable, a lock this install would create fails with PIN_LOCK_STALE; a broken lock with PIN_LOCK_INVALID', async () => {
    const folder = scratchFolder();
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const pipeline = fakePipeline({ transport, store: new FakeStore(), folder });
    pipeline.judge.startPins(false);
    await pipeline.judgePackage(unsignedRef, digest, new KeptPrinter(), true);
    expect(await codeOf(Promise.resolve().then(() => pipeline.judge.finishPins({ immutable: true, persist: false, present: new Map([['left-pad', new Set(['1.3.0'])]]), report: () => {} })))).toBe('PIN_LOCK_STALE');
    writeFileSync(join(folder, 'sigstore.lock'), '{ not a lock');
    const broken = fakePipeline({ transport, store: new FakeStore(), folder });
    expect(await codeOf(Promise.resolve().then(() => broken.judge.startPins(false)))).toBe('PIN_LOCK_INVALID');
  });
});

describe('poisoned records in the real store', () => {
  const scratch = temporaryRecordKey({ beforeAll, afterAll }, 'sigstore-poison-');
  const storeIn = (name: string) => new InstallStore({ records: join(scratch.folder(), name, 'records.json'), projects: join(scratch.folder(), name, 'projects'), projectPath: '/project' });

  /** A genuine install's records, then `change` applied to the body: with the user's key (`remac`) or reusing the genuine MAC. */
  async function poisoned(name: string, change: (body: { verified: Record<string, { value: { subject: unknown } }> }) => void, remac: boolean) {
    const transport = new FakeTransport().signed(fixture);
    const genuine = storeIn(name);
    await fakePipeline({ transport, store: genuine }).judgePackage(ref, digest, new KeptPrinter(), false);
    await genuine.flush();
    const file = join(scratch.folder(), name, 'records.json');
    const { mac, body } = JSON.parse(readFileSync(file, 'utf8'));
    const parsed = JSON.parse(body);
    change(parsed);
    if (remac) await writeRecord(file, parsed);
    else writeFileSync(file, JSON.stringify({ mac, body: JSON.stringify(parsed) }));
    return transport;
  }

  it('a result rewritten for a forged tarball under its content key, the genuine MAC reused: the file is ignored, the document verified, SUBJECT_DIGEST_MISMATCH', async () => {
    const forged = { name: fixture.name, version: fixture.version, sha512Hex: otherDigest };
    const transport = await poisoned('forged-mac', (body) => {
      const [genuine] = Object.values(body.verified);
      body.verified[verificationKey(forged, trustDigest)] = { ...genuine, value: { ...genuine.value, subject: forged } };
    }, false);
    const pipeline = fakePipeline({ transport, store: storeIn('forged-mac') });
    expect(await codeOf(pipeline.judgePackage(ref, otherDigest, new KeptPrinter(), false))).toBe('SUBJECT_DIGEST_MISMATCH');
    expect(transport.documentRequests).toHaveLength(2);
  });

  it('a genuine result filed under a forged tarball\'s key (even with a valid MAC) does not answer for it', async () => {
    const forged = { name: fixture.name, version: fixture.version, sha512Hex: otherDigest };
    const transport = await poisoned('moved', (body) => {
      const [genuine] = Object.values(body.verified);
      body.verified[verificationKey(forged, trustDigest)] = genuine;
    }, true);
    const pipeline = fakePipeline({ transport, store: storeIn('moved') });
    expect(await codeOf(pipeline.judgePackage(ref, otherDigest, new KeptPrinter(), false))).toBe('SUBJECT_DIGEST_MISMATCH');
    // The genuine bytes are still answered from the store, without a request.
    const warm = fakePipeline({ transport, store: storeIn('moved') });
    await warm.judgePackage(ref, digest, new KeptPrinter(), false);
    expect(warm.results.get(ref.key)?.source).toBe(VERIFICATION_CACHE_SOURCE);
  });
});
