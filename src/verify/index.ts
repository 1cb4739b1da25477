/**
 * Verification core. CONTRACT STUB — implemented by issue 2.
 * Knows nothing of Yarn: bytes and documents in, verified facts or a coded error out.
 */
import type { TrustContext } from '../trust';
import type { PackageSubject, PackageVerification, VerifiedAttestation } from './types';

export * from './types';

/**
 * Verifies an npm attestations document (`{"attestations":[{predicateType,bundle}]}`,
 * exactly as the registry answers, parsed or as bytes) for one package version and
 * the sha512 of the exact tarball to be installed. Throws SigstorePluginError.
 */
export function verifyPackageAttestations(_document: unknown, _subject: PackageSubject, _trust: TrustContext): PackageVerification {
  throw new Error('not implemented');
}

/** Verifies one Sigstore bundle (parsed JSON) whose in-toto subject must be the given package. */
export function verifyBundleForPackage(_bundle: unknown, _subject: PackageSubject, _trust: TrustContext): VerifiedAttestation {
  throw new Error('not implemented');
}
