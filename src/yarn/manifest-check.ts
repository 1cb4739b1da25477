/**
 * Yarn takes a registry package's dependencies, peer dependencies and bins
 * from the registry's metadata (or yarn.lock), not from the package.json
 * inside the tarball: an attacker who controls either can add a dependency,
 * point one at another version or package, or add a bin, to a package whose
 * bytes verify. Once the archive is bound to verified bytes, the package Yarn
 * resolved must be the one Yarn's own resolver makes of that package.json.
 *
 * The comparison is made where the lockfile is: on `project.originalPackages`
 * (what the resolver returned, what yarn.lock stores), before Yarn normalises
 * it into `storedPackages` (package extensions, built-in compat extensions,
 * `resolutions` and other `reduceDependency` hooks, virtual packages). That
 * normalisation is a function of the resolved package and the project's own
 * configuration, so equal originals give equal installs, and nothing of it
 * has to be modelled here.
 */
import { createHash } from 'crypto';
import { Manifest, structUtils, type Configuration, type Descriptor, type FetchResult, type Locator, type Package, type Report } from '@yarnpkg/core';
import { ppath, type PortablePath } from '@yarnpkg/fslib';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { canonicalJson, closestDifferences, describeDifference, type ManifestDifference, type ManifestFacts, type PackageShape } from '../manifest/compare';

export { isManifestFacts, type ManifestFacts } from '../manifest/compare';
import type { PackageRef, Verdict } from '../policy';
import { reportError } from './errors';
import { npmVersion } from './locators';
import type { PolicyHandle } from './policy-adapter';
import type { PipelineAdapter } from './pipeline-adapter';

/** The package.json fields Yarn's npm resolver reads (and `name`, which names a bin given as a string). */
const RESOLVED_FIELDS = ['name', 'dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'dependenciesMeta', 'scripts', 'os', 'cpu', 'libc', 'bin', 'directories'] as const;

/** From an archive Yarn handed over (`packageFs`, `prefixPath`), or the zip the loader just made. */
export async function readManifestFacts({ packageFs, prefixPath }: Pick<FetchResult, 'packageFs' | 'prefixPath'>): Promise<ManifestFacts> {
  const json = manifestData(await packageFs.readFilePromise(ppath.join(prefixPath, 'package.json' as PortablePath), 'utf8'));
  const raw: Record<string, unknown> = {};
  for (const field of RESOLVED_FIELDS) if (json[field] !== undefined) raw[field] = json[field];
  return { raw, bindingGyp: await packageFs.existsPromise(ppath.join(prefixPath, 'binding.gyp' as PortablePath)) };
}

/**
 * `Manifest.fromText(text).raw` with its errors (Yarn's loadFromText: the BOM
 * dropped, empty text as `{}`, non-objects refused), without loading every
 * field: expectedShapes loads the ones it compares.
 */
export function manifestData(text: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse((text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) || '{}');
  } catch (error) {
    (error as Error).message += ` (when parsing ${text})`;
    throw error;
  }
  if (typeof data !== 'object' || data === null) throw new Error(`Utterly invalid manifest data (${data})`);
  return data as Record<string, unknown>;
}

const NODE_GYP_IDENT = structUtils.makeIdent(null, 'node-gyp');
/** plugin-npm's NpmSemverResolver: the scripts after which it adds `node-gyp` as a dependency. */
const NODE_GYP_MATCH = /\b(node-gyp|prebuild-install)\b/;

/**
 * The package Yarn's npm resolver makes of a manifest (plugin-npm's
 * `NpmSemverResolver.resolve`): Yarn's Manifest reader, its implicit
 * `node-gyp` dependency, its dependency normalisation.
 */
function resolverPackage(raw: Record<string, unknown>, configuration: Configuration): ResolvedFields {
  const manifest = new Manifest();
  manifest.load(raw);
  if (!manifest.dependencies.has(NODE_GYP_IDENT.identHash) && !manifest.peerDependencies.has(NODE_GYP_IDENT.identHash)) {
    if ([...manifest.scripts.values()].some((script) => NODE_GYP_MATCH.test(script))) {
      manifest.dependencies.set(NODE_GYP_IDENT.identHash, structUtils.makeDescriptor(NODE_GYP_IDENT, 'latest'));
    }
  }
  return resolvedFields(manifest, configuration);
}

