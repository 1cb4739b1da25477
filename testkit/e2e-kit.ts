/**
 * The staging every end-to-end suite shares: a mock Sigstore trusted next to
 * the production root (merged material written to a temp folder), a loopback
 * registry (optionally serving the installable real fixtures), and a project
 * factory that pins that trust and removes every project on `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALLABLE_FIXTURES, fixtureToRegistryVersion, loadFixturePackage, productionNpmKeys, productionTrustedRoot } from './fixtures';
import { startRegistry, type TestRegistry } from './registry';
import { MockSigstore, mergeTrustMaterial } from './signer';
import { createYarnProject, type YarnProject, type YarnProjectOptions } from './yarn';

/** When the kit's npm key (attestations and registry signatures) became valid: before OLD_PUBLISH_TIME. */
export const REGISTRY_KEY_START = '2019-01-01T00:00:00.000Z';

export interface TrustFiles {
  trustedRootPath: string;
  npmKeysPath: string;
}

export type MergedTrustMaterial = ReturnType<typeof mergeTrustMaterial>;

export interface E2eKitOptions {
  /** Serve the installable real fixtures (gundam-visor, supreme-goggles) from the registry. */
  fixtures?: boolean;
  /** Pin the merged trust files in every project's .yarnrc (default); false leaves the plugin to find its root itself (e.g. through TUF). */
  pinTrust?: boolean;
  /** Prefix of the temp folder holding the trust files. */
  tempPrefix?: string;
}

export interface E2eKit extends TrustFiles {
  mock: MockSigstore;
  registry: TestRegistry;
  /** Temp folder of the trust files; removed on close, so suites may put their own files there. */
  trustDir: string;
  /** The production trusted root and npm keys merged with the mock Sigstore's. */
  mergedMaterial: MergedTrustMaterial;
  /** A fresh project on the kit's registry (and pinned trust), removed on close; `options` override the defaults. */
  project(options?: Partial<YarnProjectOptions>): Promise<YarnProject>;
  close(): Promise<void>;
}

/** The production trusted root (or `trustedRoot`) and npm keys merged with a mock Sigstore's material. */
export function mergedWithProduction(signer: MockSigstore, trustedRoot: Record<string, unknown> = productionTrustedRoot()): MergedTrustMaterial {
  return mergeTrustMaterial({ trustedRoot, npmKeys: productionNpmKeys(), origin: 'production' }, signer.trustMaterial());
}

/** Writes `trusted_root.json` and `keys.json` of `material` to `folder`. */
export function writeTrustMaterial(folder: string, material: { trustedRoot: unknown; npmKeys: unknown }): TrustFiles {
  const files = { trustedRootPath: join(folder, 'trusted_root.json'), npmKeysPath: join(folder, 'keys.json') };
  writeFileSync(files.trustedRootPath, JSON.stringify(material.trustedRoot));
  writeFileSync(files.npmKeysPath, JSON.stringify(material.npmKeys));
  return files;
}

export async function startE2eKit(options: E2eKitOptions = {}): Promise<E2eKit> {
  // Its npm key signs the registry's `dist.signatures` too: valid since before the registry's publish times (2020).
  const mock = await MockSigstore.create({ npmKeyValidFor: { start: new Date(REGISTRY_KEY_START) } });
  const trustDir = mkdtempSync(join(tmpdir(), options.tempPrefix ?? 'sigstore-e2e-trust-'));
  const mergedMaterial = mergedWithProduction(mock);
  const trustFiles = writeTrustMaterial(trustDir, mergedMaterial);
  const versions = options.fixtures ? INSTALLABLE_FIXTURES.map((fixture) => fixtureToRegistryVersion(loadFixturePackage(fixture.name, fixture.version))) : undefined;
  const registry = await startRegistry({ versions, signer: (name, version, integrity) => mock.registrySignature(name, version, integrity) });
  const pinnedTrust = options.pinTrust === false ? {} : trustFiles;
  const projects: YarnProject[] = [];
  return {
    mock,
    registry,
    trustDir,
    ...trustFiles,
    mergedMaterial,
    async project(projectOptions = {}) {
      const created = await createYarnProject({ registryUrl: registry.url, ...pinnedTrust, ...projectOptions });
      projects.push(created);
      return created;
    },
    async close() {
      await registry.close();
      for (const p of projects) rmSync(p.cwd, { recursive: true, force: true });
      rmSync(trustDir, { recursive: true, force: true });
    },
  };
}
