/**
 * The Yarn layer's view of the trust policy: loads it with the settings'
 * overrides and answers package and source questions. Imported lazily.
 */
import { evaluate, loadPolicy, type LoadedPolicy, type PackageRef, type Verdict, type VerificationOutcome } from '../policy';
import { evaluateSource, type SourceDecision, type SourceRequest } from '../policy/sources';
import type { SigstoreSettings } from './settings';

export interface PolicyHandle {
  readonly loaded: LoadedPolicy | undefined;
  /** Notes to print once per install (mode overrides applied or refused). */
  readonly notes: string[];
  judge(pkg: PackageRef, outcome: VerificationOutcome): Verdict;
  judgeSource(request: SourceRequest): SourceDecision;
}

export async function loadPolicyHandle(projectDir: string, settings: SigstoreSettings): Promise<PolicyHandle> {
  const loaded = await loadPolicy(projectDir, { path: settings.policyPath ?? undefined });
  return {
    loaded,
    notes: [],
    judge: (pkg, outcome) => evaluate(loaded, pkg, outcome),
    judgeSource: (request) => evaluateSource((loaded as any)?.model, request),
  };
}