type ResolvedFields = Pick<Package, 'dependencies' | 'peerDependencies' | 'dependenciesMeta' | 'peerDependenciesMeta' | 'bin' | 'conditions'>;

/** What `NpmSemverResolver.resolve` puts in the package it returns, from a loaded manifest. */
export function resolvedFields(manifest: Manifest, configuration: Configuration): ResolvedFields {
  return {
    conditions: manifest.getConditions(),
    dependencies: configuration.normalizeDependencyMap(manifest.dependencies),
    peerDependencies: manifest.peerDependencies,
    dependenciesMeta: manifest.dependenciesMeta,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
    bin: manifest.bin,
  };
}

/** A resolved package as plain strings; dependencies normalised again (yarn.lock may hold them without `npm:`). */
export function shapeOf(pkg: ResolvedFields, configuration: Configuration): PackageShape {
  const ranges = (map: Map<string, Descriptor>, normalize: boolean) =>
    new Map([...map.values()].map((descriptor) => [structUtils.stringifyIdent(descriptor), normalize ? configuration.normalizeDependency(descriptor).range : descriptor.range]));
  return {
    dependencies: ranges(pkg.dependencies, true),
    peerDependencies: ranges(pkg.peerDependencies, false),
    dependenciesMeta: new Map(
      [...pkg.dependenciesMeta].map(([ident, byRange]) => [ident, canonicalJson(Object.fromEntries([...byRange].map(([range, meta]) => [range ?? '*', meta])))]),
    ),
    peerDependenciesMeta: new Map([...pkg.peerDependenciesMeta].map(([ident, meta]) => [ident, canonicalJson(meta)])),
    bin: new Map([...pkg.bin].map(([name, path]) => [name, ppath.normalize(path)])),
    conditions: pkg.conditions ?? null,
  };
}

/**
 * The packages Yarn may legitimately have made of this verified package.json:
 * the resolver's, and, for a package with a `binding.gyp` and no install
 * script, the one made of the metadata npm's publish writes (it adds
 * `install: node-gyp rebuild`, after which Yarn adds `node-gyp`).
 */
export function expectedShapes(facts: ManifestFacts, configuration: Configuration): PackageShape[] {
  const shapes = [shapeOf(resolverPackage(facts.raw, configuration), configuration)];
  const scripts = typeof facts.raw.scripts === 'object' && facts.raw.scripts !== null ? (facts.raw.scripts as Record<string, unknown>) : {};
  if (facts.bindingGyp && scripts.install === undefined && scripts.preinstall === undefined) {
    shapes.push(shapeOf(resolverPackage({ ...facts.raw, scripts: { ...scripts, install: 'node-gyp rebuild' } }, configuration), configuration));
  }
  return shapes;
}

/** `directories.bin`, normalised, or null: npm's publish lists its files under `bin`. */
function binDirectory(facts: ManifestFacts): string | null {
  const directories = facts.raw.directories as { bin?: unknown } | undefined;
  return typeof directories?.bin === 'string' ? ppath.normalize(directories.bin as PortablePath) : null;
}

/** How the policy wants a mismatch treated: enforced, or reported only where it turns verification off for the package. */
export type ManifestEnforcement = { enforce: true } | { enforce: false; because: string };

/**
 * A mismatch is judged as a bundle that fails verification (a tampering
 * signal: denied in zero-config, `enforce` and `warn`; let through by a
 * `verify: skip` rule), and a package for which the policy is off (a rule's or
 * the policy's `mode: off`) is never failed by it: `off` never fails an
 * install. Let through, it is still printed as a warning.
 */
