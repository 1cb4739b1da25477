/**
 * Evaluation: a pure function from (policy, package, verification outcome)
 * to one verdict. Time comes from the caller (an injectable clock), never
 * from the file system or the network.
 */
import type { PackageVerification } from '../verify/types';
import { ErrorCodes, type SigstorePluginError } from '../errors';
import { printable } from '../printable';
import { identityMismatches, type Mismatch } from './identity';
import { resolveMode, type ResolvedMode } from './mode';
import { DEFAULT_REGISTRY_SIGNATURE_MODE, REGISTRY_SIGNATURE_STRICTNESS, type LoadedPolicy, type PolicyMode, type PolicyModel, type PolicyRule, type RegistrySignatureMode } from './model';
import type { DowngradeFinding } from './history';
import { candidateRules } from './rule-index';
import { allowCommand, trustCommand } from './commands';

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

export interface Verdict {
  decision: 'allow' | 'deny' | 'warn';
  /** 'verified', 'allowed-unsigned', 'verification-skipped', 'policy-off', 'policy-mismatch' or 'verification-failed'. */
  reason: string;
  /**
   * The matched rule: index in `rules` (-1 for `default`), its `name:` when it has one, and how
   * messages name it. Never its package list: a verdict is printed and recorded per package.
   */
  rule?: RuleRef;
  /** For a deny or warn: every field that did not match. */
  mismatches: Mismatch[];
  /** One line a user reads when CI fails. */
  message: string;
  /** The effective mode and any override in force (for the install summary). */
  mode?: ResolvedMode;
  /** The code a denial reports when no failed verification or pin gives one (PROVENANCE_DOWNGRADE). */
  code?: string;
  /**
   * For a deny or warn of the project's own policy that a policy command resolves: `allow` (an
   * exception: no provenance where the rule wants it), `trust` (a rule from the verified identity),
   * `review` (a signer the rule does not expect: trust it only after a review). The message names the command.
   */
  resolution?: Resolution;
}

export type Resolution = 'allow' | 'trust' | 'review';

export interface EvaluateOptions {
  /** "Now" for `expires` (default: the current time). */
  now?: Date;
  /** A mode from a Yarn setting or YARN_* variable; see resolveMode. */
  modeOverride?: { mode: PolicyMode; source: string };
  /**
   * The registry's history says earlier versions of this version's line carried provenance (the
   * caller passes it only for a package sigstore.lock does not pin, installed without provenance).
   */
  downgrade?: DowngradeFinding;
}

export interface RuleRef {
  index: number;
  name?: string;
  description: string;
  /** The rule's `expires`, when it is an exception that expires (reports list those about to). */
  expires?: string;
}

const PROVENANCE_WITHOUT_PUBLISH = 'provenance without publish attestation';

export const POLICY_INIT_HINT = 'run `yarn sigstore policy init` to require provenance';

/** How many of a rule's packages a message shows before `+N more`. */
const PACKAGES_SHOWN = 3;

/** A rule's first packages: `react, react-dom, +12 more` (the list can hold hundreds). */
export function firstPackages(packages: readonly string[]): string {
  if (packages.length <= PACKAGES_SHOWN) return packages.join(', ');
  const shown = packages.slice(0, PACKAGES_SHOWN - 1);
  return `${shown.join(', ')}, +${packages.length - shown.length} more`;
}

/** `rule "react-stack"`, `rules[2] (@acme/*)` or `default rule`, optionally naming the file. */
export function describeRule(rule: Pick<PolicyRule, 'index' | 'packages' | 'name'>, file?: string): string {
  const name = rule.name !== undefined ? `rule "${rule.name}"` : rule.index === -1 ? 'default rule' : `rules[${rule.index}] (${firstPackages(rule.packages)})`;
  return file ? `${name} of ${file}` : name;
}

/**
 * What a user can change in the policy to resolve a denial, when a policy change can: an
 * exception for a package without provenance; for a signer the rule does not expect, a rule
 * from the verified identity, but only after a review (a new signer may be a takeover).
 */
