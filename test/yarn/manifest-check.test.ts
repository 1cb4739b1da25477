/**
 * The manifest check with real Yarn core objects: the package Yarn's resolver
 * makes of a verified package.json (Yarn's Manifest reader, its node-gyp
 * injection, its dependency normalisation) against what registry metadata or
 * yarn.lock give, compared in full (name, range, alias target, flags).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration, Manifest, structUtils, type Package } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { describeDifference } from '../../src/manifest/compare';
import { isManifestFacts, manifestData, manifestDifferences, manifestEnforcement, resolvedDigest, resolvedFields, type ManifestFacts } from '../../src/yarn/manifest-check';
import { loadPolicyHandle } from '../../src/yarn/policy-adapter';
import type { SigstoreSettings } from '../../src/yarn/settings';

let cwd: string;
let configuration: Configuration;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'sigstore-manifest-'));
  configuration = Configuration.create(npath.toPortablePath(cwd), npath.toPortablePath(cwd), new Map());
});

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const locator = structUtils.makeLocator(structUtils.makeIdent(null, 'pkg'), 'npm:1.0.0');

/** What plugin-npm's resolver returns for this registry metadata (the metadata as Yarn reads it, node-gyp injection aside). */
function resolvedFrom(metadata: Record<string, unknown>, extraDependencies: Record<string, string> = {}): Package {
  const manifest = new Manifest();
  manifest.load(metadata);
  for (const [name, range] of Object.entries(extraDependencies)) {
    const ident = structUtils.parseIdent(name);
    manifest.dependencies.set(ident.identHash, structUtils.makeDescriptor(ident, range));
  }
  return { ...locator, version: '1.0.0', languageName: 'node', linkType: 'HARD' as Package['linkType'], ...resolvedFields(manifest, configuration) };
}

const facts = (raw: Record<string, unknown>, bindingGyp = false): ManifestFacts => ({ raw, bindingGyp });
const differences = (pkg: Package, verified: ManifestFacts) => manifestDifferences(pkg, verified, configuration)!.map(describeDifference);

describe('what Yarn adds by itself is not a mismatch', () => {
  it('node-gyp, added by Yarn to a package whose scripts call it (fsevents 2.3.3)', () => {
    const pkg = { name: 'fsevents', version: '2.3.3', scripts: { clean: 'node-gyp clean && rm -f fsevents.node', build: 'node-gyp clean && node-gyp rebuild' }, os: ['darwin'] };
    expect(differences(resolvedFrom(pkg, { 'node-gyp': 'latest' }), facts(pkg))).toEqual([]);
  });

  it('node-gyp for prebuild-install, and not when the package declares node-gyp itself', () => {
    const prebuilt = { name: 'pkg', scripts: { install: 'prebuild-install || node-gyp rebuild' } };
    expect(differences(resolvedFrom(prebuilt, { 'node-gyp': 'latest' }), facts(prebuilt))).toEqual([]);
    const declared = { name: 'pkg', scripts: { install: 'node-gyp rebuild' }, dependencies: { 'node-gyp': '^10.0.0' } };
    expect(differences(resolvedFrom(declared), facts(declared))).toEqual([]);
  });

  it("npm's install script for a binding.gyp package (node-addon-api): node-gyp with it, or without it", () => {
    const pkg = { name: 'pkg', scripts: { test: 'node test' } };
    const published = { ...pkg, scripts: { ...pkg.scripts, install: 'node-gyp rebuild' }, gypfile: true };
    expect(differences(resolvedFrom(published, { 'node-gyp': 'latest' }), facts(pkg, true))).toEqual([]);
    expect(differences(resolvedFrom(pkg), facts(pkg, true))).toEqual([]);
    // Without a binding.gyp in the verified archive, the same node-gyp is an addition.
    expect(differences(resolvedFrom(published, { 'node-gyp': 'latest' }), facts(pkg, false))).toEqual(['dependency node-gyp: the verified package.json does not declare it, found npm:latest']);
  });

  it('optional dependencies and platform conditions, as npm merges them into dependencies', () => {
    const pkg = { name: 'pkg', dependencies: { a: '^1.0.0' }, optionalDependencies: { '@esbuild/linux-x64': '0.24.2', fsevents: '~2.3.2' }, os: ['linux', 'darwin'], cpu: ['x64'] };
    const metadata = { ...pkg, dependencies: { ...pkg.dependencies, ...pkg.optionalDependencies } };
    expect(differences(resolvedFrom(metadata), facts(pkg))).toEqual([]);
  });

  it('yarn.lock ranges written without the default protocol', () => {
    const pkg = { name: 'pkg', dependencies: { a: '^1.0.0', b: 'latest' } };
    const fromLockfile = resolvedFrom(pkg);
    for (const [hash, descriptor] of fromLockfile.dependencies) fromLockfile.dependencies.set(hash, structUtils.makeDescriptor(descriptor, descriptor.range.replace(/^npm:/, '')));
    expect(differences(fromLockfile, facts(pkg))).toEqual([]);
  });

  it('bins npm rewrites on publish: ./x as x, directories.bin expanded', () => {
    const pkg = { name: 'pkg', bin: { tool: './cli.js' }, directories: { bin: './bin' } };
    expect(differences(resolvedFrom({ ...pkg, bin: { tool: 'cli.js', helper: 'bin/helper' } }), facts(pkg))).toEqual([]);
  });
});

