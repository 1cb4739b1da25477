/**
 * The REAL npm packages and Sigstore trust material committed under
 * `fixtures/` (production-signed attestations, real tarballs). Paths are
 * computed from this module's location so a fresh clone works from any cwd.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistryVersionInput } from './registry';
import { integrityOf, readPackageJson } from './tarball';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES_DIR = join(REPO_ROOT, 'fixtures');
export const NPM_ATTESTATIONS_DIR = join(FIXTURES_DIR, 'npm-attestations');

export interface FixtureManifestEntry {
  dir: string;
  name: string;
  version: string;
  integrity: string;
  source: string;
  attestations: { predicateType: string; mediaType: string; subject: string }[];
  tampered: Record<string, string>;
  registrySignature?: { keyid: string; sig: string; signedMessage: string; source: string };
}

/** Which attestations document of a fixture to use. */
export type AttestationsVariant = 'valid' | 'invalidsigprov' | 'invalidsigpub';

export interface FixturePackage {
  name: string;
  version: string;
  /** Folder under fixtures/npm-attestations. */
  dir: string;
  /** The real tarball; its sha512 is the attested subject digest. */
  tarball: Buffer;
  /** `sha512-...` of the tarball (equals manifest.integrity). */
  integrity: string;
  /** The package.json inside the tarball. */
  packageJson: Record<string, unknown>;
  /** Raw bytes of `attestations.json`, exactly as the registry served them. */
  attestationsBytes: Buffer;
  /** Parsed `attestations.json`: `{"attestations":[{predicateType,bundle}]}`. */
  attestations: { attestations: { predicateType: string; bundle: unknown }[] };
  /** Raw bytes of the tampered variants, when the fixture has them. */
  invalidSigProvBytes?: Buffer;
  invalidSigPubBytes?: Buffer;
  manifest: FixtureManifestEntry;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function fixtureManifest(): FixtureManifestEntry[] {
  return readJson(join(NPM_ATTESTATIONS_DIR, 'manifest.json')) as FixtureManifestEntry[];
}

function readOptional(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

function loadEntry(entry: FixtureManifestEntry): FixturePackage {
  const folder = join(NPM_ATTESTATIONS_DIR, entry.dir);
  const tarball = readFileSync(join(folder, 'package.tgz'));
  const attestationsBytes = readFileSync(join(folder, 'attestations.json'));
  const integrity = integrityOf(tarball);
  if (integrity !== entry.integrity) throw new Error(`fixture ${entry.dir}: package.tgz does not match manifest integrity`);
  return {
    name: entry.name,
    version: entry.version,
    dir: entry.dir,
    tarball,
    integrity,
    packageJson: readPackageJson(tarball),
    attestationsBytes,
    attestations: JSON.parse(attestationsBytes.toString('utf8')) as FixturePackage['attestations'],
    invalidSigProvBytes: readOptional(join(folder, 'attestations.invalidsigprov.json')),
    invalidSigPubBytes: readOptional(join(folder, 'attestations.invalidsigpub.json')),
    manifest: entry,
  };
}

/** Every real fixture package. */
export function loadFixturePackages(): FixturePackage[] {
  return fixtureManifest().map(loadEntry);
}

/** One real fixture package; throws if there is none of that name and version. */
export function loadFixturePackage(name: string, version: string): FixturePackage {
  const entry = fixtureManifest().find((candidate) => candidate.name === name && candidate.version === version);
  if (!entry) throw new Error(`no fixture package ${name}@${version} in ${NPM_ATTESTATIONS_DIR}`);
  return loadEntry(entry);
}

/** The bytes of the chosen attestations variant (throws if the fixture lacks it). */
export function attestationsVariantBytes(fixture: FixturePackage, variant: AttestationsVariant): Buffer {
  const bytes = variant === 'valid' ? fixture.attestationsBytes : variant === 'invalidsigprov' ? fixture.invalidSigProvBytes : fixture.invalidSigPubBytes;
  if (!bytes) throw new Error(`fixture ${fixture.dir} has no ${variant} attestations`);
  return bytes;
}

/**
 * What `TestRegistry.addVersion` takes to serve the fixture: its real tarball,
 * its package.json as metadata, and the chosen attestations (raw bytes, so a
 * tampered document is served byte for byte).
 */
export function fixtureToRegistryVersion(fixture: FixturePackage, variant: AttestationsVariant = 'valid'): RegistryVersionInput {
  return {
    name: fixture.name,
    version: fixture.version,
    tarball: fixture.tarball,
    manifest: fixture.packageJson,
    attestations: attestationsVariantBytes(fixture, variant),
  };
}

/** The two real packages without dependencies: enough for a real `yarn install`. */
export const INSTALLABLE_FIXTURES = [
  { name: 'gundam-visor', version: '1.0.1', repository: 'https://github.com/ramonpetgrave64/gundam-visor', workflow: '.github/workflows/npm-publish.yml', ref: 'refs/tags/v1.0.1' },
  { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5', repository: 'https://github.com/trishankatdatadog/supreme-goggles', workflow: '.github/workflows/npm-publish.yml', ref: 'refs/tags/v1.0.5' },
] as const;

/** Production Sigstore trusted root (parsed `trusted_root.json`). */
export function productionTrustedRoot(): Record<string, unknown> {
  return readJson(join(FIXTURES_DIR, 'sigstore', 'trusted_root.production.json')) as Record<string, unknown>;
}

/** Staging trusted root: real production bundles must FAIL against it. */
export function stagingTrustedRoot(): Record<string, unknown> {
  return readJson(join(FIXTURES_DIR, 'sigstore', 'trusted_root.staging.json')) as Record<string, unknown>;
}

/** npm's registry keys (`keys.json` format). */
export function productionNpmKeys(): { keys: unknown[] } {
  return readJson(join(FIXTURES_DIR, 'sigstore', 'npm_registry_keys.json')) as { keys: unknown[] };
}

/** Real production bundles over `pkg:npm/sigstore@1.0.0` signed by a person's e-mail identity, by file name. */
export function emailIdentityBundles(): Map<string, unknown> {
  const folder = join(NPM_ATTESTATIONS_DIR, 'email-identity');
  return new Map(readdirSync(folder).filter((file) => file.endsWith('.sigstore')).map((file) => [file, readJson(join(folder, file))]));
}
