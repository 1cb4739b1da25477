/**
 * The pin lock model: per package, who signed it when it was first verified
 * (or last accepted on purpose), and per version the tarball integrity.
 * Knows nothing of Yarn.
 */
import type { SignerIdentity } from '../verify/types';
import { signerWorkflowOf, sourceRepositoryOf, workflowPathOf } from '../policy/identity';

export const PIN_LOCK_FILENAME = 'sigstore.lock';
export const PIN_LOCK_VERSION = 1;

/** The identity claims a pin records. A claim the certificate lacked is absent. */
export interface PinnedIdentity {
  issuer?: string;
  repository?: string;
  repositoryId?: string;
  ownerId?: string;
  workflow?: string;
  runner?: string;
}

/** Pinned fields in the order they are written and compared. */
export const PINNED_FIELDS: readonly (keyof PinnedIdentity)[] = ['issuer', 'repository', 'repositoryId', 'ownerId', 'workflow', 'runner'];

export interface VersionPin {
  /** `sha512-<base64>` of the tarball that was verified. */
  integrity: string;
  /** Whether this version carried verified provenance. */
  provenance: boolean;
}

export interface PackagePin {
  name: string;
  /** The signer identity; absent: the package has no provenance history. */
  identity?: PinnedIdentity;
  /** Why the pin was last changed on purpose (`yarn sigstore pin update`). */
  reason?: string;
  /** Set by `pin update`: the next verification replaces the identity. */
  pendingUpdate?: boolean;
  versions: Map<string, VersionPin>;
}

export interface PinLock {
  packages: Map<string, PackagePin>;
}

export function emptyLock(): PinLock {
  return { packages: new Map() };
}

/** What a pin records of a verified signer. */
export function pinnedIdentityOf(signer: SignerIdentity): PinnedIdentity {
  const identity: PinnedIdentity = {
    issuer: signer.issuer,
    repository: sourceRepositoryOf(signer),
    repositoryId: signer.sourceRepositoryIdentifier,
    ownerId: signer.sourceRepositoryOwnerIdentifier,
    // The workflow file path; without .18, the signing workflow URI minus its ref.
    workflow: workflowPathOf(signer) ?? signerWorkflowOf(signer)?.replace(/@[^@/]*$/, ''),
    runner: signer.runnerEnvironment,
  };
  for (const field of PINNED_FIELDS) if (identity[field] === undefined) delete identity[field];
  return identity;
}

/** `sha512-<base64>` from a lowercase hex sha512. */
export function integrityOfHex(sha512Hex: string): string {
  return `sha512-${Buffer.from(sha512Hex, 'hex').toString('base64')}`;
}