export function manifestEnforcement(policy: Pick<PolicyHandle, 'judge'>, pkg: PackageRef, verdict: Verdict | undefined, mismatch: SigstorePluginError): ManifestEnforcement {
  if (verdict?.reason === 'policy-off') return { enforce: false, because: verdict.message };
  const asFailure = policy.judge(pkg, { status: 'failed', error: mismatch });
  return asFailure.decision === 'deny' ? { enforce: true } : { enforce: false, because: asFailure.message };
}

/** Bump when the check reads more of a resolved package or judges it otherwise: digests an older check recorded then miss. */
const CHECK_FORMAT = 'manifest-check-1';

/**
 * A digest of everything the check reads of the package Yarn resolved
 * (`shapeOf`'s fields, as yarn.lock gives them) and of the configuration it
 * normalises them with (`defaultProtocol`): the check is a function of these
 * and of the verified package.json. The archive index records it for an
 * archive whose package passed against the entry's own manifest facts, and a
 * later install whose package has the same digest passes without the check
 * (Yarn's Manifest reader and dependency normalisation, ~0.1 ms a package).
 */
export function resolvedDigest(pkg: Package, configuration: Configuration): string {
  const descriptors = (map: Map<string, Descriptor>) => [...map.values()].map((descriptor) => [descriptor.scope, descriptor.name, descriptor.range]);
  const read = [
    CHECK_FORMAT,
    configuration.get('defaultProtocol'),
    descriptors(pkg.dependencies),
    descriptors(pkg.peerDependencies),
    [...pkg.dependenciesMeta].map(([ident, byRange]) => [ident, [...byRange].map(([range, meta]) => [range, canonicalJson(meta)])]),
    [...pkg.peerDependenciesMeta].map(([ident, meta]) => [ident, canonicalJson(meta)]),
    [...pkg.bin],
    pkg.conditions ?? null,
  ];
  return createHash('sha256').update(JSON.stringify(read)).digest('hex');
}

/** Every difference between the package Yarn is about to use for `locator` and what the verified package.json makes; null when Yarn holds no such package. */
export function manifestDifferences(pkg: Package | undefined, verified: ManifestFacts, configuration: Configuration): ManifestDifference[] | null {
  if (pkg === undefined) return null;
  return closestDifferences(expectedShapes(verified, configuration), shapeOf(pkg, configuration), binDirectory(verified));
}

/**
 * Checks `pkg`, the package Yarn resolved for the registry package `locator`
 * (its lockfile entry, or what the registry's metadata made of it), against
 * its verified package.json; throws or warns as the session's policy treats
 * the package (see manifestEnforcement). True when it found no difference at all. A `patch:` entry needs no check of
 * its own: Yarn never persists it, and derives it from its base's on every
 * install (`PatchResolver`: `shouldPersistResolution` is false, `resolve`
 * copies the base).
 */
export async function checkResolvedManifest(locator: Locator, verified: ManifestFacts, pkg: Package | undefined, session: PipelineAdapter, report: Report): Promise<boolean> {
  const differences = manifestDifferences(pkg, verified, session.project.configuration);
  if (differences === null) return false;
  if (differences.length === 0) return true;
  const error = manifestMismatch(locator, differences);
  const { policy } = await session.ready();
  const ref = { name: structUtils.stringifyIdent(locator), version: npmVersion(locator) ?? locator.reference };
  const decided = manifestEnforcement(policy, ref, session.results.get(locator.locatorHash)?.verdict, error);
  if (!decided.enforce) {
    report.reportWarning(0, `sigstore: [${error.code}] ${error.message} (not enforced: ${decided.because})`);
    return false;
  }
  throw reportError(error);
}

export function manifestMismatch(locator: Locator, differences: ManifestDifference[]): SigstorePluginError {
  const subject = structUtils.stringifyLocator(locator);
  return new SigstorePluginError(
    ErrorCodes.MANIFEST_MISMATCH,
    `${subject}: what yarn.lock or the registry metadata gives this package is not what its verified package.json makes: ${differences.map(describeDifference).join('; ')}`,
    { subject, details: { differences } },
  );
}
