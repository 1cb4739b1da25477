/**
 * Fast certificate chain step. @sigstore/verify rebuilds and re-verifies the
 * whole CA chain (root self-signature included) for every bundle, comparing
 * certificates by re-encoding their DER: 88% of its time. Here each trusted
 * CA chain is verified ONCE per trust material, by the library's own
 * CertificateChainVerifier; per bundle only the leaf is checked against its
 * already-verified issuer with Node's native X.509 (name/key-id chaining and
 * signature), then the library's own path checks (CA flags, name chaining,
 * path length) and validity of every certificate at the verified time.
 * SCTs are still verified by the library's verifySCTs.
 */
import { X509Certificate as NativeX509Certificate } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import { VerificationError, type TrustMaterial } from '@sigstore/verify';
// Internals of the pinned @sigstore/verify 4.1: the same checks the stock Verifier makes.
import { CertificateChainVerifier } from '@sigstore/verify/dist/key/certificate';
import { verifySCTs } from '@sigstore/verify/dist/key/sct';

type CertAuthority = TrustMaterial['certificateAuthorities'][number];

interface VerifiedIssuer {
  /** The issuer followed by its library-verified path up to the self-signed root. */
  path: X509Certificate[];
  native: NativeX509Certificate;
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
      return { path, native: new NativeX509Certificate(certificate.root.toDER()) };
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

/** The verified path [leaf, issuer, ..., root] at `time`, or a CERTIFICATE_ERROR like the library's. */
function pathAt(leaf: X509Certificate, leafNative: NativeX509Certificate, time: Date, authorities: CertAuthority[]): X509Certificate[] {
  let lastError: unknown;
  for (const authority of authorities) {
    if (!validAt(authority, time)) continue;
    for (const issuer of verifyAuthorityOnce(authority) ?? []) {
      if (!leafNative.checkIssued(issuer.native) || !leafNative.verify(issuer.native.publicKey)) continue;
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
      return path;
    }
  }
  throw certificateError('Failed to verify certificate chain', lastError);
}

/**
 * Drop-in for the library's verifyCertificate(): the chain at every verified
 * time, then the SCTs. `leafDer` are the leaf's bytes exactly as in the bundle.
 */
export function verifyLeafCertificate(leaf: X509Certificate, leafDer: Uint8Array, timestamps: Date[], material: TrustMaterial): { path: X509Certificate[]; scts: Buffer[] } {
  let leafNative: NativeX509Certificate;
  try {
    leafNative = new NativeX509Certificate(leafDer);
  } catch (cause) {
    throw certificateError('signing certificate cannot be parsed', cause);
  }
  let path: X509Certificate[] = [];
  for (const time of timestamps) path = pathAt(leaf, leafNative, time, material.certificateAuthorities);
  if (path.length < 2) throw certificateError('no trusted certificate path found');
  return { path, scts: verifySCTs(path[0], path[1], material.ctlogs) };
}
