import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTrustContext, embeddedTrustMaterial } from '../../src/trust';
import { PREDICATE_NPM_PUBLISH_V01, verifyBundleForPackage, verifyPackageAttestations } from '../../src/verify';
import { requireAgreement } from '../../src/verify/document';
import { attestationsOf, codeOf, fixture, FIXTURES, NPM_FIXTURES, NPM_PACKAGES, readJson, subjectOf, tarballSha512 } from '../../testkit/verify-fixtures';

const production = embeddedTrustMaterial();
const trust = createTrustContext(production);
const staging = createTrustContext({ trustedRoot: readJson(FIXTURES, 'sigstore', 'trusted_root.staging.json'), npmKeys: production.npmKeys, origin: 'staging' });

const gundam = fixture('gundam-visor', '1.0.1');
const provenanceOnly = (doc: any) => ({ attestations: doc.attestations.filter((a: any) => a.predicateType !== PREDICATE_NPM_PUBLISH_V01) });
const publishOnly = (doc: any) => ({ attestations: doc.attestations.filter((a: any) => a.predicateType === PREDICATE_NPM_PUBLISH_V01) });

describe('tampered real bundles', () => {
  const tampered = NPM_PACKAGES.flatMap((pkg) =>
    readdirSync(join(NPM_FIXTURES, pkg.dir))
      .filter((file) => file.startsWith('attestations.invalidsig'))
      .map((file) => [pkg, file] as const),
  );

  it('exist for at least 5 packages, provenance and publish', () => {
    expect(tampered.length).toBeGreaterThanOrEqual(10);
  });

  for (const [pkg, file] of tampered) {
    it(`${pkg.name}@${pkg.version} ${file} is rejected: the log entry does not cover the altered payload`, () => {
      expect(codeOf(() => verifyPackageAttestations(attestationsOf(pkg, file), subjectOf(pkg), trust))).toBe('TLOG_ENTRY_MISMATCH');
    });
  }
});

describe('the wrong trust root', () => {
  for (const pkg of NPM_PACKAGES) {
    it(`${pkg.name}@${pkg.version} fails against the staging root`, () => {
      expect(codeOf(() => verifyPackageAttestations(provenanceOnly(attestationsOf(pkg)), subjectOf(pkg), staging))).toBe('CERTIFICATE_CHAIN');
      // npm's key is still known, but the staging Rekor key cannot vouch for a production entry.
      expect(codeOf(() => verifyPackageAttestations(publishOnly(attestationsOf(pkg)), subjectOf(pkg), staging))).toBe('TLOG_SET');
    });
  }
});

describe('subject binding', () => {
  const older = fixture('@laurentsimon/provenance-npm-test', '1.0.3');
  const newer = fixture('@laurentsimon/provenance-npm-test', '1.0.5');

  it('rejects the right bundle with another version\'s tarball', () => {
    const subject = { ...subjectOf(older), sha512Hex: tarballSha512(newer) };
    expect(codeOf(() => verifyPackageAttestations(attestationsOf(older), subject, trust))).toBe('SUBJECT_DIGEST_MISMATCH');
  });

  it('rejects package A\'s attestations presented for package B', () => {
    const tufjs = fixture('tuf-js', '1.0.0');
    expect(codeOf(() => verifyPackageAttestations(attestationsOf(gundam), subjectOf(tufjs), trust))).toBe('SUBJECT_NAME_MISMATCH');
    expect(codeOf(() => verifyPackageAttestations(attestationsOf(older), subjectOf(newer), trust))).toBe('SUBJECT_NAME_MISMATCH');
  });

  it('compares the purl byte for byte (no unescaped scope, no qualifiers)', () => {
    const subject = subjectOf(older);
    expect(codeOf(() => verifyPackageAttestations(attestationsOf(older), { ...subject, name: '@LaurentSimon/provenance-npm-test' }, trust))).toBe('SUBJECT_NAME_MISMATCH');
    expect(codeOf(() => verifyPackageAttestations(attestationsOf(older), { ...subject, version: '1.0.3?arch=x64' }, trust))).toBe('SUBJECT_NAME_MISMATCH');
  });

  it('rejects a repacked tarball of the right name and version', () => {
    const subject = { ...subjectOf(gundam), sha512Hex: 'ab'.repeat(64) };
    expect(codeOf(() => verifyPackageAttestations(attestationsOf(gundam), subject, trust))).toBe('SUBJECT_DIGEST_MISMATCH');
  });
});

describe('the predicate type comes from the signed statement', () => {
  it('rejects a publish attestation labelled as provenance, and the reverse', () => {
    const swapped = {
      attestations: attestationsOf(gundam).attestations.map((a: any) => ({
        ...a,
        predicateType: a.predicateType === PREDICATE_NPM_PUBLISH_V01 ? 'https://slsa.dev/provenance/v1' : PREDICATE_NPM_PUBLISH_V01,
      })),
    };
    const labelledProvenance = { attestations: swapped.attestations.filter((a: any) => a.predicateType !== PREDICATE_NPM_PUBLISH_V01) };
    const labelledPublish = { attestations: swapped.attestations.filter((a: any) => a.predicateType === PREDICATE_NPM_PUBLISH_V01) };
    expect(codeOf(() => verifyPackageAttestations(labelledProvenance, subjectOf(gundam), trust))).toBe('PREDICATE_TYPE_MISMATCH');
    expect(codeOf(() => verifyPackageAttestations(labelledPublish, subjectOf(gundam), trust))).toBe('PREDICATE_TYPE_MISMATCH');
  });

  const sigstore100 = fixture('sigstore', '1.0.0');
  const emailBundles = readdirSync(join(NPM_FIXTURES, 'email-identity'));

  it('has the real e-mail identity bundles', () => {
    expect(emailBundles.length).toBeGreaterThanOrEqual(9);
  });

  for (const file of emailBundles) {
    it(`does not accept the e-mail-signed publish statement ${file} as provenance`, () => {
      const bundle = readJson(NPM_FIXTURES, 'email-identity', file);
      const document = { attestations: [{ predicateType: 'https://slsa.dev/provenance/v0.2', bundle }] };
      // The crypto is valid; the verified statement is an npm publish statement signed by a person, not npm's key.
      expect(codeOf(() => verifyPackageAttestations(document, subjectOf(sigstore100), trust))).toBe('SIGNER_KIND');
      expect(codeOf(() => verifyBundleForPackage(bundle, subjectOf(sigstore100), trust))).toBe('SIGNER_KIND');
    });
  }
});

