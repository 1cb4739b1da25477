/**
 * Real npm bundles broken in ONE place where @sigstore/verify would throw a
 * bare library exception (ASN.1 parse errors, Invalid Date, a missing
 * checkpoint): each refusal carries the code that says what is wrong, names
 * the package, and keeps the library's detail in the message and `cause`.
 */
import { describe, expect, it } from 'vitest';
import { SigstorePluginError } from '../../src/errors';
import { createTrustContext, embeddedTrustMaterial } from '../../src/trust';
import { PREDICATE_NPM_PUBLISH_V01, verifyBundleForPackage, verifyPackageAttestations } from '../../src/verify';
import { attestationsOf, fixture, FIXTURES, readJson, subjectOf, type NpmFixture } from '../../testkit/verify-fixtures';

const trust = createTrustContext(embeddedTrustMaterial());
const gundam = fixture('gundam-visor', '1.0.1'); // bundle v0.2: x509CertificateChain, inclusion proof + checkpoint
const playwright = fixture('@playwright/cli', '0.1.1'); // bundle v0.3: a single certificate
const sigstore = fixture('sigstore', '1.0.0'); // bundle v0.1: SET only, no inclusion proof

function bundleOf(pkg: NpmFixture, provenance: boolean): any {
  return attestationsOf(pkg).attestations.find((entry: any) => (entry.predicateType === PREDICATE_NPM_PUBLISH_V01) !== provenance).bundle;
}

function refusal(pkg: NpmFixture, bundle: unknown): SigstorePluginError {
  try {
    verifyBundleForPackage(bundle, subjectOf(pkg), trust);
  } catch (error) {
    expect(error).toBeInstanceOf(SigstorePluginError);
    return error as SigstorePluginError;
  }
  throw new Error('expected a refusal, but the bundle verified');
}

const base64 = (bytes: Buffer) => bytes.toString('base64');

describe('the original bundles verify (so each refusal below is the one edit)', () => {
  for (const [pkg, provenance] of [
    [gundam, true],
    [gundam, false],
    [playwright, true],
    [sigstore, true],
  ] as const) {
    it(`${pkg.name} ${provenance ? 'provenance' : 'publish'}`, () => {
      expect(verifyBundleForPackage(bundleOf(pkg, provenance), subjectOf(pkg), trust).predicateType).toBeTypeOf('string');
    });
  }
});

describe('a signing certificate that does not parse is BUNDLE_MALFORMED', () => {
  it('truncated leaf certificate (x509CertificateChain)', () => {
    const bundle = bundleOf(gundam, true);
    const leaf = bundle.verificationMaterial.x509CertificateChain.certificates[0];
    leaf.rawBytes = base64(Buffer.from(leaf.rawBytes, 'base64').subarray(0, 200));
    const error = refusal(gundam, bundle);
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.subject).toBe('gundam-visor@1.0.1');
    expect(error.message).toMatch(/^gundam-visor@1\.0\.1: the signing certificate does not parse: .+/);
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toContain((error.cause as Error).message);
  });

  it('leaf certificate with a long-form ASN.1 tag (single certificate, bundle v0.3)', () => {
    const bundle = bundleOf(playwright, true);
    const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
    der[0] = 0x1f;
    bundle.verificationMaterial.certificate.rawBytes = base64(der);
    const error = refusal(playwright, bundle);
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.message).toMatch(/@playwright\/cli@0\.1\.1: the signing certificate does not parse: .*tag/);
  });

  it('leaf certificate with trailing bytes after its DER', () => {
    const bundle = bundleOf(gundam, true);
    const leaf = bundle.verificationMaterial.x509CertificateChain.certificates[0];
    leaf.rawBytes = base64(Buffer.concat([Buffer.from(leaf.rawBytes, 'base64'), Buffer.from([0])]));
    expect(refusal(gundam, bundle).message).toMatch(/the signing certificate does not parse: .*trailing/);
  });
});

