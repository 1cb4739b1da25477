/**
 * Shared staging for the adversarial suite: one loopback registry and one mock
 * Sigstore per test file, packages published under unique names so cases run
 * concurrently without touching each other, and the one assertion every
 * attack must pass: refused with the expected code, nothing linked, no script.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MockSigstore, githubIdentity, type AttestationsDocument, type SigningIdentity } from './signer';
import { mergedWithProduction, startE2eKit, writeTrustMaterial, type E2eKit, type TrustFiles } from './e2e-kit';
import { buildPackageTarball, withPostinstallMarker, type PackageSpec } from './tarball';
import { type YarnProject, type YarnProjectOptions, type YarnResult } from './yarn';

export const ISSUER = 'https://token.actions.githubusercontent.com';
export const WORKFLOW = '.github/workflows/release.yml';

export type AttackKit = E2eKit;
export type { TrustFiles };

/** Writes `trusted_root.json` and `keys.json` to `folder`: `trustedRoot` and npm's keys merged with a mock Sigstore's material. */
export function writeTrustFiles(folder: string, trustedRoot: Record<string, unknown>, signer: MockSigstore): TrustFiles {
  return writeTrustMaterial(folder, mergedWithProduction(signer, trustedRoot));
}

/** A registry, a mock Sigstore trusted next to the production root, and a project factory that cleans up. */
export const startAttackKit = (): Promise<AttackKit> => startE2eKit({ tempPrefix: 'sigstore-attacks-trust-' });

/** The repository a staged package is legitimately built from. */
export const repositoryOf = (name: string): string => `acme/${name.replace(/^@[^/]+\//, '')}`;

/** A provenance rule for one package; `identity` adds or replaces identity keys (YAML scalars). */
export function provenanceRule(name: string, identity: Record<string, string> = {}): string {
  const keys = { issuer: ISSUER, repository: `https://github.com/${repositoryOf(name)}`, workflow: WORKFLOW, ...identity };
  return [`  - packages: ["${name}"]`, '    require: provenance', '    identity:', ...Object.entries(keys).map(([key, value]) => `      ${key}: ${JSON.stringify(value)}`)].join('\n');
}

export function policyOf(rules: string[], head: string[] = []): string {
  return ['version: 1', ...head, 'mode: enforce', 'default: { require: provenance }', 'rules:', ...rules, ''].join('\n');
}

export interface Staged {
  name: string;
  version: string;
  tarball: Buffer;
  attestations: AttestationsDocument;
}

/** A package whose postinstall writes a marker, signed by its legitimate repository (or `identity`), served by the registry. */
export async function publishSigned(
  kit: AttackKit,
  spec: PackageSpec,
  options: { identity?: SigningIdentity; signer?: MockSigstore; publish?: boolean } = {},
): Promise<Staged> {
  const tarball = buildPackageTarball(withPostinstallMarker(spec));
  const identity = options.identity ?? githubIdentity({ repository: repositoryOf(spec.name) });
  const attestations = await (options.signer ?? kit.mock).signPackage({ name: spec.name, version: spec.version, tarball, identity, publish: options.publish });
  kit.registry.addVersion({ name: spec.name, version: spec.version, tarball, attestations });
  return { name: spec.name, version: spec.version, tarball, attestations: attestations as AttestationsDocument };
}

/** A tarball of `staged`'s name and version with other content (and the postinstall marker). */
export const forgedTarball = (staged: Staged): Buffer => buildPackageTarball(withPostinstallMarker({ name: staged.name, version: staged.version, extra: { description: 'forged' } }));

/** A zip in Yarn's cache and the yarn.lock checksum that vouches for it. */
export interface Forged {
  zip: Buffer;
  /** yarn.lock's `checksum` of the forged zip (`<cacheKey>/<sha512>`). */
  checksum: string;
}

/** The zip Yarn makes of `tarball` for `name@version`, built by a project without the plugin, and its yarn.lock checksum. */
export async function forgedZipOf(kit: AttackKit, staged: Staged, tarball: Buffer): Promise<Forged> {
  kit.registry.setTarball(staged.name, staged.version, tarball);
  try {
    const plain = await kit.project({ dependencies: { [staged.name]: staged.version }, yarnrc: 'enableGlobalCache: false' });
    const rc = plain.read('.yarnrc.yml')!;
    plain.write('.yarnrc.yml', rc.slice(0, rc.indexOf('plugins:')));
    const result = await plain.install();
    expect(result.code, result.output).toBe(0);
    const zipName = readdirSync(join(plain.cwd, '.yarn/cache')).find((file) => file.startsWith(`${staged.name}-npm-`))!;
    return { zip: readFileSync(join(plain.cwd, '.yarn/cache', zipName)), checksum: checksumOf(plain.read('yarn.lock')!, staged.name) };
  } finally {
    kit.registry.setTarball(staged.name, staged.version, staged.tarball);
  }
}

