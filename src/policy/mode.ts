/**
 * Effective mode of a rule. Precedence, highest first:
 * 1. an override (a Yarn setting or YARN_* environment variable) — applied
 *    when it tightens, or when it loosens and the policy sets
 *    `allowLooseningOverrides: true`; otherwise refused and reported;
 * 2. the rule's own `mode`;
 * 3. the policy's `mode` (default `enforce`).
 */
import { MODE_STRICTNESS, type PolicyMode, type PolicyModel, type PolicyRule } from './model';

export interface ResolvedMode {
  mode: PolicyMode;
  source: 'override' | 'rule' | 'policy';
  /** Present whenever an override was given: what happened to it (the install summary prints this). */
  override?: { requested: PolicyMode; source: string; applied: boolean; note: string };
}

export function resolveMode(input: {
  policy: Pick<PolicyModel, 'mode' | 'allowLooseningOverrides'> | undefined;
  rule?: Pick<PolicyRule, 'mode'>;
  override?: PolicyMode;
  overrideSource?: string;
}): ResolvedMode {
  const { policy, rule, override } = input;
  const base: ResolvedMode = rule?.mode ? { mode: rule.mode, source: 'rule' } : { mode: policy?.mode ?? 'enforce', source: 'policy' };
  if (override === undefined) return base;
  const source = input.overrideSource ?? 'override';
  const loosens = MODE_STRICTNESS[override] < MODE_STRICTNESS[base.mode];
  if (loosens && !policy?.allowLooseningOverrides) {
    const note = `${source} asks for mode ${override}, refused: it would loosen mode ${base.mode} and the policy does not set allowLooseningOverrides: true`;
    return { ...base, override: { requested: override, source, applied: false, note } };
  }
  const note = `${source} sets mode ${override} (${loosens ? 'loosening, allowed by the policy' : override === base.mode ? 'unchanged' : 'tightening'})`;
  return { mode: override, source: 'override', override: { requested: override, source, applied: true, note } };
}
