/**
 * The Yarn layer's view of the trust policy: loads it with the settings'
 * mode override and answers package and source questions. Imported lazily.
 */
import { ErrorCodes, SigstorePluginError } from '../errors';
import {
  POLICY_MODES,
  evaluate,
  evaluateSource,
  formatProblem,
  loadPolicy,
  resolveMode,
  type LoadedPolicy,
  type PackageRef,
  type PolicyMode,
  type SourceDecision,
  type SourceRequest,
  type Verdict,
  type VerificationOutcome,
} from '../policy';
import { reportError } from './errors';
import type { SigstoreSettings } from './settings';

export interface PolicyHandle {
  readonly loaded: LoadedPolicy | undefined;
  /** Notes to print once per install (mode override applied or refused, policy warnings). */
  readonly notes: string[];
  judge(pkg: PackageRef, outcome: VerificationOutcome): Verdict;
  judgeSource(request: SourceRequest): SourceDecision;
}

const OVERRIDE_SOURCE = 'the sigstoreMode setting (.yarnrc.yml or YARN_SIGSTORE_MODE)';

export async function loadPolicyHandle(projectDir: string, settings: SigstoreSettings): Promise<PolicyHandle> {
  let loaded: LoadedPolicy | undefined;
  try {
    loaded = await loadPolicy(projectDir, { path: settings.policyPath ?? undefined });
  } catch (error) {
    const coded = error instanceof SigstorePluginError ? error : new SigstorePluginError(ErrorCodes.POLICY_INVALID, `cannot load the trust policy: ${(error as Error).message}`, { cause: error });
    throw reportError(coded);
  }
  const notes = (loaded?.warnings ?? []).map((problem) => `policy warning: ${formatProblem(problem)}`);
  const modeOverride = settings.mode === null ? undefined : { mode: parseMode(settings.mode), source: OVERRIDE_SOURCE };
  if (modeOverride) {
    const resolved = resolveMode({ policy: loaded?.model, override: modeOverride.mode, overrideSource: modeOverride.source });
    if (resolved.override) notes.push(resolved.override.note);
  }
  return {
    loaded,
    notes,
    judge: (pkg, outcome) => evaluate(loaded, pkg, outcome, { modeOverride }),
    judgeSource: (request) => evaluateSource(loaded?.model, request),
  };
}

function parseMode(value: string): PolicyMode {
  if ((POLICY_MODES as readonly string[]).includes(value)) return value as PolicyMode;
  throw reportError(new SigstorePluginError(ErrorCodes.POLICY_INVALID, `sigstoreMode is "${value}"; expected one of ${POLICY_MODES.join(', ')}`));
}
