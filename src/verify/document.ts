/**
 * An npm attestations document (`{"attestations":[{predicateType,bundle}]}`)
 * for one package version. The registry's `predicateType` label is unsigned:
 * it must agree with the verified statement, and never decides anything alone.
 */
import { isDeepStrictEqual } from 'node:util';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { TrustContext } from '../trust';
import { verifyBundleForPackage } from './attestation';
import { describeSubject } from './statement';
import type { PackageSubject, PackageVerification, VerifiedProvenance, VerifiedPublish } from './types';

/** npm publishes at most a publish attestation and a provenance: a long list only costs verification time. */
export const MAX_ATTESTATIONS = 16;

interface DocumentEntry {
  label: string;
  bundle: unknown;
}

function parseDocument(document: unknown, label: string): DocumentEntry[] {
  const malformed = (why: string): never => {
    throw new SigstorePluginError(ErrorCodes.ATTESTATIONS_MALFORMED, `${label}: attestations document ${why}`, { subject: label });
  };
  // Parsed already: bytes as served go through src/install/document-verification.ts, under the size and nesting caps.
  const list = (document as { attestations?: unknown } | null)?.attestations;
  if (!Array.isArray(list)) return malformed('has no "attestations" array');
  if (list.length === 0) malformed('lists no attestation');
  if (list.length > MAX_ATTESTATIONS) malformed(`lists ${list.length} attestations (at most ${MAX_ATTESTATIONS} are accepted; npm publishes two)`);
  return list.map((entry: unknown, index: number) => {
    const { predicateType, bundle } = (entry ?? {}) as { predicateType?: unknown; bundle?: unknown };
    if (typeof predicateType !== 'string' || typeof bundle !== 'object' || bundle === null) {
      malformed(`entry ${index} needs a predicateType string and a bundle object`);
    }
    return { label: predicateType as string, bundle };
  });
}

export function requireAgreement(provenance: VerifiedProvenance[], label: string): void {
  const [first, ...others] = provenance;
  for (const other of others) {
    if (!isDeepStrictEqual(first.identity, other.identity)) {
      throw new SigstorePluginError(ErrorCodes.PROVENANCE_DISAGREE, `${label}: provenance bundles name different signers (${first.identity.san} vs ${other.identity.san})`, {
        subject: label,
        details: { identities: [first.identity, other.identity] },
      });
    }
  }
}

/** Every bundle must verify; every provenance bundle must agree. Throws SigstorePluginError. */
export function verifyPackageAttestations(document: unknown, subject: PackageSubject, trust: TrustContext): PackageVerification {
  const label = describeSubject(subject);
  const provenance: VerifiedProvenance[] = [];
  const publish: VerifiedPublish[] = [];
  for (const entry of parseDocument(document, label)) {
    const verified = verifyBundleForPackage(entry.bundle, subject, trust);
    if (verified.predicateType !== entry.label) {
      throw new SigstorePluginError(
        ErrorCodes.PREDICATE_TYPE_MISMATCH,
        `${label}: the registry labels an attestation ${JSON.stringify(entry.label)} but its signed statement is ${JSON.stringify(verified.predicateType)}`,
        { subject: label },
      );
    }
    (verified.kind === 'provenance' ? provenance : publish).push(verified as never);
  }
  if (provenance.length > 1) requireAgreement(provenance, label);
  return { subject, provenance: provenance[0], provenanceCount: provenance.length, publish: publish[0] };
}
