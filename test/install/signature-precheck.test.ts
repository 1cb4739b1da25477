/**
 * Registry signatures checked ahead, where the packument is read: the check
 * is the one verifyRegistrySignatures makes for the integrity the packument
 * claims, and the install takes it only for a tarball of exactly that digest,
 * at that time, with those keys (a tampered tarball is checked again).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors';
import { registrySignals, type RegistrySignalsInput } from '../../src/install/registry-signals';
import { PACKUMENT_PUBLISH_TIME, precheckSignature, precheckedFor } from '../../src/install/signature-precheck';
import type { PackumentFacts } from '../../src/sources/types';
import { createTrustContext, trustedNpmKeys } from '../../src/trust';
import { checkRegistrySignatures, integrityOfSha512Hex } from '../../src/verify/registry-signature';
import { MockSigstore } from '../../testkit/signer';

const mock = await MockSigstore.create({ npmKeyValidFor: { start: new Date('2019-01-01T00:00:00Z') } });
const material = mock.trustMaterial();
const trust = createTrustContext(material);
const keys = { digest: trust.digest, npmKeys: material.npmKeys };
const pkg = { name: 'p', version: '1.1.0', registry: 'http://r' };
const published = createHash('sha512').update('the published tarball').digest('hex');
const other = createHash('sha512').update('another tarball').digest('hex');
const publishedAt = new Date('2020-01-01T00:00:00Z');

function facts(extra: Partial<PackumentFacts> = {}): PackumentFacts {
  return {
    url: 'http://r/p',
    publishedAt,
    history: new Map([['1.1.0', 'none']]),
    integrity: integrityOfSha512Hex(published),
    signatures: [mock.registrySignature('p', '1.1.0', integrityOfSha512Hex(published))],
    ...extra,
  };
}

describe('precheckSignature (the packument worker)', () => {
  it('checks the signatures for the claimed integrity, at the publish time, as the main thread would', () => {
    const checked = precheckSignature(facts(), pkg, keys);
    const expected = checkRegistrySignatures({ ...pkg, sha512Hex: published, signatures: facts().signatures, keys: trustedNpmKeys(trust), time: publishedAt, timeSource: PACKUMENT_PUBLISH_TIME, source: 'http://r/p' });
    expect(checked.signatureCheck).toEqual({ sha512Hex: published, timeMs: publishedAt.getTime(), keysDigest: trust.digest, check: expected });
    expect(expected).toEqual({ verified: { keyId: mock.npmKeyId, integrity: integrityOfSha512Hex(published) } });
  });

  it('keeps a failure as data: a signature over other bytes is REGISTRY_SIGNATURE_INVALID', () => {
    const forged = facts({ signatures: [mock.registrySignature('p', '1.1.0', integrityOfSha512Hex(other))] });
    expect(precheckSignature(forged, pkg, keys).signatureCheck?.check).toEqual({ failed: { code: ErrorCodes.REGISTRY_SIGNATURE_INVALID, message: expect.stringContaining('p@1.1.0: registry signature by key') } });
  });

  it('checks nothing without signatures, a publish time, a sha512 integrity or the keys\' material', () => {
    expect(precheckSignature(facts({ signatures: undefined }), pkg, keys).signatureCheck).toBeUndefined();
    expect(precheckSignature(facts({ publishedAt: undefined }), pkg, keys).signatureCheck).toBeUndefined();
    expect(precheckSignature(facts({ integrity: 'sha1-' + Buffer.alloc(20).toString('base64') }), pkg, keys).signatureCheck).toBeUndefined();
    expect(precheckSignature(facts(), pkg, { digest: 'never given' }).signatureCheck).toBeUndefined();
  });

  it('keeps the keys it was given by digest: later packuments need only the digest', () => {
    const digest = `${trust.digest}-again`;
    expect(precheckSignature(facts(), pkg, { digest, npmKeys: material.npmKeys }).signatureCheck?.check).toHaveProperty('verified');
    expect(precheckSignature(facts(), pkg, { digest }).signatureCheck?.check).toHaveProperty('verified');
  });
});

describe('precheckedFor (the main thread)', () => {
  const ahead = precheckSignature(facts(), pkg, keys);

  it('takes the check for these bytes, at the publish time, with these keys', () => {
    expect(precheckedFor(ahead, published, publishedAt, PACKUMENT_PUBLISH_TIME, trust.digest)).toEqual(ahead.signatureCheck!.check);
  });

  it('takes nothing for other bytes, another time or time source, or other keys', () => {
    expect(precheckedFor(ahead, other, publishedAt, PACKUMENT_PUBLISH_TIME, trust.digest)).toBeUndefined();
    expect(precheckedFor(ahead, published, new Date('2021-01-01T00:00:00Z'), PACKUMENT_PUBLISH_TIME, trust.digest)).toBeUndefined();
    expect(precheckedFor(ahead, published, publishedAt, 'the verified time of its npm publish attestation', trust.digest)).toBeUndefined();
    expect(precheckedFor(ahead, published, publishedAt, PACKUMENT_PUBLISH_TIME, 'other keys')).toBeUndefined();
    expect(precheckedFor(facts(), published, publishedAt, PACKUMENT_PUBLISH_TIME, trust.digest)).toBeUndefined();
  });
});

describe('registrySignals with a check made ahead', () => {
  const run = (sha512Hex: string, packument: PackumentFacts, overrides: Partial<RegistrySignalsInput> = {}) =>
    registrySignals({ subject: { name: 'p', version: '1.1.0', sha512Hex }, outcome: { status: 'unsigned' }, policy: undefined, history: false, warm: false, trust, now: new Date('2026-01-01T00:00:00Z'), packument: async () => packument, ...overrides });
  // A check made ahead that the main thread would not make (its key id is not the mock's): seeing it proves it was taken.
  const marked = (sha512Hex: string): PackumentFacts => ({ ...facts(), signatureCheck: { sha512Hex, timeMs: publishedAt.getTime(), keysDigest: trust.digest, check: { verified: { keyId: 'checked-ahead', integrity: integrityOfSha512Hex(sha512Hex) } } } });

  it('is taken for the tarball it was made for', async () => {
    expect(await run(published, marked(published))).toMatchObject({ signals: { registrySignature: { status: 'verified', keyId: 'checked-ahead', source: 'http://r/p', timeSource: PACKUMENT_PUBLISH_TIME } } });
  });

  it('is not taken for a tarball of other bytes: checked here, the signature does not cover them', async () => {
    expect(await run(other, marked(published))).toMatchObject({ error: { code: ErrorCodes.REGISTRY_SIGNATURE_INVALID, subject: 'p@1.1.0', details: { source: 'http://r/p' } } });
  });

  it('a failure made ahead is the package\'s error, as if made here', async () => {
    const forged = facts({ signatures: [mock.registrySignature('p', '1.1.0', integrityOfSha512Hex(other))] });
    const here = await run(published, forged);
    const ahead = await run(published, precheckSignature(forged, pkg, keys));
    expect(here).toMatchObject({ error: { code: ErrorCodes.REGISTRY_SIGNATURE_INVALID } });
    const plain = (result: typeof here) => ('error' in result ? { code: result.error.code, message: result.error.message, subject: result.error.subject, details: result.error.details } : result);
    expect(plain(ahead)).toEqual(plain(here));
  });

  it('is not taken for signatures the document carries', async () => {
    const document = { signatures: [mock.registrySignature('p', '1.1.0', integrityOfSha512Hex(published))], url: '/bundles/p@1.1.0.json' };
    expect(await run(published, marked(published), { document, history: true })).toMatchObject({ signals: { registrySignature: { keyId: mock.npmKeyId, source: '/bundles/p@1.1.0.json' } } });
  });
});
