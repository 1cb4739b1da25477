/**
 * npm registry signatures: the two real signatures npm's registry made
 * (fixtures/npm-attestations manifest, from npm/cli's own tests) against the
 * production keys, and mock-signed ones for each failure.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors';
import { parseNpmKeys } from '../../src/trust/npm-keys';
import { integrityOfSha512Hex, verifyRegistrySignatures } from '../../src/verify/registry-signature';
import { fixtureManifest, productionNpmKeys } from '../../testkit/fixtures';
import { MockSigstore } from '../../testkit/signer';

const production = parseNpmKeys(productionNpmKeys(), 'production');
const hexOf = (integrity: string) => Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex');
const BEFORE_ROTATION = new Date('2023-06-01T00:00:00Z');

describe('real npm registry signatures', () => {
  const signed = fixtureManifest().filter((entry) => entry.registrySignature);

  it('has real signatures to test with', () => expect(signed.length).toBeGreaterThanOrEqual(2));

  for (const entry of signed) {
    const base = { name: entry.name, version: entry.version, sha512Hex: hexOf(entry.integrity), signatures: [{ keyid: entry.registrySignature!.keyid, sig: entry.registrySignature!.sig }], keys: production, timeSource: 'test', source: 'fixture' };

    it(`${entry.name}@${entry.version}: verifies over the installed tarball's integrity with npm's key valid at publication`, () => {
      expect(integrityOfSha512Hex(base.sha512Hex)).toBe(entry.integrity);
      expect(verifyRegistrySignatures({ ...base, time: BEFORE_ROTATION })).toEqual({ keyId: entry.registrySignature!.keyid, integrity: entry.integrity });
    });

    it(`${entry.name}@${entry.version}: another tarball is REGISTRY_SIGNATURE_INVALID`, () => {
      const other = createHash('sha512').update('other bytes').digest('hex');
      expect(() => verifyRegistrySignatures({ ...base, sha512Hex: other, time: BEFORE_ROTATION })).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_SIGNATURE_INVALID }));
    });

    it(`${entry.name}@${entry.version}: the retired key judged now (after its window) is REGISTRY_KEY_EXPIRED`, () => {
      expect(() => verifyRegistrySignatures({ ...base, time: new Date('2026-01-01T00:00:00Z') })).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_KEY_EXPIRED }));
    });
  }
});

describe('registry signature failures', async () => {
  const mock = await MockSigstore.create({ npmKeyValidFor: { start: new Date('2020-01-01T00:00:00Z') } });
  const keys = parseNpmKeys(mock.npmKeys, 'mock');
  const sha512Hex = createHash('sha512').update('tarball').digest('hex');
  const integrity = integrityOfSha512Hex(sha512Hex);
  const input = (signatures: unknown) => ({ name: 'pkg', version: '1.0.0', sha512Hex, signatures, keys, time: new Date('2024-01-01T00:00:00Z'), timeSource: 'test', source: 'test' });
  const good = mock.registrySignature('pkg', '1.0.0', integrity);

  it('verifies one by a known key, ignoring one by an unknown key beside it', () => {
    expect(verifyRegistrySignatures(input([{ keyid: 'SHA256:unknown', sig: 'AA==' }, good])).keyId).toBe(mock.npmKeyId);
  });
  it('an unknown key alone is REGISTRY_KEY_UNKNOWN naming it', () => {
    expect(() => verifyRegistrySignatures(input([{ keyid: 'SHA256:unknown', sig: good.sig }]))).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_KEY_UNKNOWN, message: expect.stringContaining('SHA256:unknown') }));
  });
  it('a bad signature by a known key fails even beside a good one', () => {
    const bad = { keyid: mock.npmKeyId, sig: mock.registrySignature('pkg', '1.0.1', integrity).sig };
    expect(() => verifyRegistrySignatures(input([good, bad]))).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_SIGNATURE_INVALID }));
  });
  it('a signature over another name or version is invalid', () => {
    expect(() => verifyRegistrySignatures(input([mock.registrySignature('other', '1.0.0', integrity)]))).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_SIGNATURE_INVALID }));
  });
  it('a key usable for attestations only does not verify registry signatures', () => {
    const attestationsOnly = keys.map((key) => ({ ...key, keyUsage: 'npm:attestations' }));
    expect(() => verifyRegistrySignatures({ ...input([good]), keys: attestationsOnly })).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_KEY_UNKNOWN }));
  });
  it('before the key\'s window is REGISTRY_KEY_EXPIRED', () => {
    expect(() => verifyRegistrySignatures({ ...input([good]), time: new Date('2019-01-01T00:00:00Z') })).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_KEY_EXPIRED }));
  });
  it.each([[[]], ['x'], [[{ keyid: 1, sig: 'x' }]], [[null]]])('malformed signatures %j are REGISTRY_SIGNATURE_INVALID', (signatures) => {
    expect(() => verifyRegistrySignatures(input(signatures))).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_SIGNATURE_INVALID }));
  });
  it('a signature that is not base64 DER is invalid, not a crash', () => {
    expect(() => verifyRegistrySignatures(input([{ keyid: mock.npmKeyId, sig: '!!!' }]))).toThrow(expect.objectContaining({ code: ErrorCodes.REGISTRY_SIGNATURE_INVALID }));
  });
});
