/**
 * package.json tells the truth: what src/ imports is a dependency and every
 * dependency is imported by src/; what only tests, the testkit, scripts and
 * benchmarks use is a devDependency; and a package whose internals we use
 * (`dist/` paths, private methods) is pinned to the exact version installed,
 * because a patch release may move them without notice.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { getDynamicLibs } from '@yarnpkg/cli';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/fixtures';

/** Packages whose internals we use, and where: each must be pinned to one exact version. */
const INTERNALS_USED: Record<string, string> = {
  '@sigstore/verify': 'src/verify/chain.ts imports dist/key/certificate and dist/trust/filter and calls private CertificateChainVerifier methods; src/verify/fast-verifier.ts replaces the private Verifier.verifySigningKey',
  '@sigstore/core': 'src/verify/der.ts imports dist/asn1/tag and builds the ASN.1 tree X509Certificate reads',
  'tuf-js': 'src/trust/tuf-fetch.ts and src/trust/tuf-errors.ts import dist/error (the error classes its Updater reads and throws)',
  '@sigstore/mock': 'testkit/signer.ts imports dist/fulcio/ca, dist/fulcio/ctlog and dist/rekor/tlog',
  '@sigstore/sign': 'testkit/signer.ts imports dist/witness/tlog/entry',
};

/** devDependencies used without an import: tools and type packages. */
const TOOLS: Record<string, string> = {
  typescript: 'npm run typecheck (tsc)',
  tsx: 'npm run build, bench and demo; bin/sigstore-conformance',
  vitest: 'npm test',
  '@types/node': 'types of node: imports',
  '@types/semver': 'types of semver',
  '@yarnpkg/cli-dist': 'the pinned Yarn the end-to-end tests run (testkit/yarn.ts)',
};

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
/** Static imports and re-exports (one line, or the closing line of several), side-effect imports, import() and require(). */
const IMPORT = /^\s*(?:(?:import|export)\b[^'"\n]*?\bfrom|\}\s*from|import)\s+['"]([^'"]+)['"]|\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]/gm;
const PACKAGE_NAME = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*(\/|$)/;
const BUILTINS = new Set(builtinModules);

function files(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (entry === 'node_modules' || entry === 'embedded') return [];
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|cjs|mjs|js)$/.test(entry) || folder.endsWith('bin') ? [path] : [];
  });
}

/** The packages a set of files import (bare specifiers, no node builtins), and one file importing each. */
function packagesImportedBy(paths: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const path of paths) {
    for (const [, staticSpecifier, callSpecifier] of readFileSync(path, 'utf8').matchAll(IMPORT)) {
      const specifier = staticSpecifier ?? callSpecifier;
      if (!PACKAGE_NAME.test(specifier) || BUILTINS.has(specifier.split('/')[0])) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      if (!found.has(name)) found.set(name, relative(REPO_ROOT, path));
    }
  }
  return found;
}

const runtime = packagesImportedBy(files(join(REPO_ROOT, 'src')));
const tooling = packagesImportedBy(['test', 'testkit', 'scripts', 'bench', 'bin'].flatMap((folder) => files(join(REPO_ROOT, folder))).concat(join(REPO_ROOT, 'vitest.config.ts')));
/** Libraries Yarn hands to its plugins at run time, as the build decides (scripts/build-plugin.ts leaves them out of the bundle). */
const isYarnProvided = (name: string) => getDynamicLibs().has(name) || /^@yarnpkg\/plugin-/.test(name);

describe('package.json dependencies', () => {
  it('every runtime dependency is imported by src/', () => {
    const unused = Object.keys(manifest.dependencies).filter((name) => !runtime.has(name));
    expect(unused, 'runtime dependencies nothing in src/ imports: remove them, or move them to devDependencies').toEqual([]);
  });

  it('everything src/ imports is declared: a dependency, or a library Yarn provides (declared for types and tests)', () => {
    const undeclared = [...runtime].filter(([name]) => !(name in manifest.dependencies) && !(isYarnProvided(name) && name in manifest.devDependencies)).map(([name, file]) => `${name} (imported by ${file})`);
    expect(undeclared).toEqual([]);
  });

  it('what only tests, the testkit, scripts and benchmarks import is a devDependency, and every devDependency is used', () => {
    const undeclared = [...tooling].filter(([name]) => !(name in manifest.dependencies) && !(name in manifest.devDependencies)).map(([name, file]) => `${name} (imported by ${file})`);
    expect(undeclared).toEqual([]);
    const testOnlyAtRuntime = Object.keys(manifest.dependencies).filter((name) => !runtime.has(name) && tooling.has(name));
    expect(testOnlyAtRuntime, 'used only by tests: move to devDependencies').toEqual([]);
    const unusedDev = Object.keys(manifest.devDependencies).filter((name) => !runtime.has(name) && !tooling.has(name) && !(name in TOOLS));
    expect(unusedDev, 'devDependencies nothing uses: remove them').toEqual([]);
  });

  it('every package whose dist/ internals we import is in the pinned list', () => {
    const internals = [...packagesImportedBy([...files(join(REPO_ROOT, 'src')), ...files(join(REPO_ROOT, 'testkit'))]).keys()].filter((name) =>
      [...files(join(REPO_ROOT, 'src')), ...files(join(REPO_ROOT, 'testkit'))].some((path) => readFileSync(path, 'utf8').includes(`'${name}/dist/`)),
    );
    expect(internals.filter((name) => !(name in INTERNALS_USED))).toEqual([]);
  });

  for (const [name, why] of Object.entries(INTERNALS_USED)) {
    it(`${name} is pinned to one exact version, and that version is the one installed`, () => {
      const declared = manifest.dependencies[name] ?? manifest.devDependencies[name];
      expect(semver.valid(declared), `${name} must be declared with an exact version, not ${JSON.stringify(declared)}: we use its internals (${why})`).not.toBeNull();
      // Resolved from where it is imported, as the build and the tests resolve it.
      const from = name in manifest.dependencies ? 'src/index.ts' : 'testkit/signer.ts';
      const installed = (createRequire(join(REPO_ROOT, from))(`${name}/package.json`) as { version: string }).version;
      expect(installed, `${name}: package.json pins ${declared}, but ${installed} is installed: its internals (${why}) must be checked against ${installed} before the pin moves; run npm ci`).toBe(declared);
    });
  }
});