describe('DER that parses but is no certificate', () => {
  it("a signature's DER (two INTEGERs) as the leaf is a coded certificate refusal, not a crash", () => {
    const bundle = bundleOf(gundam, true);
    const signature = bundle.dsseEnvelope.signatures[0].sig;
    bundle.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = signature;
    const error = refusal(gundam, bundle);
    expect(error.code).toBe('CERTIFICATE_CHAIN');
    expect(error.message).toMatch(/^gundam-visor@1\.0\.1: .*signing certificate cannot be read/);
  });
});

describe('other hostile encodings', () => {
  it('an RFC 3161 timestamp that does not parse is BUNDLE_MALFORMED naming the timestamp', () => {
    const bundle = bundleOf(gundam, true);
    bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: base64(Buffer.from([0x30, 0x82, 0x10])) }] };
    const error = refusal(gundam, bundle);
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.message).toMatch(/^gundam-visor@1\.0\.1: RFC 3161 timestamp 0 does not parse: .+/);
  });

  it('an RFC 3161 timestamp whose genTime does not decode is BUNDLE_MALFORMED (the library decodes it lazily)', () => {
    const conformance = readJson(FIXTURES, 'conformance', 'bundle-verify', 'rekor2-dsse-happy-path', 'bundle.sigstore.json');
    const der = Buffer.from(conformance.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64');
    // The GeneralizedTime (tag 0x18, e.g. "20250101120000Z"): its first digit becomes a letter.
    const genTime = der.findIndex((byte, index) => byte === 0x18 && der[index + 1] >= 13 && /^\d{12}/.test(der.subarray(index + 2, index + 14).toString('latin1')));
    expect(genTime).toBeGreaterThan(0);
    der[genTime + 2] = 0x78;
    const bundle = bundleOf(gundam, true);
    bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: base64(der) }] };
    const error = refusal(gundam, bundle);
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.message).toMatch(/^gundam-visor@1\.0\.1: RFC 3161 timestamp 0 does not parse: .*time/);
    // Unmutated, the same timestamp decodes and is refused only because its authority is not trusted.
    bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp = conformance.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp;
    expect(refusal(gundam, bundle).code).toBe('TIMESTAMP');
  });

  for (const provenance of [true, false]) {
    it(`an integratedTime that is no time is BUNDLE_MALFORMED (${provenance ? 'certificate' : 'npm key'} bundle)`, () => {
      const bundle = bundleOf(gundam, provenance);
      bundle.verificationMaterial.tlogEntries[0].integratedTime = '17x';
      const error = refusal(gundam, bundle);
      expect(error.code).toBe('BUNDLE_MALFORMED');
      expect(error.message).toBe('gundam-visor@1.0.1: transparency log entry 0: integratedTime "17x" is not a time');
    });
  }

  it('an inclusion proof without its checkpoint is TLOG_CHECKPOINT (bundle v0.1, where the format allows it)', () => {
    // Bundles v0.2+ require the checkpoint (bundleFromJSON refuses); v0.1 does not.
    const bundle = bundleOf(sigstore, true);
    const { inclusionProof } = bundleOf(gundam, true).verificationMaterial.tlogEntries[0];
    delete inclusionProof.checkpoint;
    bundle.verificationMaterial.tlogEntries[0].inclusionProof = inclusionProof;
    const error = refusal(sigstore, bundle);
    expect(error.code).toBe('TLOG_CHECKPOINT');
    expect(error.message).toBe('sigstore@1.0.0: transparency log entry 0: the inclusion proof carries no checkpoint');
  });

  it('the same edits inside a whole attestations document keep their codes', () => {
    const document = attestationsOf(gundam);
    const provenance = document.attestations.find((entry: any) => entry.predicateType !== PREDICATE_NPM_PUBLISH_V01).bundle;
    provenance.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = 'MIIB';
    expect(() => verifyPackageAttestations(document, subjectOf(gundam), trust)).toThrow(expect.objectContaining({ code: 'BUNDLE_MALFORMED' }));
  });
});
