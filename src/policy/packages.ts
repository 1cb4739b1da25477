/**
 * Package selectors: `name`, `name@<semver range>`, with the policy glob
 * dialect on names. `*` alone selects every package, scoped ones included;
 * `@acme/*` selects one scope; `*` never crosses the `/` of a scoped name.
 */
import semver from 'semver';
import { compileGlob, globProblem, hasWildcard } from './glob';

export interface PackageSelector {
  /** The selector as written. */
  source: string;
  name: string;
  range?: string;
  test(name: string, version: string): boolean;
}

const VALID_NAME_GLOB = /^(@[a-z0-9*][a-z0-9._~*-]*\/)?[a-z0-9*][a-z0-9._~*-]*$/i;

/** Splits `name@range` at the `@` that is not a scope marker. */
function splitSelector(source: string): { name: string; range?: string } {
  const at = source.indexOf('@', 1);
  if (at === -1) return { name: source };
  return { name: source.slice(0, at), range: source.slice(at + 1) };
}

/** Why a selector is invalid, or undefined. */
export function selectorProblem(source: string): string | undefined {
  const { name, range } = splitSelector(source.trim());
  if (source !== source.trim()) return 'a package selector without surrounding spaces';
  if (name !== '*' && (!VALID_NAME_GLOB.test(name) || globProblem(name) || name.includes('**'))) {
    return 'a package name or name glob (`*`, `@scope/*`, `name`, `name@<semver range>`)';
  }
  if (range !== undefined && (range.trim() === '' || semver.validRange(range) === null)) {
    return `a valid semver range after \`@\` (got "${range}")`;
  }
  return undefined;
}

/**
 * Tests a lowercased package name against a selector's name. An exact name is
 * compared as a string: a RegExp is compiled on its first use, and policy init
 * writes one selector per package.
 */
function lowercaseNameTest(name: string): (lowercased: string) => boolean {
  if (name === '*') return () => true;
  const lower = name.toLowerCase();
  if (!hasWildcard(name)) return (lowercased) => lowercased === lower;
  const glob = compileGlob(lower);
  return (lowercased) => glob.test(lowercased);
}

export function parseSelector(source: string): PackageSelector {
  const { name, range } = splitSelector(source);
  const nameMatches = lowercaseNameTest(name);
  return {
    source,
    name,
    range,
    test(candidate: string, version: string): boolean {
      if (!nameMatches(candidate.toLowerCase())) return false;
      // Prereleases compare by their numeric order: `<2` holds 2.0.0-beta.
      return range === undefined || semver.satisfies(version, range, { includePrerelease: true });
    },
  };
}

/**
 * True when `broader` selects every package `narrower` selects (used to warn
 * about shadowed rules). Conservative: false when unsure.
 */
export function selectorCovers(broader: PackageSelector, narrower: PackageSelector): boolean {
  if (broader.range !== undefined && broader.range !== narrower.range) return false;
  if (broader.name === '*') return true;
  if (broader.name.toLowerCase() === narrower.name.toLowerCase()) return true;
  return !hasWildcard(narrower.name) && nameMatches(broader, narrower.name);
}

/**
 * True when two selectors may select a common package (used to find which
 * baseline rules a local rule touches). Liberal: true when unsure.
 */
export function selectorsOverlap(a: PackageSelector, b: PackageSelector): boolean {
  if (a.name === '*' || b.name === '*') return true;
  if (!hasWildcard(a.name)) return nameMatches(b, a.name);
  if (!hasWildcard(b.name)) return nameMatches(a, b.name);
  const scopeOf = (name: string) => (name.startsWith('@') ? name.slice(0, name.indexOf('/')) : '');
  const scopeA = scopeOf(a.name);
  const scopeB = scopeOf(b.name);
  if (scopeA === '' || scopeB === '') return scopeA === scopeB;
  return hasWildcard(scopeA) || hasWildcard(scopeB) || scopeA.toLowerCase() === scopeB.toLowerCase();
}

function nameMatches(selector: PackageSelector, name: string): boolean {
  return selector.name === '*' || compileGlob(selector.name.toLowerCase()).test(name.toLowerCase());
}
