/**
 * The Yarn-free half of the manifest check: how two packages, reduced to
 * strings, differ (the Yarn adapter's test covers building them with Yarn).
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, closestDifferences, compareShapes, describeDifference, type PackageShape } from '../../src/manifest/compare';

function shape(partial: Partial<{ [K in keyof PackageShape]: PackageShape[K] extends Map<string, string> ? Record<string, string> : PackageShape[K] }> = {}): PackageShape {
  const map = (record: Record<string, string> | undefined) => new Map(Object.entries(record ?? {}));
  return {
    dependencies: map(partial.dependencies),
    peerDependencies: map(partial.peerDependencies),
    dependenciesMeta: map(partial.dependenciesMeta),
    peerDependenciesMeta: map(partial.peerDependenciesMeta),
    bin: map(partial.bin),
    conditions: partial.conditions ?? null,
  };
}

describe('compareShapes', () => {
  it('equal packages have no difference', () => {
    const pkg = shape({ dependencies: { a: 'npm:^1.0.0' }, peerDependencies: { react: '*' }, bin: { tool: 'cli.js' }, conditions: 'os=linux' });
    expect(compareShapes(pkg, shape({ dependencies: { a: 'npm:^1.0.0' }, peerDependencies: { react: '*' }, bin: { tool: 'cli.js' }, conditions: 'os=linux' }), null)).toEqual([]);
  });

  it('every dependency difference, sorted by name, in both directions', () => {
    const differences = compareShapes(shape({ dependencies: { b: 'npm:^2.0.0', a: 'npm:^1.0.0' } }), shape({ dependencies: { b: 'npm:other@1.0.0', c: 'npm:1.0.0' } }), null);
    expect(differences.map(describeDifference)).toEqual([
      'dependency a: the verified package.json declares npm:^1.0.0, missing from what Yarn resolved',
      'dependency b: the verified package.json declares npm:^2.0.0, found npm:other@1.0.0',
      'dependency c: the verified package.json does not declare it, found npm:1.0.0',
    ]);
  });

  it('bins one way: a dropped bin installs nothing; a bin under directories.bin is declared', () => {
    expect(compareShapes(shape({ bin: { tool: 'cli.js' } }), shape(), null)).toEqual([]);
    expect(compareShapes(shape(), shape({ bin: { helper: 'bin/helper' } }), 'bin')).toEqual([]);
    expect(compareShapes(shape(), shape({ bin: { helper: 'lib/helper' } }), 'bin').map(describeDifference)).toEqual(['bin helper: the verified package.json does not declare it, found lib/helper']);
    expect(compareShapes(shape({ bin: { tool: 'cli.js' } }), shape({ bin: { tool: 'evil.js' } }), null).map(describeDifference)).toEqual(['bin tool: the verified package.json declares cli.js, found evil.js']);
  });

  it('conditions and flags', () => {
    expect(compareShapes(shape({ conditions: 'os=darwin' }), shape(), null).map(describeDifference)).toEqual(['conditions: the verified package.json declares os=darwin, missing from what Yarn resolved']);
    expect(compareShapes(shape(), shape({ peerDependenciesMeta: { react: '{"optional":true}' } }), null)).toHaveLength(1);
  });
});

describe('closestDifferences', () => {
  it('a match with any acceptable expectation is no difference; otherwise the closest one is reported', () => {
    const plain = shape({ dependencies: { a: 'npm:^1.0.0' } });
    const withGyp = shape({ dependencies: { a: 'npm:^1.0.0', 'node-gyp': 'npm:latest' } });
    expect(closestDifferences([plain, withGyp], withGyp, null)).toEqual([]);
    const found = shape({ dependencies: { a: 'npm:^1.0.0', 'node-gyp': 'npm:latest', evil: 'npm:1.0.0' } });
    expect(closestDifferences([plain, withGyp], found, null).map((difference) => difference.name)).toEqual(['evil']);
  });
});

it('canonicalJson sorts keys at every level and drops undefined', () => {
  expect(canonicalJson({ b: 1, a: { d: undefined, c: [true, null] } })).toBe('{"a":{"c":[true,null]},"b":1}');
});