function resolutionOf(mismatches: Mismatch[]): Resolution | undefined {
  const requirement = mismatches.find((m) => m.field === 'require');
  // Provenance where a publish attestation was required: a provenance rule, not an exception, resolves it.
  if (requirement?.found === PROVENANCE_WITHOUT_PUBLISH) return 'trust';
  if (requirement) return 'allow';
  if (mismatches.some((m) => m.field.startsWith('identity.'))) return 'review';
  return undefined;
}

const RESOLUTION_HINTS: Record<Resolution, (name: string) => string> = {
  trust: (name) => `; to require its provenance instead: ${trustCommand(name)}`,
  allow: (name) => `; to allow it without provenance: ${allowCommand(name)}`,
  review: (name) => `; a changed signer may be an attack: review the change, and if this signer is expected: ${trustCommand(name)}`,
};

/** An exception dated `YYYY-MM-DD` holds through the end of that UTC day. */
export function isExpired(rule: Pick<PolicyRule, 'expires'>, now: Date): boolean {
  if (rule.expires === undefined) return false;
  return now.getTime() >= Date.parse(`${rule.expires}T00:00:00Z`) + 24 * 3600 * 1000;
}

/** The first rule that selects the package and has not expired, else `default`. */
export function matchRule(model: PolicyModel, pkg: PackageRef, now: Date): PolicyRule {
  const selected = candidateRules(model, pkg.name).find(({ rule, selectors }) => !isExpired(rule, now) && selectors.some((s) => s.test(pkg.name, pkg.version)));
  return selected?.rule ?? model.default;
}

const idOf = (pkg: PackageRef) => `${pkg.name}@${pkg.version}`;

function failureText(outcome: { error: SigstorePluginError }): string {
  return `${outcome.error.code ?? 'ERROR'}: ${outcome.error.message}`;
}

/** Registry signature failures (`dist.signatures`): the tarball, not a bundle, failed. */
const REGISTRY_SIGNATURE_CODES: ReadonlySet<string> = new Set([
  ErrorCodes.REGISTRY_SIGNATURE_INVALID,
  ErrorCodes.REGISTRY_SIGNATURE_MISSING,
  ErrorCodes.REGISTRY_KEY_UNKNOWN,
  ErrorCodes.REGISTRY_KEY_EXPIRED,
]);

/** Codes that say the attestations could not be had at all: nothing is known about a bundle, so nothing is said of one. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([ErrorCodes.SOURCE_FETCH_FAILED, ErrorCodes.SOURCE_OFFLINE]);

/** Why a `failed` outcome denies: a bundle that did not verify, or attestations that could not be fetched. */
function failedMessage(id: string, outcome: { error: SigstorePluginError }): string {
  if (UNREACHABLE_CODES.has(outcome.error.code)) return `${id}: its attestations could not be had, so it cannot be judged (${failureText(outcome)})`;
  if (REGISTRY_SIGNATURE_CODES.has(outcome.error.code)) return `${id}: its npm registry signature check failed (${failureText(outcome)})`;
  return `${id}: a signature bundle exists but failed verification (${failureText(outcome)})`;
}

/** The registry signature mode of the rule that selects the package: its own, else the default rule's, else `when-present`. */
export function registrySignatureMode(model: PolicyModel, pkg: PackageRef, now: Date): RegistrySignatureMode {
  return matchRule(model, pkg, now).registrySignatures ?? model.default.registrySignatures ?? DEFAULT_REGISTRY_SIGNATURE_MODE;
}

/** The registry signature mode for a package: the strictest of the policy and its baselines; zero-config checks them when present. */
export function registrySignatureModeOf(policy: LoadedPolicy | undefined, pkg: PackageRef, now: Date = new Date()): RegistrySignatureMode {
  if (!policy) return DEFAULT_REGISTRY_SIGNATURE_MODE;
  const own = registrySignatureMode(policy.model, pkg, now);
  const baseline = policy.baseline ? registrySignatureModeOf(policy.baseline, pkg, now) : own;
  return REGISTRY_SIGNATURE_STRICTNESS[baseline] > REGISTRY_SIGNATURE_STRICTNESS[own] ? baseline : own;
}