export function checksumOf(lockfile: string, name: string): string {
  return /checksum: (\S+)/.exec(lockfile.slice(lockfile.indexOf(`"${name}@npm:`)))![1];
}

/** Puts the forged zip where Yarn looks for it in `folder` (its name carries the checksum's start) and makes yarn.lock vouch for it. */
export function plantForgedCache(p: YarnProject, folder: string, forged: Forged, name: string): void {
  const lockfile = p.read('yarn.lock')!;
  const genuine = checksumOf(lockfile, name);
  const [, genuineHash] = genuine.split('/');
  const [, forgedHash] = forged.checksum.split('/');
  const zipName = readdirSync(folder).find((entry) => entry.startsWith(`${name}-npm-`))!;
  rmSync(join(folder, zipName));
  writeFileSync(join(folder, zipName.replace(genuineHash.slice(0, 10), forgedHash.slice(0, 10))), forged.zip);
  p.write('yarn.lock', lockfile.replace(genuine, `${genuine.split('/')[0]}/${forgedHash}`));
}

/** A project depending on `name@version` under a policy with its provenance rule (or `policy`). */
export function projectFor(kit: AttackKit, staged: { name: string; version: string }, options: Partial<YarnProjectOptions> = {}): Promise<YarnProject> {
  return kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyOf([provenanceRule(staged.name)]), ...options });
}

export function markersWritten(p: YarnProject): string[] {
  return existsSync(p.markers) ? readdirSync(p.markers) : [];
}

/**
 * The attack was refused: a non-zero exit, one of `codes` named in the output,
 * no linker output (node_modules / .pnp.cjs, or the package's folder on a warm
 * project) and no lifecycle script ran.
 */
export function expectRefused(p: YarnProject, result: YarnResult, codes: string | string[], options: { warm?: string[] } = {}): void {
  const expected = Array.isArray(codes) ? codes : [codes];
  expect(result.code, result.output).not.toBe(0);
  expect(result.output).toMatch(new RegExp(`\\b(${expected.join('|')})\\b`));
  if (options.warm) {
    for (const name of options.warm) expect(p.exists(`node_modules/${name}`), `node_modules/${name}`).toBe(false);
  } else {
    expect(p.exists('node_modules'), 'node_modules').toBe(false);
    expect(p.exists('yarn.lock'), 'yarn.lock').toBe(false);
  }
  expect(p.exists('.pnp.cjs'), '.pnp.cjs').toBe(false);
  expect(markersWritten(p), 'postinstall markers').toEqual([]);
}

/** The control: the same staging without the attack installs, links and runs the script. */
export function expectInstalled(p: YarnProject, result: YarnResult, name: string, version: string): void {
  expect(result.code, result.output).toBe(0);
  expect(p.exists(`node_modules/${name}/package.json`)).toBe(true);
  expect(p.markerExists(name, version)).toBe(true);
}

/** Forgets what the first install linked and ran, so the next one shows what it does itself. */
export function clearInstallOutput(p: YarnProject): void {
  rmSync(join(p.cwd, 'node_modules'), { recursive: true, force: true });
  rmSync(p.markers, { recursive: true, force: true });
}

/** A postinstall that leaves the marker `FORGED`: the attacker's code. */
export const FORGED_SCRIPT = "const fs = require('fs'); fs.mkdirSync(process.env.SIGSTORE_TEST_MARKER_DIR, { recursive: true }); fs.writeFileSync(require('path').join(process.env.SIGSTORE_TEST_MARKER_DIR, 'FORGED'), 'ran');\n";

/** A CI job on a fresh machine: its own empty global folder (no record store, no user cache). */
export const freshMachine = (p: YarnProject, label: string) => ({ YARN_GLOBAL_FOLDER: join(p.cwd, `.yarn-ci-${label}`) });

/** A deep copy of an attestations document, to mutate one field of one bundle. */
export function cloneDocument(document: AttestationsDocument): AttestationsDocument {
  return JSON.parse(JSON.stringify(document));
}

/** The SLSA provenance bundle of a document (the one the identity comes from). */
export function provenanceBundle(document: AttestationsDocument): any {
  const entry = document.attestations.find((item) => item.predicateType === 'https://slsa.dev/provenance/v1');
  if (!entry) throw new Error('no provenance bundle in the document');
  return entry.bundle;
}

/** The user's record key: HOME is the project in the test kit, so `~/.config/yarn-plugin-sigstore/record.key`. */
export const userRecordKey = (p: YarnProject): Buffer => readFileSync(join(p.cwd, '.config/yarn-plugin-sigstore/record.key'));
