/**
 * A large, realistic registry for benchmarks: N packages (default 1,000) in a
 * dependency tree shaped like a mid-size application (a few dozen direct
 * dependencies, a long tail of small transitive ones, some scoped), tarballs
 * of 2-200 KB (log-uniform, incompressible padding), each signed through the
 * mock Sigstore with SLSA provenance and an npm publish attestation (a fresh
 * certificate per signature, like Fulcio), or only a share of them (a real
 * tree: about one package in five is signed), the rest unsigned.
 *
 * Signing runs at ~87 packages/s, so the generated registry is cached on disk
 * under `.tmp/large-registry/<key>/`, keyed by every generation parameter.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures';
import { startRegistry, type TestRegistry } from './registry';
import { MockSigstore, githubIdentity } from './signer';
import { buildPackageTarball, integrityOf } from './tarball';

/** Bump when the shape of generated registries changes: old caches are then ignored. */
const GENERATOR_VERSION = 4;

export interface LargeRegistryOptions {
  packages?: number;
  /** How many packages the application depends on directly. Default: 4% of packages, at least 5. */
  directDependencies?: number;
  seed?: number;
  minTarballBytes?: number;
  maxTarballBytes?: number;
  /** Share of the packages that are signed (default 1: all); the others have no attestations. */
  signedShare?: number;
  /** Where generated registries are cached (default `<repo>/.tmp/large-registry`). */
  cacheRoot?: string;
  /** Progress lines (signing 1,000 packages takes ~12 s). */
  log?: (line: string) => void;
}

export interface LargePackage {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  tarballBytes: number;
  signed: boolean;
}

export interface LargeRegistry {
  /** The cache folder holding tarballs, attestations and trust material. */
  dir: string;
  packages: LargePackage[];
  /** The application's direct dependencies (name -> exact version). */
  rootDependencies: Record<string, string>;
  /** Production-independent trust material of the mock Sigstore that signed everything. */
  trustedRootPath: string;
  npmKeysPath: string;
  totalTarballBytes: number;
  /** Whether this call generated it (false: read from the cache). */
  generated: boolean;
}

interface Manifest {
  packages: LargePackage[];
  rootDependencies: Record<string, string>;
}

/** Deterministic random numbers in [0, 1) from a sha256 counter stream: the same parameters give the same tree and sizes. */
function random(seed: number): () => number {
  let counter = 0;
  return () => createHash('sha256').update(`${seed}:${counter++}`).digest().readUInt32BE(0) / 2 ** 32;
}

const fileNameOf = (name: string, version: string) => `${name.replace('/', '__')}@${version}`;

/**
 * The tree: package i may depend only on packages after it (a DAG); early
 * packages are the "frameworks" with more dependencies, late ones are leaves.
 * Direct dependencies are the first packages, so everything is reachable.
 */
function planPackages(options: Required<Omit<LargeRegistryOptions, 'cacheRoot' | 'log'>>): Manifest {
  const rand = random(options.seed);
  const count = options.packages;
  const names = Array.from({ length: count }, (_, i) => (i % 7 === 3 ? `@scope${i % 13}/pkg-${i}` : `pkg-${i}`));
  const versions = names.map((_, i) => `${1 + (i % 5)}.${i % 11}.${i % 3}`);
  // A stream of its own, so that the tree and the sizes do not depend on the signed share.
  const signing = random(options.seed + 1);
  const logMin = Math.log(options.minTarballBytes);
  const logMax = Math.log(options.maxTarballBytes);
  const packages: LargePackage[] = names.map((name, i) => {
    const dependencies: Record<string, string> = {};
    const remaining = count - i - 1;
    // Earlier packages depend on more (frameworks), later ones on few or none (leaves).
    const wanted = Math.min(remaining, Math.floor(rand() * (i < count * 0.2 ? 8 : 4)));
    for (let d = 0; d < wanted; d++) {
      // Prefer nearby packages but reach far sometimes: shared popular utilities.
      const target = i + 1 + Math.floor(Math.pow(rand(), 2) * remaining);
      dependencies[names[target]] = `^${versions[target]}`;
    }
    const tarballBytes = Math.round(Math.exp(logMin + rand() * (logMax - logMin)));
    return { name, version: versions[i], dependencies, tarballBytes, signed: signing() < options.signedShare };
  });
  // Whatever nothing depends on becomes a direct dependency, so the install holds all N packages.
  const dependedOn = new Set(packages.flatMap((pkg) => Object.keys(pkg.dependencies)));
  const rootDependencies: Record<string, string> = {};
  packages.forEach((pkg, i) => {
    if (i < options.directDependencies || !dependedOn.has(pkg.name)) rootDependencies[pkg.name] = `^${pkg.version}`;
  });
  return { packages, rootDependencies };
}