/** Whether the rule selecting the package, in the policy or a baseline, requires an attestation (then the package is expected to be signed). */
export function requiresAttestation(policy: LoadedPolicy | undefined, pkg: PackageRef, now: Date = new Date()): boolean {
  if (!policy) return false;
  return matchRule(policy.model, pkg, now).require !== 'none' || requiresAttestation(policy.baseline, pkg, now);
}

function downgradeMismatch(finding: DowngradeFinding): Mismatch {
  const evidence = finding.evidence === 'trusted-publisher' ? 'a trusted publisher' : 'provenance';
  return { field: 'downgrade', expected: `provenance, as ${finding.signedVersion} of its ${finding.line} line had (${evidence}, per the registry)`, found: 'none' };
}

/** A `downgrade: allow` exception that selects the package but has expired: named in the denial, so that nobody hunts for why it stopped working. */
function expiredException(model: PolicyModel, pkg: PackageRef, now: Date, file?: string): string {
  const rule = model.rules.find((candidate) => candidate.downgrade === 'allow' && isExpired(candidate, now) && candidate.selectors.some((s) => s.test(pkg.name, pkg.version)));
  return rule ? `; the exception ${describeRule(rule, file)} (downgrade: allow) expired on ${rule.expires}` : '';
}

const DOWNGRADE_HINT = 'a takeover publishes without the release pipeline: check the release, and if it is expected, add a rule for this version with `downgrade: allow`, a reason and an expiry';

/** No policy: verify what exists, allow the unsigned, deny a bundle that fails; a provenance downgrade is only warned. */
export function evaluateZeroConfig(pkg: PackageRef, outcome: VerificationOutcome, downgrade?: DowngradeFinding): Verdict {
  const id = idOf(pkg);
  if (outcome.status === 'failed') {
    return { decision: 'deny', reason: 'verification-failed', mismatches: [], message: failedMessage(id, outcome) };
  }
  if (downgrade) {
    const mismatch = downgradeMismatch(downgrade);
    return { decision: 'warn', reason: 'provenance-downgrade', mismatches: [mismatch], code: ErrorCodes.PROVENANCE_DOWNGRADE, message: `${id}: provenance downgrade (no trust policy, so only warned): ${formatMismatches([mismatch])}; ${POLICY_INIT_HINT}` };
  }
  if (outcome.status === 'unsigned') {
    return { decision: 'allow', reason: 'allowed-unsigned', mismatches: [], message: `${id}: no provenance, allowed (no trust policy; ${POLICY_INIT_HINT})` };
  }
  return { decision: 'allow', reason: 'verified', mismatches: [], message: `${id}: verified (no trust policy)` };
}

function requirementMismatches(rule: PolicyRule, pkg: PackageRef, outcome: Exclude<VerificationOutcome, { status: 'failed' }>): Mismatch[] {
  const result = outcome.status === 'verified' ? outcome.result : undefined;
  const evidence = result?.provenance ? 'provenance' : result?.publish ? 'publish attestation only' : 'no attestation';
  if (rule.require === 'provenance') {
    if (!result?.provenance) return [{ field: 'require', expected: 'provenance', found: evidence }];
    return rule.identity ? identityMismatches(rule.identity, result.provenance, pkg.version) : [];
  }
  if (rule.require === 'publish' && !result?.publish) {
    return [{ field: 'require', expected: 'publish attestation', found: result?.provenance ? PROVENANCE_WITHOUT_PUBLISH : evidence }];
  }
  return [];
}

function formatMismatches(mismatches: Mismatch[]): string {
  return mismatches.map((m) => `${m.field} expected ${m.expected}, found ${m.found === undefined ? 'nothing (the certificate lacks this claim)' : printable(m.found)}`).join('; ');
}

/**
 * A verdict under a rule, its keys always in this order. Written out, not
 * spread from a shared base: on Node 20 a literal that spreads an object and
 * adds keys takes some 30 times as long to build, once per package.
 */