describe('reading the verified package.json', () => {
  const errorOf = (read: () => unknown) => {
    try {
      read();
      return undefined;
    } catch (error) {
      return [(error as Error).constructor.name, (error as Error).message];
    }
  };

  it('gives what Yarn\'s Manifest reader keeps as raw, a BOM and empty text included', () => {
    for (const text of ['{"name":"pkg","dependencies":{"a":"^1.0.0"},"bin":"./cli.js","weird":[1,{"x":null}]}', '\uFEFF{"name":"bom"}', '', '{}']) {
      expect(manifestData(text)).toEqual(Manifest.fromText(text).raw);
    }
  });

  it('fails as Yarn\'s reader fails: text that is not JSON, and JSON that is not an object', () => {
    for (const text of ['{"name": ', 'null', '"a string"', '42']) {
      expect(errorOf(() => manifestData(text))).toEqual(errorOf(() => Manifest.fromText(text)));
      expect(errorOf(() => manifestData(text))).toBeDefined();
    }
  });
});

describe('specifications are compared in full', () => {
  const pkg = { name: 'pkg', dependencies: { lib: '^2.0.0' }, peerDependencies: { react: '^18.0.0' } };

  it('a range rewritten to an old version', () => {
    expect(differences(resolvedFrom({ ...pkg, dependencies: { lib: '1.0.0' } }), facts(pkg))).toEqual(['dependency lib: the verified package.json declares npm:^2.0.0, found npm:1.0.0']);
  });

  it('an alias to another package', () => {
    expect(differences(resolvedFrom({ ...pkg, dependencies: { lib: 'npm:other@1.0.0' } }), facts(pkg))).toEqual(['dependency lib: the verified package.json declares npm:^2.0.0, found npm:other@1.0.0']);
  });

  it('a dependency added, and one removed', () => {
    expect(differences(resolvedFrom({ ...pkg, dependencies: { evil: '1.0.0' } }), facts(pkg))).toEqual([
      'dependency evil: the verified package.json does not declare it, found npm:1.0.0',
      'dependency lib: the verified package.json declares npm:^2.0.0, missing from what Yarn resolved',
    ]);
  });

  it('a peer dependency, an optional flag, a platform condition, a bin', () => {
    expect(differences(resolvedFrom({ ...pkg, peerDependencies: { react: '*' } }), facts(pkg))).toEqual(['peer dependency react: the verified package.json declares ^18.0.0, found *']);
    expect(differences(resolvedFrom({ ...pkg, optionalDependencies: { lib: '^2.0.0' } }), facts(pkg))).toEqual([
      'dependenciesMeta lib: the verified package.json does not declare it, found {"*":{"optional":true}}',
    ]);
    expect(differences(resolvedFrom({ ...pkg, os: ['win32'] }), facts(pkg))).toEqual(['conditions: the verified package.json does not declare it, found os=win32']);
    expect(differences(resolvedFrom({ ...pkg, bin: { ls: 'index.js' } }), facts(pkg))).toEqual(['bin ls: the verified package.json does not declare it, found index.js']);
  });

  it('facts an older plugin kept in the archive index (names only) are not taken: the package.json is read again', () => {
    expect(isManifestFacts({ dependencies: ['1234'], bin: [] })).toBe(false);
    expect(isManifestFacts(facts(pkg))).toBe(true);
  });

  it('a package Yarn does not hold is not compared (null)', () => {
    expect(manifestDifferences(undefined, facts(pkg), configuration)).toBeNull();
  });
});

