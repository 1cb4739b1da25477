/**
 * Trust policy: load, validate, match and evaluate. Knows nothing of Yarn.
 * Reference: docs/policy.md of the yarn-plugin-sigstore repository.
 */
import path from 'node:path';
import { evaluateModel, evaluateZeroConfig, stricterVerdict, type EvaluateOptions, type PackageRef, type Verdict, type VerificationOutcome } from './evaluate';
import type { LoadedPolicy } from './load';

export type { VerificationOutcome, PackageRef, Verdict, EvaluateOptions } from './evaluate';
export { registrySignatureModeOf, describeRule, firstPackages, isExpired, matchRule, stricterVerdict, POLICY_INIT_HINT, type RuleRef } from './evaluate';
export { allowCommand, trustCommand } from './commands';
export { loadPolicy, validatePolicyFile, validatePolicyText, findPolicyFiles, POLICY_FILE_NAMES, type LoadedPolicy, type ParsedPolicyCache, type PolicyFileCheck } from './load';
export { resolveMode, type ResolvedMode } from './mode';
export { evaluateSource, classifySource, canonicalRepository, gitTarget, tarballUrl, type SourcePolicy, type SourceRequest, type SourceDecision, type SourceCategory } from './sources';
export { identityMismatches, sourceRepositoryOf, workflowPathOf, signerWorkflowOf, GITHUB_ACTIONS_ISSUER, type Mismatch } from './identity';
export { matchGlob, matchUriGlob, compileGlob } from './glob';
export { parseSelector, type PackageSelector } from './packages';
export { validatePolicyDocument } from './validate';
export { findDowngrade, type DowngradeFinding } from './history';
export * from './model';

/**
 * One package's verdict. Without a policy: zero-config (verify what exists,
 * allow the unsigned, deny a failed bundle). With a baseline (`extends`),
 * both policies apply and the stricter verdict wins.
 */
export function evaluate(policy: LoadedPolicy | undefined, pkg: PackageRef, outcome: VerificationOutcome, options: EvaluateOptions = {}): Verdict {
  if (!policy) return evaluateZeroConfig(pkg, outcome, options.downgrade);
  return evaluateWithBaselines(policy, pkg, outcome, options, undefined);
}

/** Baseline verdicts name their file, so a user sees which policy denied. */
function evaluateWithBaselines(policy: LoadedPolicy, pkg: PackageRef, outcome: VerificationOutcome, options: EvaluateOptions, file: string | undefined): Verdict {
  const own = evaluateModel(policy.model, pkg, outcome, options, file);
  if (!policy.baseline) return own;
  const baselineFile = policy.baseline.filepath ? path.basename(policy.baseline.filepath) : 'baseline';
  return stricterVerdict(own, evaluateWithBaselines(policy.baseline, pkg, outcome, options, baselineFile));
}