function ruled(rule: RuleRef, mode: ResolvedMode, decision: Verdict['decision'], reason: string, mismatches: Mismatch[], message: string, code?: string): Verdict {
  if (code === undefined) return { rule, mode, decision, reason, mismatches, message };
  return { rule, mode, code, decision, reason, mismatches, message };
}

/** How verdicts name a rule: `name` and `expires` only when it has them (in this key order, as `ruled`). */
function ruleRefOf({ index, name, expires }: PolicyRule, description: string): RuleRef {
  if (name === undefined) return expires === undefined ? { index, description } : { index, description, expires };
  return expires === undefined ? { index, name, description } : { index, name, description, expires };
}

/** Evaluates one policy model (without its baseline); `file` names the policy in messages (a baseline's). */
export function evaluateModel(model: PolicyModel, pkg: PackageRef, outcome: VerificationOutcome, options: EvaluateOptions = {}, file?: string): Verdict {
  const id = idOf(pkg);
  const rule = matchRule(model, pkg, options.now ?? new Date());
  const description = describeRule(rule, file);
  const ruleRef = ruleRefOf(rule, description);
  const because = rule.reason ? ` (${rule.reason})` : '';

  // A bundle that exists but fails is a tampering signal: no mode softens it, only `verify: skip`.
  if (outcome.status === 'failed') {
    if (rule.verify === 'skip') {
      return { decision: 'allow', reason: 'verification-skipped', rule: ruleRef, mismatches: [], message: `${id}: verification failure skipped by ${description}${because}, until ${rule.expires}` };
    }
    return { decision: 'deny', reason: 'verification-failed', rule: ruleRef, mismatches: [], message: failedMessage(id, outcome) };
  }
  const mode = resolveMode({ policy: model, rule, override: options.modeOverride?.mode, overrideSource: options.modeOverride?.source });
  if (mode.mode === 'off') return ruled(ruleRef, mode, 'allow', 'policy-off', [], `${id}: policy off for ${description}`);
  const mismatches = requirementMismatches(rule, pkg, outcome);
  const downgraded = options.downgrade !== undefined && rule.downgrade !== 'allow';
  if (downgraded) mismatches.push(downgradeMismatch(options.downgrade!));
  if (mismatches.length > 0) {
    const decision = mode.mode === 'warn' ? 'warn' : 'deny';
    const verb = decision === 'warn' ? 'would be denied (warn mode)' : 'denied';
    if (downgraded) {
      const message = `${id}: ${verb} by ${description}: ${formatMismatches(mismatches)}${expiredException(model, pkg, options.now ?? new Date(), file)}; ${DOWNGRADE_HINT}`;
      return ruled(ruleRef, mode, decision, 'provenance-downgrade', mismatches, message, ErrorCodes.PROVENANCE_DOWNGRADE);
    }
    // A baseline's denial is resolved in the baseline, not by a command that edits this project's policy.
    const resolution = file === undefined ? resolutionOf(mismatches) : undefined;
    const verdict = ruled(ruleRef, mode, decision, 'policy-mismatch', mismatches, `${id}: ${verb} by ${description}: ${formatMismatches(mismatches)}${resolution ? RESOLUTION_HINTS[resolution](pkg.name) : ''}`);
    if (resolution) verdict.resolution = resolution;
    return verdict;
  }
  if (options.downgrade) {
    return ruled(ruleRef, mode, 'allow', 'downgrade-allowed', [], `${id}: no provenance after ${options.downgrade.signedVersion} had it, allowed by ${description}${because}, until ${rule.expires}`);
  }
  if (outcome.status === 'unsigned' || !(outcome.result.provenance || outcome.result.publish)) {
    return ruled(ruleRef, mode, 'allow', 'allowed-unsigned', [], `${id}: no provenance, allowed by ${description}${because}`);
  }
  return ruled(ruleRef, mode, 'allow', 'verified', [], `${id}: verified, ${description}`);
}

const SEVERITY = { allow: 0, warn: 1, deny: 2 } as const;

/** The stricter of two verdicts (a baseline and the policy that extends it); ties keep the first. */
export function stricterVerdict(first: Verdict, second: Verdict): Verdict {
  return SEVERITY[second.decision] > SEVERITY[first.decision] ? second : first;
}