describe('enforcement follows the policy', () => {
  const mismatch = new SigstorePluginError(ErrorCodes.MANIFEST_MISMATCH, 'pkg@npm:1.0.0: differs');
  const settings = { policyPath: null, mode: null, fromEnvironment: [], fromRcFiles: [] } as unknown as SigstoreSettings;

  async function handle(policy: string | undefined) {
    const dir = mkdtempSync(join(cwd, 'policy-'));
    if (policy !== undefined) writeFileSync(join(dir, 'sigstore-policy.yml'), policy);
    return loadPolicyHandle(dir, settings);
  }

  function decide(policy: Awaited<ReturnType<typeof handle>>) {
    const pkg = { name: 'pkg', version: '1.0.0' };
    return manifestEnforcement(policy, pkg, policy.judge(pkg, { status: 'unsigned' }), mismatch);
  }

  it('zero-config, enforce and warn enforce it, as a bundle that fails', async () => {
    expect(decide(await handle(undefined))).toEqual({ enforce: true });
    expect(decide(await handle('version: 1\nmode: enforce\ndefault: { require: none }\n'))).toEqual({ enforce: true });
    expect(decide(await handle('version: 1\nmode: warn\ndefault: { require: none }\n'))).toEqual({ enforce: true });
  });

  it('a top-level mode off, a rule with mode off, a rule with verify: skip let it through', async () => {
    expect(decide(await handle('version: 1\nmode: off\ndefault: { require: none }\n'))).toMatchObject({ enforce: false });
    expect(decide(await handle('version: 1\ndefault: { require: none }\nrules:\n  - packages: [pkg]\n    require: none\n    mode: off\n'))).toMatchObject({ enforce: false });
    const skip = decide(await handle('version: 1\ndefault: { require: none }\nrules:\n  - packages: [pkg]\n    require: none\n    verify: skip\n    reason: verifier lags\n    expires: 2999-01-01\n'));
    expect(skip).toMatchObject({ enforce: false });
    // A rule for another package changes nothing.
    expect(decide(await handle('version: 1\ndefault: { require: none }\nrules:\n  - packages: [other]\n    require: none\n    mode: off\n'))).toEqual({ enforce: true });
  });
});

describe('the digest a warm install compares instead of checking again', () => {
  const published = { name: 'pkg', dependencies: { 'ms-lib': '^2.0.0', '@scope/dep': '1.0.0' }, peerDependencies: { react: '*' }, peerDependenciesMeta: { react: { optional: true } }, dependenciesMeta: { 'ms-lib': { built: false } }, bin: { pkg: './cli.js' }, os: ['linux'] };
  const digest = (metadata: Record<string, unknown>, config = configuration) => resolvedDigest(resolvedFrom(metadata), config);

  it('is the same for the same resolved package, and changes with anything the check reads of it', () => {
    expect(digest(published)).toBe(digest(structuredClone(published)));
    const changed: Array<Record<string, unknown>> = [
      { ...published, dependencies: { ...published.dependencies, 'ms-lib': '1.0.0' } },
      { ...published, dependencies: { ...published.dependencies, 'ms-lib': 'npm:ms-other@2.0.0' } },
      { ...published, dependencies: { ...published.dependencies, extra: '1.0.0' } },
      { ...published, dependencies: { 'ms-lib': '^2.0.0' } },
      { ...published, peerDependencies: { react: '^18.0.0' } },
      { ...published, peerDependenciesMeta: { react: { optional: false } } },
      { ...published, dependenciesMeta: { 'ms-lib': { built: true } } },
      { ...published, bin: { pkg: './other.js' } },
      { ...published, bin: { other: './cli.js' } },
      { ...published, os: ['darwin'] },
    ];
    const digests = new Set([digest(published), ...changed.map((metadata) => digest(metadata))]);
    expect(digests.size).toBe(changed.length + 1);
  });

  it('changes with the protocol Yarn normalises ranges with', () => {
    const other = Configuration.create(npath.toPortablePath(cwd), npath.toPortablePath(cwd), new Map());
    other.useWithSource('test', { defaultProtocol: 'other:' }, npath.toPortablePath(cwd), { overwrite: true });
    expect(digest(published, other)).not.toBe(digest(published));
  });
});