function resolveOptions(options: LargeRegistryOptions): Required<Omit<LargeRegistryOptions, 'cacheRoot' | 'log'>> {
  const packages = options.packages ?? 1000;
  return {
    packages,
    directDependencies: options.directDependencies ?? Math.max(5, Math.round(packages * 0.04)),
    seed: options.seed ?? 1,
    minTarballBytes: options.minTarballBytes ?? 2 * 1024,
    maxTarballBytes: options.maxTarballBytes ?? 200 * 1024,
    signedShare: options.signedShare ?? 1,
  };
}

/** Generates the registry, or reads it from the on-disk cache when the same parameters were generated before. */
export async function largeRegistry(options: LargeRegistryOptions = {}): Promise<LargeRegistry> {
  const resolved = resolveOptions(options);
  const key = createHash('sha256').update(JSON.stringify({ GENERATOR_VERSION, ...resolved })).digest('hex').slice(0, 16);
  const cacheRoot = options.cacheRoot ?? join(REPO_ROOT, '.tmp', 'large-registry');
  const dir = join(cacheRoot, `${resolved.packages}-${Math.round(resolved.signedShare * 100)}-${key}`);
  const complete = join(dir, 'manifest.json');
  let generated = false;
  if (!existsSync(complete)) {
    await generate(resolved, dir, options.log ?? (() => {}));
    generated = true;
  }
  const manifest = JSON.parse(readFileSync(complete, 'utf8')) as Manifest;
  return {
    dir,
    ...manifest,
    trustedRootPath: join(dir, 'trusted_root.json'),
    npmKeysPath: join(dir, 'keys.json'),
    totalTarballBytes: manifest.packages.reduce((sum, pkg) => sum + pkg.tarballBytes, 0),
    generated,
  };
}

async function generate(options: ReturnType<typeof resolveOptions>, dir: string, log: (line: string) => void): Promise<void> {
  // Written to a temporary folder and renamed: an interrupted generation never looks complete.
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'tarballs'), { recursive: true });
  mkdirSync(join(staging, 'attestations'), { recursive: true });
  mkdirSync(join(staging, 'signatures'), { recursive: true });
  const manifest = planPackages(options);
  // Its npm key also makes every version's registry signature (dist.signatures), valid since before the registry's publish times.
  const mock = await MockSigstore.create({ npmKeyValidFor: { start: new Date('2019-01-01T00:00:00Z') } });
  const material = mock.trustMaterial();
  writeFileSync(join(staging, 'trusted_root.json'), JSON.stringify(material.trustedRoot));
  writeFileSync(join(staging, 'keys.json'), JSON.stringify(material.npmKeys));
  const started = Date.now();
  for (const [index, pkg] of manifest.packages.entries()) {
    const tarball = buildPackageTarball({ name: pkg.name, version: pkg.version, dependencies: pkg.dependencies, padBytes: Math.max(0, pkg.tarballBytes - 1024) });
    pkg.tarballBytes = tarball.length;
    const file = fileNameOf(pkg.name, pkg.version);
    writeFileSync(join(staging, 'tarballs', `${file}.tgz`), tarball);
    writeFileSync(join(staging, 'signatures', `${file}.json`), JSON.stringify([mock.registrySignature(pkg.name, pkg.version, integrityOf(tarball))]));
    if (pkg.signed) {
      const attestations = await mock.signPackage({ name: pkg.name, version: pkg.version, tarball, identity: githubIdentity({ repository: `bench-org/${pkg.name.replace(/^@/, '').replace('/', '-')}` }) });
      writeFileSync(join(staging, 'attestations', `${file}.json`), JSON.stringify(attestations));
    }
    if ((index + 1) % 250 === 0) log(`large registry: signed ${index + 1}/${manifest.packages.length} packages (${((index + 1) / ((Date.now() - started) / 1000)).toFixed(0)}/s)`);
  }
  writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(staging, dir);
}

/** Serves a generated registry on 127.0.0.1, optionally with injected latency per request. */
export async function serveLargeRegistry(registry: LargeRegistry, options: { latencyMs?: number } = {}): Promise<TestRegistry> {
  const server = await startRegistry({ latencyMs: options.latencyMs });
  for (const pkg of registry.packages) {
    const file = fileNameOf(pkg.name, pkg.version);
    server.addVersion({
      name: pkg.name,
      version: pkg.version,
      tarball: readFileSync(join(registry.dir, 'tarballs', `${file}.tgz`)),
      attestations: pkg.signed ? readFileSync(join(registry.dir, 'attestations', `${file}.json`)) : null,
      signatures: JSON.parse(readFileSync(join(registry.dir, 'signatures', `${file}.json`), 'utf8')),
    });
  }
  return server;
}
