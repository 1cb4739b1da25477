/** Human-readable lines for what a verified package proves: every certificate claim and every bundle. */
import { printable } from '../../printable';
import type { PackageVerification, SignerIdentity, VerifiedAttestation } from '../../verify/types';

const CLAIM_LABELS: Array<[keyof SignerIdentity, string]> = [
  ['issuer', 'OIDC issuer'],
  ['san', 'Certificate SAN'],
  ['sourceRepositoryUri', 'Source repository'],
  ['sourceRepositoryIdentifier', 'Repository ID'],
  ['sourceRepositoryOwnerUri', 'Repository owner'],
  ['sourceRepositoryOwnerIdentifier', 'Owner ID'],
  ['sourceRepositoryRef', 'Source ref'],
  ['sourceRepositoryDigest', 'Source commit'],
  ['sourceRepositoryVisibility', 'Repository visibility'],
  ['buildConfigUri', 'Build config (workflow)'],
  ['buildConfigDigest', 'Build config digest'],
  ['buildSignerUri', 'Build signer'],
  ['buildSignerDigest', 'Build signer digest'],
  ['buildTrigger', 'Build trigger'],
  ['runnerEnvironment', 'Runner'],
  ['deploymentEnvironment', 'Deployment environment'],
  ['runInvocationUri', 'Run'],
  ['githubWorkflowRepository', 'Workflow repository (legacy claim)'],
  ['githubWorkflowName', 'Workflow name (legacy claim)'],
];

/** Every claim the certificate carries, labelled; absent claims are left out, never guessed. */
export function identityClaims(identity: SignerIdentity): Array<[string, string]> {
  return CLAIM_LABELS.filter(([key]) => identity[key] !== undefined).map(([key, label]) => [label, printable(String(identity[key]))]);
}

export function describeAttestation(attestation: VerifiedAttestation): string {
  const log = attestation.logIndex ? `, Rekor log index ${attestation.logIndex}` : '';
  return `${attestation.kind} (${printable(attestation.predicateType)}), ${printable(attestation.mediaType)}, verified time ${attestation.verifiedTime.toISOString()} from ${attestation.timeSource}${log}`;
}

export function attestationsOf(verification: PackageVerification): VerifiedAttestation[] {
  return [verification.provenance, verification.publish].filter((attestation): attestation is VerifiedAttestation => attestation !== undefined);
}
