/**
 * `extends`: a local policy may only tighten its organization baseline. These
 * checks report the loosenings that can be seen in the files; evaluation also
 * applies both policies and keeps the stricter verdict, so nothing the checks
 * cannot see gets through either.
 */
import { MODE_STRICTNESS, REQUIREMENT_STRICTNESS, SOURCE_KINDS, type PolicyModel, type PolicyProblem, type PolicyRule } from './model';
import { selectorCovers, selectorsOverlap, type PackageSelector } from './packages';
import { describeRule } from './evaluate';
import { allowanceCovers } from './sources';

function effectiveMode(model: PolicyModel, rule: PolicyRule) {
  return rule.mode ?? model.mode;
}

/** The baseline rules that may apply to packages `selector` selects: overlapping ones up to the first that covers it, else also `default`. */
function baselineRulesFor(baseline: PolicyModel, selector: PackageSelector): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (const base of baseline.rules) {
    if (!base.selectors.some((b) => selectorsOverlap(b, selector))) continue;
    rules.push(base);
    if (base.expires === undefined && base.selectors.some((b) => selectorCovers(b, selector))) return rules;
  }
  return [...rules, baseline.default];
}

function ruleLoosenings(local: PolicyModel, rule: PolicyRule, baseline: PolicyModel, baselineFile: string): Array<{ key: string; expected: string }> {
  const path = rule.index === -1 ? 'default' : `rules[${rule.index}]`;
  // Packages that earlier local rules take never reach this rule: baseline rules they fully cover are out of its reach.
  const earlierLocal = local.rules.filter((r) => (rule.index === -1 || r.index < rule.index) && r.expires === undefined).flatMap((r) => r.selectors);
  const reachable = (base: PolicyRule) => base.index === -1 || !base.selectors.every((b) => earlierLocal.some((l) => selectorCovers(l, b)));
  const touched = new Set(rule.selectors.flatMap((selector) => baselineRulesFor(baseline, selector)).filter(reachable));
  const found: Array<{ key: string; expected: string }> = [];
  for (const base of touched) {
    const what = `${describeRule(base)} of the baseline ${baselineFile}`;
    if (REQUIREMENT_STRICTNESS[rule.require] < REQUIREMENT_STRICTNESS[base.require]) {
      found.push({ key: `${path}.require`, expected: `require: ${base.require} or stricter, as ${what} says` });
    }
    if (rule.verify === 'skip' && base.verify !== 'skip') {
      found.push({ key: `${path}.verify`, expected: `no verify: skip (${what} does not skip verification)` });
    }
    if (MODE_STRICTNESS[effectiveMode(local, rule)] < MODE_STRICTNESS[effectiveMode(baseline, base)]) {
      found.push({ key: `${path}.mode`, expected: `mode ${effectiveMode(baseline, base)} or stricter, as ${what} says` });
    }
  }
  return found;
}

/** Every loosening of `baseline` that `local` makes, as validation errors in `file`. */
export function baselineLoosenings(local: PolicyModel, baseline: PolicyModel, file: string, baselineFile: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const error = (path: string, expected: string, found?: string) => problems.push({ severity: 'error', file, path, expected: `${expected} (a local policy may only tighten its baseline)`, found });
  if (MODE_STRICTNESS[local.mode] < MODE_STRICTNESS[baseline.mode]) error('mode', `mode ${baseline.mode} or stricter, as the baseline ${baselineFile} says`, local.mode);
  if (local.allowLooseningOverrides && !baseline.allowLooseningOverrides) error('allowLooseningOverrides', `false, as the baseline ${baselineFile} says`, 'true');
  for (const kind of SOURCE_KINDS) {
    local.sources[kind].forEach((allowance, i) => {
      if (!baseline.sources[kind].some((allowed) => allowanceCovers(allowed, allowance))) error(`sources.${kind}[${i}]`, `only sources the baseline ${baselineFile} allows`, allowance.selector.source);
    });
  }
  for (const rule of [...local.rules, local.default]) {
    const seen = new Set<string>();
    for (const loosening of ruleLoosenings(local, rule, baseline, baselineFile)) {
      if (seen.has(loosening.key)) continue;
      seen.add(loosening.key);
      error(loosening.key, loosening.expected);
    }
  }
  return problems;
}
