/** The validated policy model: what a policy file means once it has been checked. */
import type { PackageSelector } from './packages';

export type PolicyMode = 'enforce' | 'warn' | 'off';
export type Requirement = 'provenance' | 'publish' | 'none';
export type RunnerEnvironment = 'github-hosted' | 'self-hosted';
/** npm registry signatures: required, verified when the metadata carries them (the default), or not checked. */
export type RegistrySignatureMode = 'require' | 'when-present' | 'off';

export const POLICY_MODES: readonly PolicyMode[] = ['enforce', 'warn', 'off'];
export const REQUIREMENTS: readonly Requirement[] = ['provenance', 'publish', 'none'];
export const RUNNERS: readonly RunnerEnvironment[] = ['github-hosted', 'self-hosted'];
export const REGISTRY_SIGNATURE_MODES: readonly RegistrySignatureMode[] = ['require', 'when-present', 'off'];
export const DEFAULT_REGISTRY_SIGNATURE_MODE: RegistrySignatureMode = 'when-present';
export const REGISTRY_SIGNATURE_STRICTNESS: Record<RegistrySignatureMode, number> = { off: 0, 'when-present': 1, require: 2 };

/** Strictness order: a higher number is stricter. */
export const MODE_STRICTNESS: Record<PolicyMode, number> = { off: 0, warn: 1, enforce: 2 };
export const REQUIREMENT_STRICTNESS: Record<Requirement, number> = { none: 0, publish: 1, provenance: 2 };

/**
 * Who must have signed the provenance. Glob fields accept one glob or a list
 * (any may match), and `{version}` for the version being installed.
 */
export interface IdentityRequirement {
  issuer?: string;
  repository?: string[];
  workflow?: string[];
  signerWorkflow?: string[];
  ref?: string[];
  san?: string[];
  repositoryId?: string;
  ownerId?: string;
  runner?: RunnerEnvironment;
  trigger?: string[];
  predicateType?: string;
  /** Deployment environment (.23) globs, compared case-insensitively. */
  environment?: string[];
}

export interface PolicyRule {
  /** Position in `rules`; -1 for `default`. */
  index: number;
  /** The optional `name:` messages use instead of the rule's position and packages. */
  name?: string;
  packages: string[];
  selectors: PackageSelector[];
  require: Requirement;
  identity?: IdentityRequirement;
  reason?: string;
  /** The rule applies up to the end of this UTC day (`YYYY-MM-DD`). */
  expires?: string;
  mode?: PolicyMode;
  verify?: 'skip';
  /** Whether identities seen under this rule are pinned (issue 6). Default true. */
  pin: boolean;
  /** npm registry signatures for the rule's packages; unset: the default rule's, else `when-present`. */
  registrySignatures?: RegistrySignatureMode;
  /** `allow`: a version without provenance after signed ones of its line is no downgrade (needs reason and expires). */
  downgrade?: 'allow';
}

/**
 * One entry of `sources`: the package names it allows and, for git and
 * tarball sources, where they may come from (a name alone would let registry
 * metadata point that name at any repository or URL).
 */
export interface SourceAllowance {
  selector: PackageSelector;
  /** git: the repository, canonical (`host/owner/name`, lowercase, no scheme, no `.git`); a glob (`*` within a segment). */
  repository?: string;
  /** git: the one commit allowed (40 lowercase hex), when set. */
  commit?: string;
  /** tarball: the URL the tarball must come from, a glob (`*` within a segment, `**` across). */
  url?: string;
}

export interface SourceAllowances {
  git: SourceAllowance[];
  tarball: SourceAllowance[];
  exec: SourceAllowance[];
  /** `file:` / `portal:` / `link:` pointing outside the project. */
  local: SourceAllowance[];
}

export type SourceKind = keyof SourceAllowances;
export const SOURCE_KINDS: readonly SourceKind[] = ['git', 'tarball', 'exec', 'local'];

export interface PolicyModel {
  version: 1;
  mode: PolicyMode;
  default: PolicyRule;
  rules: PolicyRule[];
  sources: SourceAllowances;
  /** Whether settings / YARN_* environment overrides may loosen the mode. */
  allowLooseningOverrides: boolean;
  /** The `extends` value as written. */
  extends?: string;
}

export interface PolicyProblem {
  severity: 'error' | 'warning';
  file: string;
  /** Where inside the file, e.g. `rules[3].identity.ref` (empty for the whole file). */
  path: string;
  /** What was expected there. */
  expected: string;
  /** What was found, when it helps. */
  found?: string;
}

export function formatProblem(problem: PolicyProblem): string {
  const where = problem.path ? `${problem.file}: ${problem.path}` : problem.file;
  const found = problem.found === undefined ? '' : ` (found ${problem.found})`;
  return `${problem.severity}: ${where}: expected ${problem.expected}${found}`;
}

/** A policy file loaded and validated (src/policy/load.ts), with its baselines. */
export interface LoadedPolicy {
  /** Absolute path of the file it came from (undefined in zero-config mode). */
  filepath?: string;
  /** sha256 hex of the effective policy (this file and its baselines): a cache key for verified verdicts. */
  digest: string;
  /** The validated model. */
  model: PolicyModel;
  /** The `extends` baseline, loaded and validated; evaluation applies both and keeps the stricter verdict. */
  baseline?: LoadedPolicy;
  /** Validation warnings (e.g. shadowed rules), of this file and its baselines. */
  warnings: PolicyProblem[];
}
