/**
 * The manifest comparison, free of Yarn: what Yarn is about to install for a
 * registry package (its dependencies, peer dependencies, their flags, bins and
 * platform conditions) against what the verified package.json gives once
 * Yarn's own normalisation made a package of it. The Yarn adapter builds both
 * sides (`src/yarn/manifest-check.ts`); this module only says how they differ.
 */

/** A package as Yarn's resolver makes it, every specification a string. */
export interface PackageShape {
  /** Ident (`@scope/name`) -> normalized range, alias target included (`npm:other@1.0.0`). */
  dependencies: Map<string, string>;
  peerDependencies: Map<string, string>;
  /** Ident -> canonical `dependenciesMeta` entry (optional, built, unplugged), for idents that have one. */
  dependenciesMeta: Map<string, string>;
  /** Ident -> canonical `peerDependenciesMeta` entry (optional peers). */
  peerDependenciesMeta: Map<string, string>;
  /** Bin name -> path, normalized (no `./`). */
  bin: Map<string, string>;
  /** `os`/`cpu`/`libc` conditions as Yarn writes them, or null. */
  conditions: string | null;
}

export interface ManifestDifference {
  /** `dependency`, `peer dependency`, `dependenciesMeta`, `peerDependenciesMeta`, `bin`, `conditions`. */
  field: string;
  /** The dependency or bin name; empty for conditions. */
  name: string;
  /** What the verified package.json gives (after Yarn's normalisation); null: nothing. */
  declared: string | null;
  /** What the registry metadata or yarn.lock gives; null: nothing. */
  found: string | null;
}

/**
 * Every difference between the package Yarn resolved and the one the verified
 * package.json makes. Bins are compared one way: a bin the verified
 * package.json has and the metadata dropped installs nothing; `binDirectory`
 * (`directories.bin`, which npm's publish expands into `bin`) covers the bins
 * listed under it.
 */
export function compareShapes(expected: PackageShape, found: PackageShape, binDirectory: string | null): ManifestDifference[] {
  const differences = [
    ...compareMaps('dependency', expected.dependencies, found.dependencies),
    ...compareMaps('peer dependency', expected.peerDependencies, found.peerDependencies),
    ...compareMaps('dependenciesMeta', expected.dependenciesMeta, found.dependenciesMeta),
    ...compareMaps('peerDependenciesMeta', expected.peerDependenciesMeta, found.peerDependenciesMeta),
  ];
  for (const [name, path] of found.bin) {
    const listed = expected.bin.get(name);
    if (listed === path || (listed === undefined && binDirectory !== null && dirname(path) === binDirectory)) continue;
    differences.push({ field: 'bin', name, declared: listed ?? null, found: path });
  }
  if (expected.conditions !== found.conditions) differences.push({ field: 'conditions', name: '', declared: expected.conditions, found: found.conditions });
  return differences;
}

function compareMaps(field: string, expected: Map<string, string>, found: Map<string, string>): ManifestDifference[] {
  const differences: ManifestDifference[] = [];
  for (const name of new Set([...expected.keys(), ...found.keys()])) {
    const declared = expected.get(name) ?? null;
    const actual = found.get(name) ?? null;
    if (declared !== actual) differences.push({ field, name, declared, found: actual });
  }
  return differences.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The best of several acceptable expectations: the one with the fewest differences (none: a match). */
export function closestDifferences(expectations: PackageShape[], found: PackageShape, binDirectory: string | null): ManifestDifference[] {
  let best: ManifestDifference[] | undefined;
  for (const expected of expectations) {
    const differences = compareShapes(expected, found, binDirectory);
    if (best === undefined || differences.length < best.length) best = differences;
    if (best.length === 0) break;
  }
  return best ?? [];
}

/** `dependency lib: the verified package.json declares npm:^2.0.0, found npm:1.0.0`. */
export function describeDifference(difference: ManifestDifference): string {
  const what = difference.name === '' ? difference.field : `${difference.field} ${difference.name}`;
  const declared = difference.declared === null ? 'the verified package.json does not declare it' : `the verified package.json declares ${difference.declared}`;
  const found = difference.found === null ? 'missing from what Yarn resolved' : `found ${difference.found}`;
  return `${what}: ${declared}, ${found}`;
}

/** A JSON text with sorted keys, so that equal metadata compares equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function dirname(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '.' : path.slice(0, slash);
}

/** What the check needs of the verified package.json: content of the archive, so it can be kept by the archive's sha512. */
export interface ManifestFacts {
  /** The verified package.json, reduced to the fields Yarn's resolver reads. */
  raw: Record<string, unknown>;
  /** Whether the package has a `binding.gyp` at its root (npm's publish then adds `install: node-gyp rebuild` to the metadata). */
  bindingGyp: boolean;
}

/** Whether a stored value (the archive index) has the current shape of the facts. */
export function isManifestFacts(value: unknown): value is ManifestFacts {
  const facts = value as ManifestFacts | undefined;
  return typeof facts?.raw === 'object' && facts.raw !== null && typeof facts.bindingGyp === 'boolean';
}
