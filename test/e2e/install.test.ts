/**
 * The install-time gate end to end: the real pinned Yarn, the built plugin
 * bundle, a real loopback registry serving the real fixtures and packages
 * signed through a mock Sigstore, `enableScripts: true` and postinstall
 * markers. Every case starts from a fresh project with its own global folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALLABLE_FIXTURES, fixtureToRegistryVersion, loadFixturePackage, productionNpmKeys, productionTrustedRoot } from '../../testkit/fixtures';
import { startForeignHost, startRegistry, type TestRegistry } from '../../testkit/registry';
import { MockSigstore, githubIdentity, mergeTrustMaterial } from '../../testkit/signer';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import { createYarnProject, type YarnProject, type YarnProjectOptions } from '../../testkit/yarn';

const [GUNDAM, GOGGLES] = INSTALLABLE_FIXTURES;
const MARKER = { name: '@acme/marker', version: '1.0.0', repository: 'https://github.com/acme/marker' };
const UNSIGNED = { name: 'plain-unsigned', version: '2.0.0' };
const ISSUER = 'https://token.actions.githubusercontent.com';

let registry: TestRegistry;
let mock: MockSigstore;
let trustDir: string;
const projects: YarnProject[] = [];

function rule(packages: string, repository: string, workflow = '.github/workflows/npm-publish.yml'): string {
  return [
    `  - packages: ["${packages}"]`,
    '    require: provenance',
    '    identity:',
    `      issuer: ${ISSUER}`,
    `      repository: ${repository}`,
    `      workflow: ${workflow}`,
  ].join('\n');
}

/** The policy naming the real repositories and workflows; `overrides` replace a package's repository. */
function policy(options: { mode?: string; gundamRepository?: string; extraRules?: string[]; sources?: string } = {}): string {
  return [
    'version: 1',
    `mode: ${options.mode ?? 'enforce'}`,
    'default: { require: provenance }',
    'rules:',
    ...(options.extraRules ?? []),
    rule(GUNDAM.name, options.gundamRepository ?? GUNDAM.repository),
    rule(GOGGLES.name, GOGGLES.repository),
    rule(MARKER.name, MARKER.repository, '.github/workflows/release.yml'),
    ...(options.sources ? [options.sources] : []),
    '',
  ].join('\n');
}

const ALL_DEPENDENCIES = { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version, [MARKER.name]: MARKER.version };

async function project(options: Partial<YarnProjectOptions> & { policy?: string } = {}): Promise<YarnProject> {
  const created = await createYarnProject({
    registryUrl: registry.url,
    dependencies: ALL_DEPENDENCIES,
    trustedRootPath: join(trustDir, 'trusted_root.json'),
    npmKeysPath: join(trustDir, 'keys.json'),
    ...options,
  });
  projects.push(created);
  return created;
}

function expectNothingInstalled(p: YarnProject): void {
  expect(p.exists('node_modules/gundam-visor')).toBe(false);
  expect(p.exists('node_modules/@acme/marker')).toBe(false);
  expect(p.markerExists(MARKER.name, MARKER.version)).toBe(false);
  expect(p.exists('yarn.lock')).toBe(false);
}

beforeAll(async () => {
  mock = await MockSigstore.create();
  trustDir = mkdtempSync(join(tmpdir(), 'sigstore-e2e-trust-'));
  const material = mergeTrustMaterial({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys(), origin: 'production' }, mock.trustMaterial());
  writeFileSync(join(trustDir, 'trusted_root.json'), JSON.stringify(material.trustedRoot));
  writeFileSync(join(trustDir, 'keys.json'), JSON.stringify(material.npmKeys));

  registry = await startRegistry({ versions: INSTALLABLE_FIXTURES.map((fixture) => fixtureToRegistryVersion(loadFixturePackage(fixture.name, fixture.version))) });
  const markerTarball = buildPackageTarball(withPostinstallMarker({ name: MARKER.name, version: MARKER.version }));
  registry.addVersion({
    name: MARKER.name,
    version: MARKER.version,
    tarball: markerTarball,
    attestations: await mock.signPackage({ name: MARKER.name, version: MARKER.version, tarball: markerTarball, identity: githubIdentity({ repository: 'acme/marker' }) }),
  });
  registry.addVersion({ name: UNSIGNED.name, version: UNSIGNED.version, tarball: buildPackageTarball(withPostinstallMarker({ name: UNSIGNED.name, version: UNSIGNED.version })) });
});

afterAll(async () => {
  await registry?.close();
  for (const p of projects) rmSync(p.cwd, { recursive: true, force: true });
  if (trustDir) rmSync(trustDir, { recursive: true, force: true });
});

describe('yarn install through the sigstore gate', () => {
  it('1. installs real and mock-signed packages whose identities match the policy, and runs their scripts', async () => {
    const p = await project({ policy: policy(), importPlugin: true });
    const result = await p.install();
    expect(result.output).toContain('sigstore: 3 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(result.code).toBe(0);
    expect(p.exists('node_modules/gundam-visor/package.json')).toBe(true);
    expect(p.exists('node_modules/@trishankatdatadog/supreme-goggles/package.json')).toBe(true);
    expect(p.markerExists(MARKER.name, MARKER.version)).toBe(true);
    const evidence = p.evidence();
    const gundam = evidence.packages.find((entry: any) => entry.name === GUNDAM.name);
    expect(gundam.status).toBe('verified');
    expect(gundam.identity.sourceRepositoryUri ?? gundam.identity.san).toContain('ramonpetgrave64/gundam-visor');
    expect(gundam.bundles.length).toBeGreaterThan(0);
  });

  it('2. fails an identity mismatch naming package, rule, expected and found; nothing linked, no script, no yarn.lock', async () => {
    const p = await project({ policy: policy({ gundamRepository: 'https://github.com/someone-else/gundam-visor' }) });
    const result = await p.install();
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('gundam-visor@1.0.1');
    expect(result.output).toContain('https://github.com/someone-else/gundam-visor');
    expect(result.output).toContain('https://github.com/ramonpetgrave64/gundam-visor');
    expect(result.output).toMatch(/rules\[\d\]/);
    expectNothingInstalled(p);
  });
});
