/**
 * Which rules may select a package, by its name: `policy init` writes one
 * selector per package, so trying every selector on every package grows with
 * the square of the tree. Exact names are looked up; only name globs (`*`,
 * `@scope/*`) are tried on every name. Order is kept: the first rule that
 * selects a package still decides.
 */
import type { PackageSelector } from './packages';
import type { PolicyModel, PolicyRule } from './model';
import { hasWildcard } from './glob';

/** A rule and those of its selectors that may select a given name. */
export interface CandidateRule {
  rule: PolicyRule;
  selectors: readonly PackageSelector[];
}

interface Entry {
  position: number;
  selectors: PackageSelector[];
}

interface RuleIndex {
  /** By lowercase exact name: the rules naming it, ascending, with those selectors. */
  byName: Map<string, Entry[]>;
  /** The rules with name globs, ascending, with their glob selectors. */
  globbed: Entry[];
  /** Memo of candidateRules, by lowercase name. */
  candidates: Map<string, readonly CandidateRule[]>;
  /** The rules array the index was built from: another array (an edited model) is indexed anew. */
  rules: readonly PolicyRule[];
  size: number;
}

const indexes = new WeakMap<PolicyModel, RuleIndex>();

const isGlob = (selector: PackageSelector) => selector.name === '*' || hasWildcard(selector.name);

/** Adds a selector to the list's entry for `position` (the last one: rules are added in order). */
function add(entries: Entry[], position: number, selector: PackageSelector): void {
  const last = entries.at(-1);
  if (last?.position === position) last.selectors.push(selector);
  else entries.push({ position, selectors: [selector] });
}

function buildIndex(model: PolicyModel): RuleIndex {
  const index: RuleIndex = { byName: new Map(), globbed: [], candidates: new Map(), rules: model.rules, size: model.rules.length };
  model.rules.forEach((rule, position) => {
    for (const selector of rule.selectors) {
      if (isGlob(selector)) {
        add(index.globbed, position, selector);
        continue;
      }
      const name = selector.name.toLowerCase();
      const entries = index.byName.get(name) ?? [];
      add(entries, position, selector);
      index.byName.set(name, entries);
    }
  });
  return index;
}

function indexOf(model: PolicyModel): RuleIndex {
  const known = indexes.get(model);
  if (known && known.rules === model.rules && known.size === model.rules.length) return known;
  const built = buildIndex(model);
  indexes.set(model, built);
  return built;
}

/** Merges two lists ascending by position; a rule in both gets the selectors of both. */
function merge(model: PolicyModel, a: Entry[], b: Entry[]): CandidateRule[] {
  const merged: CandidateRule[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const position = Math.min(a[i]?.position ?? Infinity, b[j]?.position ?? Infinity);
    const selectors: PackageSelector[] = [];
    if (a[i]?.position === position) selectors.push(...a[i++].selectors);
    if (b[j]?.position === position) selectors.push(...b[j++].selectors);
    merged.push({ rule: model.rules[position], selectors });
  }
  return merged;
}

/**
 * The rules, in policy order, that may select `name`, each with the selectors
 * that may: a superset of those that select it, which the caller still tests
 * with the version and the expiry.
 */
export function candidateRules(model: PolicyModel, name: string): readonly CandidateRule[] {
  const index = indexOf(model);
  const key = name.toLowerCase();
  const known = index.candidates.get(key);
  if (known) return known;
  const candidates = merge(model, index.byName.get(key) ?? [], index.globbed);
  index.candidates.set(key, candidates);
  return candidates;
}
