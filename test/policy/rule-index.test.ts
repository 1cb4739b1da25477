/**
 * The rule index (src/policy/rule-index.ts) finds the same first rule as a
 * scan of every rule in order, on generated policies that mix exact names in
 * any case, name globs, version ranges and expired exceptions.
 */
import { describe, expect, it } from 'vitest';
import { isExpired, matchRule } from '../../src/policy';
import type { PolicyModel, PolicyRule } from '../../src/policy/model';
import type { PackageRef } from '../../src/policy/evaluate';
import { validatePolicyDocument } from '../../src/policy/validate';

/** A small seeded PRNG (mulberry32) so generated cases are reproducible. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(20261207);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const NAMES = ['lodash', 'react', 'react-dom', '@babel/core', '@babel/types', '@types/node', 'esbuild', '@esbuild/linux-x64', 'left-pad'];
const SELECTORS = [...NAMES, ...NAMES.map((name) => name.toUpperCase()), '*', '@babel/*', '@esbuild/*', 'react*', 'lodash@<4', 'react@^18', '@babel/core@>=8'];
const VERSIONS = ['3.10.1', '4.17.21', '18.2.0', '19.0.0', '8.0.0-beta.1', '8.1.3'];
const NOW = new Date('2026-12-07T12:00:00Z');

/** The first rule that selects the package, scanning every rule: what matchRule must agree with. */
function scanned(model: PolicyModel, pkg: PackageRef): PolicyRule {
  return model.rules.find((rule) => !isExpired(rule, NOW) && rule.selectors.some((s) => s.test(pkg.name, pkg.version))) ?? model.default;
}

function generatedPolicy(): PolicyModel {
  const rules = Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
    const expires = pick([undefined, '2026-12-06', '2027-01-01']);
    const packages = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(SELECTORS));
    return { packages, require: 'none', reason: 'generated', ...(expires ? { expires } : {}) };
  });
  const { model, problems } = validatePolicyDocument({ version: 1, default: { require: 'provenance' }, rules }, 'generated.yml');
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  return model!;
}

describe('the rule index', () => {
  it('selects the same rule as a scan of every rule, on 300 generated policies', () => {
    let selectedByRule = 0;
    for (let round = 0; round < 300; round++) {
      const model = generatedPolicy();
      for (const name of [...NAMES, 'REACT', 'unknown-package']) {
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
    expect(matchRule(model, { name: 'left-pad', version: '1.0.0' }, NOW)).toBe(scanned(model, { name: 'left-pad', version: '1.0.0' }));
    const { model: other } = validatePolicyDocument({ version: 1, default: { require: 'provenance' }, rules: [{ packages: ['left-pad'], require: 'none', reason: 'x' }] }, 'other.yml');
    model.rules = other!.rules;
    expect(matchRule(model, { name: 'left-pad', version: '1.0.0' }, NOW)).toBe(other!.rules[0]);
  });
});
