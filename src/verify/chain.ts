/**
 * Fast certificate chain step. @sigstore/verify rebuilds and re-verifies the
 * whole CA chain (root self-signature included) for every bundle, comparing
 * certificates by re-encoding their DER: 88% of its time. Here each trusted
 * CA chain is verified ONCE per trust material, by the library's own
 * CertificateChainVerifier; per bundle only the leaf is checked against its
 * already-verified issuer with Node's native X.509 (name/key-id chaining and
 * signature), then the library's own path checks (CA flags, name chaining,
 * path length) and validity of every certificate at the verified time.
 * SCTs are verified by @sigstore/core's SCT objects over a precertificate
 * cut from the leaf's bytes (precertificate.ts) instead of a re-encoded clone.
 * The native parse of the leaf stays: it is also the import of the leaf's key
 * (creating the key from its SubjectPublicKeyInfo costs as much as the whole
 * parse) and OpenSSL's checks of the leaf's extensions in checkIssued; the
 * library's tree of the leaf is built by der.ts, which is cheap.
 */
import { X509Certificate as NativeX509Certificate, type KeyObject } from 'node:crypto';
import { crypto as sigstoreCrypto, type X509Certificate } from '@sigstore/core';
import { VerificationError, type TrustMaterial } from '@sigstore/verify';
// Internals of the pinned @sigstore/verify 4.1: the same checks the stock Verifier makes.
import { CertificateChainVerifier } from '@sigstore/verify/dist/key/certificate';
import { filterTLogAuthorities } from '@sigstore/verify/dist/trust/filter';
import { precertificateTbs } from './precertificate';

type CertAuthority = TrustMaterial['certificateAuthorities'][number];

interface VerifiedIssuer {
  /** The issuer followed by its library-verified path up to the self-signed root. */
  path: X509Certificate[];
  native: NativeX509Certificate;
  /** sha256 of the issuer's SubjectPublicKeyInfo: the RFC 6962 issuer key hash. */
  keyHash: Buffer;
}

interface InternalChainVerifier {
  sort(): X509Certificate[];
  checkPath(path: X509Certificate[]): void;
}

function certificateError(message: string, cause?: unknown): VerificationError {
  return new VerificationError({ code: 'CERTIFICATE_ERROR', message, cause });
}

/** Verified issuers of each CA, computed on first use; null when the CA chain does not verify on its own. */
const verifiedAuthorities = new WeakMap<CertAuthority, VerifiedIssuer[] | null>();

function verifyAuthorityOnce(authority: CertAuthority): VerifiedIssuer[] | null {
  let issuers = verifiedAuthorities.get(authority);
  if (issuers !== undefined) return issuers;
  try {
    issuers = authority.certChain.map((certificate) => {
      const verifier = new CertificateChainVerifier({ trustedCerts: authority.certChain, untrustedCert: certificate, timestamp: new Date() });
      const internal = verifier as unknown as InternalChainVerifier;
      const path = internal.sort();
      internal.checkPath(path);
      return { path, native: new NativeX509Certificate(certificate.root.toDER()), keyHash: sigstoreCrypto.digest('sha256', certificate.publicKey) };
    });
  } catch {
    issuers = null;
  }
  verifiedAuthorities.set(authority, issuers);
  return issuers;
}

function validAt(authority: CertAuthority, time: Date): boolean {
  return authority.validFor.start <= time && time <= authority.validFor.end;
}

interface LeafPath {
  path: X509Certificate[];
  issuer: VerifiedIssuer;
}

/** Whether each candidate issuer issued and signed the leaf, asked once per leaf (a P-384 verify is ~0.9 ms) whatever the number of verified times. */
type IssuedBy = (issuer: VerifiedIssuer) => boolean;

function issuedBy(leafNative: NativeX509Certificate): IssuedBy {
  const answers = new Map<VerifiedIssuer, boolean>();
  return (issuer) => {
    let answer = answers.get(issuer);
    if (answer === undefined) {
      answer = leafNative.checkIssued(issuer.native) && leafNative.verify(issuer.native.publicKey);
      answers.set(issuer, answer);
    }
    return answer;
  };
}

/** The verified path [leaf, issuer, ..., root] at `time`, or a CERTIFICATE_ERROR like the library's. */
function pathAt(leaf: X509Certificate, issued: IssuedBy, time: Date, authorities: CertAuthority[]): LeafPath {
  let lastError: unknown;
  for (const authority of authorities) {
    if (!validAt(authority, time)) continue;
    for (const issuer of verifyAuthorityOnce(authority) ?? []) {
      if (!issued(issuer)) continue;
      const path = [leaf, ...issuer.path];
      try {
        (CertificateChainVerifier.prototype as unknown as InternalChainVerifier).checkPath(path);
      } catch (error) {
        lastError = error;
        continue;
      }
      if (!path.every((certificate) => certificate.validForDate(time))) {
        lastError = certificateError('certificate is not valid or expired at the specified date');
        continue;
      }
      return { path, issuer };
    }
  }
  throw certificateError('Failed to verify certificate chain', lastError);
}

function uint24(value: number): Buffer {
  return Buffer.from([(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);
}

/** The same checks as the library's verifySCTs: every embedded SCT must verify with a CT log valid at its time. */
function verifyScts(leaf: X509Certificate, leafDer: Uint8Array, issuer: VerifiedIssuer, ctlogs: TrustMaterial['ctlogs']): Buffer[] {
  const scts = leaf.extSCT?.signedCertificateTimestamps ?? [];
  if (scts.length === 0) return [];
  let tbs: Buffer | undefined;
  try {
    tbs = precertificateTbs(leafDer);
  } catch (cause) {
    throw certificateError('SCT verification failed: the precertificate cannot be derived', cause);
  }
  if (!tbs) throw certificateError('SCT verification failed: no SCT extension in the leaf bytes');
  const preCert = Buffer.concat([issuer.keyHash, uint24(tbs.length), tbs]);
  return scts.map((sct) => {
    const logs = filterTLogAuthorities(ctlogs, { logID: sct.logID, targetDate: sct.datetime });
    if (!logs.some((log) => sct.verify(preCert, log.publicKey))) throw certificateError('SCT verification failed');
    return sct.logID;
  });
}

/**
 * Drop-in for the library's verifyCertificate(): the chain at every verified
 * time, then the SCTs. `leafDer` are the leaf's bytes exactly as in the bundle.
 */
export function verifyLeafCertificate(
  leaf: X509Certificate,
  leafDer: Uint8Array,
  timestamps: Date[],
  material: TrustMaterial,
): { path: X509Certificate[]; scts: Buffer[]; leafKey: KeyObject } {
  let leafNative: NativeX509Certificate;
  try {
    leafNative = new NativeX509Certificate(leafDer);
  } catch (cause) {
    throw certificateError('signing certificate cannot be parsed', cause);
  }
  const issued = issuedBy(leafNative);
  let verified: LeafPath | undefined;
  for (const time of timestamps) verified = pathAt(leaf, issued, time, material.certificateAuthorities);
  if (!verified) throw certificateError('no trusted certificate path found');
  return { path: verified.path, scts: verifyScts(leaf, leafDer, verified.issuer, material.ctlogs), leafKey: leafNative.publicKey };
}