describe('npm keys', () => {
  const keysWith = (edit: (key: any) => any) => ({ keys: (production.npmKeys as any).keys.map((key: any) => edit(structuredClone(key))).filter(Boolean) });

  it('rejects the publish attestation checked with a key outside its validity window', () => {
    // gundam-visor was published 2024-06-03; end the key's window before that.
    const npmKeys = keysWith((key) => {
      if (key.keyUsage === 'npm:attestations') key.publicKey.validFor.end = '2024-01-01T00:00:00.000Z';
      return key;
    });
    const shortened = createTrustContext({ ...production, npmKeys, origin: 'test' });
    expect(codeOf(() => verifyPackageAttestations(publishOnly(attestationsOf(gundam)), subjectOf(gundam), shortened))).toBe('KEY_EXPIRED');
    const notYet = createTrustContext({ ...production, npmKeys: keysWith((key) => ((key.publicKey.validFor.start = '2025-01-01T00:00:00.000Z'), key)), origin: 'test' });
    expect(codeOf(() => verifyPackageAttestations(publishOnly(attestationsOf(gundam)), subjectOf(gundam), notYet))).toBe('KEY_EXPIRED');
  });

  it('rejects a publish attestation whose key is unknown or only an npm:signatures key', () => {
    const withoutAttestationKeys = createTrustContext({ ...production, npmKeys: keysWith((key) => key.keyUsage !== 'npm:attestations' && key), origin: 'test' });
    expect(codeOf(() => verifyPackageAttestations(publishOnly(attestationsOf(gundam)), subjectOf(gundam), withoutAttestationKeys))).toBe('KEY_UNKNOWN');
  });
});

describe('document and bundle shape', () => {
  const subject = subjectOf(gundam);
  const provenanceBundle = () => provenanceOnly(attestationsOf(gundam)).attestations[0].bundle;

  it('rejects documents that are not npm attestation answers', () => {
    for (const document of ['not json', {}, { attestations: [] }, { attestations: [{ predicateType: 'x' }] }, null]) {
      expect(codeOf(() => verifyPackageAttestations(document, subject, trust))).toBe('ATTESTATIONS_MALFORMED');
    }
  });

  it('rejects an unknown bundle media type', () => {
    const bundle = { ...provenanceBundle(), mediaType: 'application/vnd.dev.sigstore.bundle+json;version=9.9' };
    expect(codeOf(() => verifyBundleForPackage(bundle, subject, trust))).toBe('BUNDLE_MEDIA_TYPE_UNKNOWN');
  });

  it('rejects a malformed bundle', () => {
    const { verificationMaterial: _dropped, ...bundle } = provenanceBundle();
    expect(codeOf(() => verifyBundleForPackage(bundle, subject, trust))).toBe('BUNDLE_MALFORMED');
    expect(codeOf(() => verifyBundleForPackage('a string', subject, trust))).toBe('BUNDLE_MALFORMED');
  });

  it('rejects a bundle whose SET was altered', () => {
    const bundle = provenanceBundle();
    const entry = bundle.verificationMaterial.tlogEntries[0];
    entry.integratedTime = String(Number(entry.integratedTime) + 1);
    expect(codeOf(() => verifyBundleForPackage(bundle, subject, trust))).toBe('TLOG_SET');
  });

  it('names the package in every error', () => {
    try {
      verifyPackageAttestations(attestationsOf(gundam, 'attestations.invalidsigprov.json'), subject, trust);
      expect.unreachable();
    } catch (error: any) {
      expect(error.name).toBe('SigstorePluginError');
      expect(error.subject).toBe('gundam-visor@1.0.1');
      expect(error.message).toContain('gundam-visor@1.0.1');
    }
  });
});

describe('several provenance bundles', () => {
  it('accepts repeated bundles that agree, counting each', () => {
    const doc = attestationsOf(gundam);
    const twice = { attestations: [...doc.attestations, ...provenanceOnly(doc).attestations] };
    expect(verifyPackageAttestations(twice, subjectOf(gundam), trust).provenanceCount).toBe(2);
  });

  it('rejects verified provenance from different signers', () => {
    const older = fixture('@laurentsimon/provenance-npm-test', '1.0.3');
    const newer = fixture('@laurentsimon/provenance-npm-test', '1.0.5');
    const a = verifyPackageAttestations(attestationsOf(older), subjectOf(older), trust).provenance!;
    const b = verifyPackageAttestations(attestationsOf(newer), subjectOf(newer), trust).provenance!;
    expect(codeOf(() => requireAgreement([a, b], 'x@1'))).toBe('PROVENANCE_DISAGREE');
    expect(() => requireAgreement([a, a], 'x@1')).not.toThrow();
  });
});
