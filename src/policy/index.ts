/**
 * Trust policy. CONTRACT STUB — implemented by issue 3. Knows nothing of Yarn.
 */
import type { SigstorePluginError } from '../errors';
import type { PackageVerification } from '../verify/types';

/** What verification found for one package version. */
export type VerificationOutcome =
  | { status: 'verified'; result: PackageVerification }
  /** No bundle exists anywhere for the package. */
  | { status: 'unsigned' }
  /** A bundle exists but failed to verify, or could not be fetched/parsed: a tampering signal. */
  | { status: 'failed'; error: SigstorePluginError };

export interface PackageRef {
  /** The real package name (an alias `"lodash": "npm:evil@1"` is `evil`). */
  name: string;
  version: string;
}

export interface LoadedPolicy {
  /** Absolute path of the file it came from (undefined in zero-config mode). */
  filepath?: string;
  /** sha256 hex of the effective policy: a cache key for verified verdicts. */
  digest: string;
  // ... the validated model
}

export interface Verdict {
  decision: 'allow' | 'deny' | 'warn';
  /** e.g. 'verified', 'allowed-unsigned', 'policy-mismatch', 'verification-failed'. */
  reason: string;
  /** The matched rule: index in `rules` (-1 for `default`), and its `packages`. */
  rule?: { index: number; packages: string[]; description: string };
  /** For a deny or warn: every field that did not match. */
  mismatches: Array<{ field: string; expected: string; found: string | undefined }>;
  /** One line a user reads when CI fails. */
  message: string;
}

export async function loadPolicy(_projectDir: string, _options: { path?: string } = {}): Promise<LoadedPolicy | undefined> {
  throw new Error('not implemented');
}

export function evaluate(_policy: LoadedPolicy | undefined, _pkg: PackageRef, _outcome: VerificationOutcome): Verdict {
  throw new Error('not implemented');
}
