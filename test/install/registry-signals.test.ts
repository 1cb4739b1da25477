/** The registry signals step without Yarn: which requests it makes, warm and offline, and what each mode does with what it finds. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { registrySignals, type RegistrySignalsInput } from '../../src/install/registry-signals';
import type { PackumentFacts } from '../../src/sources/packument';
import { createTrustContext } from '../../src/trust';
import { integrityOfSha512Hex } from '../../src/verify/registry-signature';
import { MockSigstore } from '../../testkit/signer';
import { policyOf } from '../../testkit/policy-helpers';

const mock = await MockSigstore.create({ npmKeyValidFor: { start: new Date('2019-01-01T00:00:00Z') } });
const trust = createTrustContext(mock.trustMaterial());
const sha512Hex = createHash('sha512').update('bytes').digest('hex');
const subject = { name: 'p', version: '1.1.0', sha512Hex };
const signature = mock.registrySignature('p', '1.1.0', integrityOfSha512Hex(sha512Hex));
const facts = (extra: Partial<PackumentFacts> = {}): PackumentFacts => ({ url: 'http://r/p', publishedAt: new Date('2020-01-01T00:00:00Z'), history: new Map([['1.0.0', 'provenance'], ['1.1.0', 'none']]), signatures: [signature], ...extra });
const policy = (registrySignatures: string) => policyOf({ version: 1, default: { require: 'none', registrySignatures } });

function run(overrides: Partial<RegistrySignalsInput>, packument: () => Promise<PackumentFacts> = async () => facts()) {
  let asked = 0;
  const result = registrySignals({ subject, outcome: { status: 'unsigned' }, policy: undefined, history: true, warm: false, trust, now: new Date('2026-01-01T00:00:00Z'), packument: () => (asked++, packument()), ...overrides });
  return result.then((value) => ({ value, asked }));
}

describe('registrySignals', () => {
  it('cold: verifies the packument signature and finds the downgrade, with one packument request', async () => {
    const { value, asked } = await run({});
    expect(asked).toBe(1);
    expect(value).toEqual({ signals: { registrySignature: expect.objectContaining({ status: 'verified', keyId: mock.npmKeyId, keyValidAt: '2020-01-01T00:00:00.000Z' }), downgrade: { signedVersion: '1.0.0', evidence: 'provenance', line: '1.x' } } });
  });
  it('warm under when-present and without history: no request, not checked', async () => {
    const { value, asked } = await run({ warm: true, history: false });
    expect(asked).toBe(0);
    expect(value).toEqual({ signals: { registrySignature: expect.objectContaining({ status: 'not-checked' }) } });
  });
  it('warm under require: asks and verifies', async () => {
    const { value, asked } = await run({ warm: true, history: false, policy: policy('require') });
    expect(asked).toBe(1);
    expect(value).toMatchObject({ signals: { registrySignature: { status: 'verified' } } });
  });
  it('absent signatures: a pass under when-present, REGISTRY_SIGNATURE_MISSING under require', async () => {
    const stripped = async () => facts({ signatures: undefined });
    expect((await run({}, stripped)).value).toMatchObject({ signals: { registrySignature: { status: 'absent', source: 'http://r/p' } } });
    expect((await run({ policy: policy('require') }, stripped)).value).toMatchObject({ error: { code: ErrorCodes.REGISTRY_SIGNATURE_MISSING } });
  });
  it('off: no signature check (the history is still read)', async () => {
    const { value } = await run({ policy: policy('off') }, async () => facts({ signatures: [{ keyid: mock.npmKeyId, sig: 'AAAA' }] }));
    expect(value).toMatchObject({ signals: { registrySignature: { status: 'not-checked', why: 'registrySignatures: off' }, downgrade: { signedVersion: '1.0.0' } } });
  });
  it('a document carrying signatures is used without asking the packument when no history is needed', async () => {
    const { value, asked } = await run({ history: false, document: { signatures: [signature], url: '/bundles/p@1.1.0.json' } });
    expect(asked).toBe(0);
    expect(value).toMatchObject({ signals: { registrySignature: { status: 'verified', source: '/bundles/p@1.1.0.json' } } });
  });
  it('offline: not checked under when-present, missing under require; a fetch failure is the package\'s error', async () => {
    const offline = async (): Promise<PackumentFacts> => {
      throw new SigstorePluginError(ErrorCodes.SOURCE_OFFLINE, 'offline');
    };
    expect((await run({}, offline)).value).toEqual({ signals: { registrySignature: expect.objectContaining({ status: 'not-checked' }) } });
    expect((await run({ policy: policy('require') }, offline)).value).toMatchObject({ error: { code: ErrorCodes.REGISTRY_SIGNATURE_MISSING, message: expect.stringContaining('offline') } });
    const failing = async (): Promise<PackumentFacts> => {
      throw new SigstorePluginError(ErrorCodes.SOURCE_FETCH_FAILED, 'boom');
    };
    expect((await run({}, failing)).value).toMatchObject({ error: { code: ErrorCodes.SOURCE_FETCH_FAILED } });
  });
  it('a verified publish attestation covers the registry signature under when-present: no packument; asked (and checked) under require, for the history, or when already asked', async () => {
    const publish = { keyId: mock.npmKeyId } as never;
    const outcome = { status: 'verified' as const, result: { subject, provenanceCount: 1, provenance: {} as never, publish } };
    const document = { signatures: undefined, url: 'http://r/-/npm/v1/attestations/p@1.1.0' };
    const covered = await run({ outcome, document });
    expect(covered.asked).toBe(0);
    expect(covered.value).toEqual({ signals: { registrySignature: { status: 'covered', by: 'npm-publish-attestation', keyId: mock.npmKeyId, source: document.url } } });
    const forged = async () => facts({ signatures: [{ keyid: mock.npmKeyId, sig: 'MEUCIQDm8fVzwlzIC0BXqK4ekmsoB5ZlNn6ENSsOgXzLvGYYJgIgN0yFm5h36a4w56/dnX/7Eb1tZW3yrn3NXcHoi6RoT/Y=' }] });
    for (const overrides of [{ policy: policy('require') }, { packumentAsked: true }]) {
      const checked = await run({ outcome, document, ...overrides }, forged);
      expect(checked.asked).toBe(1);
      expect(checked.value).toMatchObject({ error: { code: ErrorCodes.REGISTRY_SIGNATURE_INVALID } });
    }
    // Publish attestation only: the history is needed, so the packument is asked and its signature checked.
    const publishOnly = await run({ outcome: { status: 'verified', result: { subject, provenanceCount: 0, publish } }, document });
    expect(publishOnly.asked).toBe(1);
    expect(publishOnly.value).toMatchObject({ signals: { registrySignature: { status: 'verified' }, downgrade: { signedVersion: '1.0.0' } } });
    // Warm (no document fetched now): not covered, not checked, as before.
    expect((await run({ outcome, warm: true })).value).toMatchObject({ signals: { registrySignature: { status: 'not-checked' } } });
  });
  it('a verified provenance needs no history', async () => {
    const { value } = await run({ history: true, outcome: { status: 'verified', result: { subject: { name: 'p', version: '1.1.0', sha512Hex }, provenanceCount: 1, provenance: {} as never } } });
    expect(value).toMatchObject({ signals: { registrySignature: { status: 'verified' } } });
    expect('downgrade' in (value as { signals: object }).signals).toBe(false);
  });
});
