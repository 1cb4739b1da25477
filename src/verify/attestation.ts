/**
 * One bundle about one package: parse, verify cryptographically, read the
 * predicate type from the verified statement, check the signer kind that type
 * requires, bind the subject. Each step throws its own coded error.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { preparedTrust, type TrustContext } from '../trust';
import { parseBundle } from './bundle';
import { signerIdentity } from './identity';
import { toPluginError } from './library-errors';
import { verifySignedBundle, type VerifiedSignature } from './signed-bundle';
import { bindSubject, describeSubject, readStatement } from './statement';
import {
  PREDICATE_NPM_PUBLISH_V01,
  PREDICATE_SLSA_PROVENANCE_V02,
  PREDICATE_SLSA_PROVENANCE_V1,
  type PackageSubject,
  type VerifiedAttestation,
} from './types';

const PROVENANCE_TYPES: ReadonlySet<string> = new Set([PREDICATE_SLSA_PROVENANCE_V02, PREDICATE_SLSA_PROVENANCE_V1]);

export function isProvenanceType(predicateType: string): boolean {
  return PROVENANCE_TYPES.has(predicateType);
}

function signerKindError(label: string, what: string): SigstorePluginError {
  return new SigstorePluginError(ErrorCodes.SIGNER_KIND, `${label}: ${what}`, { subject: label });
}

function attestationFrom(predicateType: string, signature: VerifiedSignature, label: string): Pick<VerifiedAttestation, 'kind'> & Record<string, unknown> {
  if (isProvenanceType(predicateType)) {
    // Provenance means a CI workflow's Fulcio identity; anything else is not provenance.
    if (!signature.certificate) throw signerKindError(label, 'a provenance statement must be signed with a Fulcio certificate, not a key');
    return { kind: 'provenance', identity: signerIdentity(signature.certificate) };
  }
  if (predicateType === PREDICATE_NPM_PUBLISH_V01) {
    // The publish attestation is npm's word: only an npm:attestations key may sign it.
    if (!signature.keyHint) throw signerKindError(label, "an npm publish statement must be signed with npm's attestations key, not a certificate");
    return { kind: 'publish', keyId: signature.keyHint };
  }
  throw new SigstorePluginError(ErrorCodes.PREDICATE_TYPE_MISMATCH, `${label}: unsupported predicate type ${JSON.stringify(predicateType)} in the signed statement`, {
    subject: label,
  });
}

/**
 * sha256 of the bundle's JSON as received, written compactly with its keys in
 * the order served: it names these exact bundle contents (evidence files,
 * events). Canonicalising it (sorted keys, in JS) cost 3% of a verification.
 */
function bundleDigest(serialized: unknown): string {
  return createHash('sha256').update(JSON.stringify(serialized)).digest('hex');
}

/** Verifies one serialized Sigstore bundle whose in-toto subject must be the given package. */
export function verifyBundleForPackage(serialized: unknown, subject: PackageSubject, trust: TrustContext): VerifiedAttestation {
  const label = describeSubject(subject);
  try {
    const prepared = preparedTrust(trust);
    const bundle = parseBundle(serialized, label);
    const signature = verifySignedBundle(bundle, prepared.material);
    const statement = readStatement(bundle, label);
    const facts = attestationFrom(statement.predicateType, signature, label);
    bindSubject(statement, subject);
    return {
      ...facts,
      predicateType: statement.predicateType,
      mediaType: bundle.mediaType,
      logIndex: signature.logIndex,
      verifiedTime: signature.verifiedTime,
      timeSource: signature.timeSource,
      bundleDigest: bundleDigest(serialized),
    } as VerifiedAttestation;
  } catch (error) {
    throw toPluginError(error, label);
  }
}
