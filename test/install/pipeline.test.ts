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
import { reportSummary, VERIFICATION_CACHE_SOURCE } from '../../src/install/results';
import { InstallStore, verificationKey } from '../../src/install/store';
import { emptyLock, type PinLock } from '../../src/pins/model';
import { serializePinLock } from '../../src/pins/serialize';
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

/** The tarball digest of every document verification the pipeline asks for (undefined: the digest the document claims). */
function countVerifications(pipeline: ReturnType<typeof fakePipeline>): Array<string | undefined> {
  const verifier = (pipeline as unknown as { verifier: { document: (request: { sha512Hex?: string }) => Promise<unknown> } }).verifier;
  const document = verifier.document.bind(verifier);
  const digests: Array<string | undefined> = [];
  verifier.document = (request) => (digests.push(request.sha512Hex), document(request));
  return digests;
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
  it('stands for the gate\'s own for the claimed digest: the document is fetched once and verified once, early (the worker finds the digest as it parses)', async () => {
    const transport = new FakeTransport().signed(fixture);
    const pipeline = fakePipeline({ transport, store: new FakeStore() });
    const verified = countVerifications(pipeline);
    pipeline.prefetch(ref, undefined);
    await settled();
    await pipeline.judgePackage(ref, digest, new KeptPrinter(), false);
    expect(pipeline.results.get(ref.key)?.status).toBe('verified');
    expect(transport.documentRequests).toHaveLength(1);
    expect(verified).toEqual([undefined]);
  });

  it('is used only for that digest: a tarball of other bytes is verified again, with its own digest, and fails', async () => {
    const transport = new FakeTransport().signed(fixture);
    const pipeline = fakePipeline({ transport, store: new FakeStore() });
    const verified = countVerifications(pipeline);
    pipeline.prefetch(ref, undefined);
    await settled();
    expect(await codeOf(pipeline.judgePackage(ref, otherDigest, new KeptPrinter(), false))).toBe('SUBJECT_DIGEST_MISMATCH');
    expect(transport.documentRequests).toHaveLength(1);
    expect(verified).toEqual([undefined, otherDigest]);
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
    // tuf-js is neither pinned nor required to be signed: its packument is asked first (the fake registry does not know it).
    expect(transport.documentRequests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`]);
    expect(transport.requests.at(-1)).toBe(`${FAKE_REGISTRY}/tuf-js`);
  });
});

describe('an unsigned package', () => {
  const unsignedRef = refOf('left-pad', '1.3.0');

  it('cold: one request (its packument), allowed unsigned by zero-config, the answer remembered; warm: not asked while young enough', async () => {
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const store = new FakeStore();
    const cold = fakePipeline({ transport, store });
    await cold.judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    expect(cold.results.get(unsignedRef.key)?.status).toBe('allowed-unsigned');
    expect(transport.requests).toEqual([`${FAKE_REGISTRY}/left-pad`]);
    const warm = fakePipeline({ transport, store });
    await warm.judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    expect(warm.results.get(unsignedRef.key)).toMatchObject({ status: 'allowed-unsigned', source: expect.stringContaining('remembered answer') });
    expect(transport.requests).toHaveLength(1);
    // sigstoreUnsignedMaxAgeDays: 0 always asks.
    await fakePipeline({ transport, store, unsignedMaxAgeDays: 0 }).judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    expect(transport.requests).toHaveLength(2);
  });

  it('zero-config: the summary points to `policy init`, except where no project\'s policy can apply (yarn dlx outside any project)', async () => {
    const pipeline = fakePipeline({ transport: new FakeTransport().unsigned('left-pad', '1.3.0'), store: new FakeStore() });
    pipeline.results.announced.add(unsignedRef.key);
    await pipeline.judgePackage(unsignedRef, digest, new KeptPrinter(), false);
    const summaryLine = (outsideProject: boolean) => {
      const printer = new KeptPrinter(false);
      const evidencePath = join(scratchFolder(), 'evidence.json');
      reportSummary(pipeline.results, printer, 'completed', { policy: { notes: [], outsideProject } }, { evidencePath, project: '.' });
      return printer.lines.find((line) => line.includes('no trust policy found'));
    };
    expect(summaryLine(false)).toBe('sigstore: no trust policy found: unsigned packages are allowed; run `yarn sigstore policy init` to write one');
    expect(summaryLine(true)).toBe('sigstore: no trust policy found: unsigned packages are allowed (outside any project, no policy applies)');
  });

  it('is denied by a policy that requires provenance, with the policy\'s code', async () => {
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const pipeline = fakePipeline({ transport, store: new FakeStore(), policy: { version: 1, default: { require: 'provenance' } } });
    const code = await codeOf(pipeline.judgePackage(unsignedRef, digest, new KeptPrinter(), false));
    expect(code).toBeDefined();
    expect(pipeline.results.get(unsignedRef.key)?.status).toBe('failed');
  });
});

describe('the summary of denials an exception would resolve', () => {
  /** The summary's lines after judging these unsigned packages (name@version) under `policy`, with `lock` as sigstore.lock. */
  async function summaryAfter(packages: string[], policy: unknown, lock?: PinLock): Promise<string[]> {
    const transport = new FakeTransport();
    for (const id of packages) transport.unsigned(id.slice(0, id.lastIndexOf('@')), id.slice(id.lastIndexOf('@') + 1));
    const folder = scratchFolder();
    if (lock) writeFileSync(join(folder, 'sigstore.lock'), serializePinLock(lock));
    const pipeline = fakePipeline({ transport, store: new FakeStore(), policy, folder });
    for (const id of packages) {
      const ref = refOf(id.slice(0, id.lastIndexOf('@')), id.slice(id.lastIndexOf('@') + 1));
      pipeline.results.announced.add(ref.key);
      expect(await codeOf(pipeline.judgePackage(ref, digest, new KeptPrinter(), false))).toBe('POLICY_DENIED');
    }
    const printer = new KeptPrinter(false);
    reportSummary(pipeline.results, printer, 'failed', { policy: { notes: [] } }, { evidencePath: join(scratchFolder(), 'evidence.json'), project: '.' });
    return printer.lines;
  }

  it('names the packages the default rule denied in one `policy allow`, each once; not one a rule of its own or sigstore.lock says was signed', async () => {
    const policy = { version: 1, default: { require: 'provenance' }, rules: [{ packages: ['has-a-rule'], require: 'provenance' }] };
    const lock = emptyLock();
    const integrity = `sha512-${Buffer.from(digest, 'hex').toString('base64')}`;
    lock.packages.set('pinned-signed', { name: 'pinned-signed', versions: new Map([['1.0.0', { integrity, provenance: true }]]), identity: { repository: 'https://github.com/acme/pinned-signed' } });
    const lines = await summaryAfter(['zeta@1.0.0', 'alpha@1.0.0', 'alpha@2.0.0', 'has-a-rule@3.0.0', 'pinned-signed@2.0.0'], policy, lock);
    expect(lines).toContain('sigstore: to allow the 2 packages without provenance the default rule denied, once you accept them: yarn sigstore policy allow alpha zeta --reason "..."');
  });

  it('prints no such line for a single one: its own message names the command', async () => {
    const lines = await summaryAfter(['alpha@1.0.0', 'alpha@2.0.0'], { version: 1, default: { require: 'provenance' } });
    expect(lines.filter((line) => line.includes('policy allow'))).toEqual([]);
  });
});

describe('requests per package, cold', () => {
  const requireProvenance = (registrySignatures = 'when-present') => ({ version: 1, default: { require: 'none' }, rules: [{ packages: ['sigstore'], require: 'provenance', registrySignatures }] });
  /** npm's registry key of the fixture's publish time, as dist.signatures name it; the signature itself is not npm's. */
  const forgedSignature = [{ keyid: 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA', sig: 'MEUCIQDm8fVzwlzIC0BXqK4ekmsoB5ZlNn6ENSsOgXzLvGYYJgIgN0yFm5h36a4w56/dnX/7Eb1tZW3yrn3NXcHoi6RoT/Y=' }];

  it('a signed package its rule requires to be signed: one request (its attestations) under when-present; the registry signature is covered by the verified publish attestation', async () => {
    const transport = new FakeTransport().signed(fixture);
    const pipeline = fakePipeline({ transport, store: new FakeStore(), policy: requireProvenance() });
    await pipeline.judgePackage(ref, digest, new KeptPrinter(), false);
    const result = pipeline.results.get(ref.key);
    expect(result?.status).toBe('verified');
    expect(transport.requests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`]);
    expect(result?.registrySignature).toEqual({ status: 'covered', by: 'npm-publish-attestation', keyId: result?.verification?.publish?.keyId, source: transport.requests[0] });
    // A tarball of other bytes still fails on the attestations' subject.
    const other = fakePipeline({ transport, store: new FakeStore(), policy: requireProvenance() });
    expect(await codeOf(other.judgePackage(ref, otherDigest, new KeptPrinter(), false))).toBe('SUBJECT_DIGEST_MISMATCH');
  });

  it('under registrySignatures: require, the packument is still asked and its signature checked: a forged one fails, none fails', async () => {
    const forged = new FakeTransport().signed(fixture, undefined, forgedSignature);
    const pipeline = fakePipeline({ transport: forged, store: new FakeStore(), policy: requireProvenance('require') });
    expect(await codeOf(pipeline.judgePackage(ref, digest, new KeptPrinter(), false))).toBe('REGISTRY_SIGNATURE_INVALID');
    expect(forged.requests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`, `${FAKE_REGISTRY}/sigstore`]);
    const stripped = new FakeTransport().signed(fixture);
    const again = fakePipeline({ transport: stripped, store: new FakeStore(), policy: requireProvenance('require') });
    expect(await codeOf(again.judgePackage(ref, digest, new KeptPrinter(), false))).toBe('REGISTRY_SIGNATURE_MISSING');
  });

  it('a package neither pinned nor required to be signed whose packument announces attestations: they are fetched and verified, and the packument asked anyway is checked', async () => {
    const transport = new FakeTransport().signed(fixture, undefined, forgedSignature);
    const pipeline = fakePipeline({ transport, store: new FakeStore() });
    // The packument it had to ask carries a signature that does not verify: checked, not skipped.
    expect(await codeOf(pipeline.judgePackage(ref, digest, new KeptPrinter(), false))).toBe('REGISTRY_SIGNATURE_INVALID');
    expect(transport.requests).toEqual([`${FAKE_REGISTRY}/sigstore`, `${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`]);
    const mirror = new FakeTransport().signed(fixture);
    const plain = fakePipeline({ transport: mirror, store: new FakeStore() });
    await plain.judgePackage(ref, digest, new KeptPrinter(), false);
    expect(plain.results.get(ref.key)).toMatchObject({ status: 'verified', registrySignature: { status: 'absent' } });
    expect(mirror.requests).toHaveLength(2);
  });

  it('pinned as signed in sigstore.lock: one request; when its endpoint then 404s and the packument announces nothing, PIN_PROVENANCE_LOST', async () => {
    const folder = scratchFolder();
    const present = new Map([['sigstore', new Set(['1.0.0'])]]);
    const first = fakePipeline({ transport: new FakeTransport().signed(fixture), store: new FakeStore(), folder });
    first.judge.startPins(false);
    await first.judgePackage(ref, digest, new KeptPrinter(), true);
    first.judge.finishPins({ immutable: false, persist: true, present, report: () => {} });

    const transport = new FakeTransport().signed(fixture);
    const pinned = fakePipeline({ transport, store: new FakeStore(), folder });
    pinned.judge.startPins(false);
    await pinned.judgePackage(ref, digest, new KeptPrinter(), true);
    expect(pinned.results.get(ref.key)).toMatchObject({ status: 'verified', registrySignature: { status: 'covered' } });
    expect(transport.requests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`]);

    // A new version of the pinned package, served unsigned.
    const next = refOf('sigstore', '1.0.1');
    const stripped = new FakeTransport().unsigned('sigstore', '1.0.1');
    const lost = fakePipeline({ transport: stripped, store: new FakeStore(), folder });
    lost.judge.startPins(false);
    expect(await codeOf(lost.judgePackage(next, otherDigest, new KeptPrinter(), true))).toBe('PIN_PROVENANCE_LOST');
    expect(stripped.requests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.1`, `${FAKE_REGISTRY}/sigstore`]);
  });

  it('sigstoreNetworkConcurrency bounds the requests in flight, a package\'s second request taking no second slot', async () => {
    const transport = new FakeTransport();
    const names = Array.from({ length: 6 }, (_, index) => `pkg-${index}`);
    for (const name of names) transport.unsigned(name, '1.0.0');
    // The signed one asks its packument after its attestations (require), from the signals step: a slot of its own, ahead of the queue.
    transport.signed(fixture);
    const pipeline = fakePipeline({ transport, store: new FakeStore(), policy: requireProvenance('require'), concurrency: 2 });
    const refs = [ref, ...names.map((name) => refOf(name, '1.0.0'))];
    for (const each of refs) pipeline.prefetch(each, undefined);
    const judged = await Promise.allSettled(refs.map((each) => pipeline.judgePackage(each, digest, new KeptPrinter(), false)));
    expect(judged.map((outcome) => outcome.status)).toEqual(['rejected', ...names.map(() => 'fulfilled')]);
    expect(transport.requests).toHaveLength(refs.length + 1);
    expect(transport.maxInFlight).toBe(2);
    // One slot: a package required to be signed whose endpoint 404s asks its packument in the slot it holds (a second slot would never come).
    const single = new FakeTransport().unsigned('sigstore', '1.0.0');
    const one = fakePipeline({ transport: single, store: new FakeStore(), policy: requireProvenance(), concurrency: 1 });
    expect(await codeOf(one.judgePackage(ref, digest, new KeptPrinter(), false))).toBe('POLICY_DENIED');
    expect(single.requests).toEqual([`${FAKE_REGISTRY}/-/npm/v1/attestations/sigstore@1.0.0`, `${FAKE_REGISTRY}/sigstore`]);
    expect(single.maxInFlight).toBe(1);
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

  it('is read once per install: the read a question before the fetch step made (the prefetch) is the one the fetch step starts from', async () => {
    const folder = scratchFolder();
    const transport = new FakeTransport().unsigned('left-pad', '1.3.0');
    const present = new Map([['left-pad', new Set(['1.3.0'])]]);
    const first = fakePipeline({ transport, store: new FakeStore(), folder });
    first.judge.startPins(false);
    await first.judgePackage(unsignedRef, digest, new KeptPrinter(), true);
    first.judge.finishPins({ immutable: false, persist: true, present, report: () => {} });

    const next = fakePipeline({ transport, store: new FakeStore(), folder });
    expect(next.judge.expectsSigned('left-pad', '1.3.0')).toBe(false);
    // Not read again: a lock broken after that first read changes nothing for this install.
    writeFileSync(join(folder, 'sigstore.lock'), '{ not a lock');
    next.judge.startPins(true);
    expect(await codeOf(next.judgePackage(unsignedRef, otherDigest, new KeptPrinter(), true))).toBe('PIN_INTEGRITY_CHANGED');
    // That read is used once: starting the pins again reads the file as it is now.
    expect(await codeOf(Promise.resolve().then(() => next.judge.startPins(true)))).toBe('PIN_LOCK_INVALID');
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
