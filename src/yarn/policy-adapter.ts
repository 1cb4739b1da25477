/**
 * The Yarn layer's view of the trust policy: loads it with the settings'
 * mode override and answers package and source questions. Imported lazily.
 *
 * Which policy: the project's (its `sigstorePolicyPath`, else the policy file
 * at its root, else zero-config); for `yarn dlx`'s temporary project, the
 * policy of the project dlx runs from (dlx.ts). A policy path chosen by the
 * environment applies in addition to that committed policy: every package
 * gets the stricter verdict and every source must be allowed by both
 * (overrides.ts says why).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ErrorCodes, SigstorePluginError } from '../errors';
import {
  POLICY_MODES,
  evaluate,
  evaluateSource,
  formatProblem,
  loadPolicy,
  resolveMode,
  stricterVerdict,
  type LoadedPolicy,
  type ParsedPolicyCache,
  type PolicyMode,
} from '../policy';
import type { PolicyView } from '../install/pipeline';
import { originPath, projectScope, type ProjectScope } from './dlx';
import { reportError } from './errors';
import { committedSetting, environmentChoices } from './overrides';
import type { SigstoreSettings } from './settings';

/** The policy as the install pipeline takes it (one definition: src/install/pipeline.ts). */
export type PolicyHandle = PolicyView;

const OVERRIDE_SOURCE = 'the sigstoreMode setting (.yarnrc.yml or YARN_SIGSTORE_MODE)';

interface Policies {
  /** The committed policy (undefined: zero-config). */
  committed: LoadedPolicy | undefined;
  /** A policy the environment chose, applied in addition. */
  additional?: LoadedPolicy;
}

async function loadPolicies(scope: ProjectScope, settings: SigstoreSettings, cache?: ParsedPolicyCache): Promise<Policies> {
  // In a `yarn dlx` project, a relative path of the copied .yarnrc.yml names a file of the project dlx runs from.
  const configured = scope.dlx ? originPath(settings.policyPath, scope.dlx.tempDir, scope.dir) : settings.policyPath;
  try {
    if (!environmentChoices(settings).some((setting) => setting.key === 'sigstorePolicyPath')) {
      return { committed: await loadPolicy(scope.dir, { path: configured ?? undefined, cache }) };
    }
    const committedPath = committedSetting(scope.dir, 'sigstorePolicyPath');
    return {
      committed: await loadPolicy(scope.dir, { path: typeof committedPath === 'string' ? committedPath : undefined, cache }),
      additional: await loadPolicy(scope.dir, { path: configured ?? undefined, cache }),
    };
  } catch (error) {
    const coded = error instanceof SigstorePluginError ? error : new SigstorePluginError(ErrorCodes.POLICY_INVALID, `cannot load the trust policy: ${(error as Error).message}`, { cause: error });
    throw reportError(coded);
  }
}

/** `policy` with `last` appended to its `extends` chain: evaluation already applies a whole chain and keeps the stricter verdict. */
function withFinalBaseline(policy: LoadedPolicy, last: LoadedPolicy): LoadedPolicy {
  const baseline = policy.baseline ? withFinalBaseline(policy.baseline, last) : last;
  return { ...policy, baseline, digest: createHash('sha256').update(`${policy.digest}+${last.digest}`).digest('hex') };
}

function labelOf(policies: Policies, scope: ProjectScope): string {
  const name = (policy: LoadedPolicy) => (scope.dlx ? policy.filepath! : path.relative(scope.dir, policy.filepath!));
  let label = policies.committed ? name(policies.committed) : 'none (zero-config)';
  if (policies.additional) label += ` + ${name(policies.additional)} from the environment`;
  if (!scope.dlx) return label;
  return scope.dlx.origin === null ? `${label}, yarn dlx runs outside any project` : `${label}, the policy of ${scope.dlx.origin}, where yarn dlx runs`;
}

/** `cache`: parsed policy documents kept between installs (parsedPolicyCache). */
export async function loadPolicyHandle(projectDir: string, settings: SigstoreSettings, cache?: ParsedPolicyCache): Promise<PolicyHandle> {
  const scope = await projectScope(projectDir);
  const policies = await loadPolicies(scope, settings, cache);
  const { committed, additional } = policies;
  const loaded = committed && additional ? { ...withFinalBaseline(committed, additional), warnings: [...committed.warnings, ...additional.warnings] } : (committed ?? additional);
  const notes = (loaded?.warnings ?? []).map((problem) => `policy warning: ${formatProblem(problem)}`);
  const modeOverride = settings.mode === null ? undefined : { mode: parseMode(settings.mode), source: OVERRIDE_SOURCE };
  if (modeOverride) {
    const resolved = resolveMode({ policy: loaded?.model, override: modeOverride.mode, overrideSource: modeOverride.source });
    if (resolved.override) notes.push(resolved.override.note);
  }
  // An environment policy over zero-config is still held to zero-config's verdicts (it cannot skip a failed bundle).
  const overZeroConfig = additional !== undefined && committed === undefined;
  return {
    loaded,
    label: labelOf(policies, scope),
    notes,
    outsideProject: scope.dlx?.origin === null,
    judge: (pkg, outcome, signals = {}) => {
      const verdict = evaluate(loaded, pkg, outcome, { modeOverride, downgrade: signals.downgrade });
      return overZeroConfig ? stricterVerdict(evaluate(undefined, pkg, outcome, { downgrade: signals.downgrade }), verdict) : verdict;
    },
    judgeSource: (request) => {
      const decision = evaluateSource(loaded, request);
      return overZeroConfig && decision.decision === 'allow' ? evaluateSource(undefined, request) : decision;
    },
  };
}

function parseMode(value: string): PolicyMode {
  if ((POLICY_MODES as readonly string[]).includes(value)) return value as PolicyMode;
  throw reportError(new SigstorePluginError(ErrorCodes.POLICY_INVALID, `sigstoreMode is "${value}"; expected one of ${POLICY_MODES.join(', ')}`));
}
