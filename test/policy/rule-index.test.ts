/**
 * The rule index (src/policy/rule-index.ts) finds the same first rule as a
 * scan of every rule in order, on generated policies that mix exact names in
 * any case, name globs, version ranges and expired exceptions.
 */
import { describe, expect, it } from 'vitest';
import { isExpired, matchRule, type PackageRef } from '../../src/policy';
import type { PolicyModel, PolicyRule } from '../../src/policy/model';
import { prng } from '../../testkit/mutate';
import { GENERATED_PACKAGE_NAMES, generatedRules, policyOf } from '../../testkit/policy-helpers';

const random = prng(20261207);
const VERSIONS = ['3.10.1', '4.17.21', '18.2.0', '19.0.0', '8.0.0-beta.1', '8.1.3'];
const NOW = new Date('2026-12-07T12:00:00Z');

/** The first rule that selects the package, scanning every rule: what matchRule must agree with. */
function scanned(model: PolicyModel, pkg: PackageRef): PolicyRule {
  return model.rules.find((rule) => !isExpired(rule, NOW) && rule.selectors.some((s) => s.test(pkg.name, pkg.version))) ?? model.default;
}

const generatedPolicy = () => policyOf({ version: 1, default: { require: 'provenance' }, rules: generatedRules(random) }).model;

describe('the rule index', () => {
  it('selects the same rule as a scan of every rule, on 300 generated policies', () => {
    let selectedByRule = 0;
    for (let round = 0; round < 300; round++) {
      const model = generatedPolicy();
      for (const name of GENERATED_PACKAGE_NAMES) {
        for (const version of VERSIONS) {
          const pkg = { name, version };
          const expected = scanned(model, pkg);
          expect(matchRule(model, pkg, NOW), `${name}@${version} in ${JSON.stringify(model.rules.map((r) => r.packages))}`).toBe(expected);
          if (expected !== model.default) selectedByRule++;
        }
      }
    }
    // The generator must exercise rules, not only the default.
    expect(selectedByRule).toBeGreaterThan(10_000);
  });

  it('follows a model whose rules were replaced', () => {
    const model = generatedPolicy();
    const leftPad = { name: 'left-pad', version: '1.0.0' };
    expect(matchRule(model, leftPad, NOW)).toBe(scanned(model, leftPad));
    const other = policyOf({ version: 1, default: { require: 'provenance' }, rules: [{ packages: ['left-pad'], require: 'none', reason: 'x' }] }).model;
    model.rules = other.rules;
    expect(matchRule(model, leftPad, NOW)).toBe(other.rules[0]);
  });
});
