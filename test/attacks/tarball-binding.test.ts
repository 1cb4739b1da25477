/**
 * Attacks on the bytes and on what the attestations are bound to: every case
 * is a real Yarn install against the loopback registry and must be refused
 * before anything is linked or any script runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmPurl } from '../../testkit/signer';
import { buildPackageTarball, integrityOf, readPackageJson, sha512Hex, withPostinstallMarker } from '../../testkit/tarball';
import { expectInstalled, expectRefused, policyOf, projectFor, provenanceRule, publishSigned, repositoryOf, type AttackKit, startAttackKit } from '../../testkit/attack-harness';
import { githubIdentity } from '../../testkit/signer';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => kit?.close());

/** Signs `tarball` as `name@version` with the given in-toto subjects and serves `served` bytes under that name. */
async function serveWithSubjects(name: string, version: string, subjects: { name: string; digest: Record<string, string> }[], served?: Buffer) {
  const tarball = served ?? buildPackageTarball(withPostinstallMarker({ name, version }));
  const attestations = await kit.mock.signPackage({ name, version, tarball, identity: githubIdentity({ repository: repositoryOf(name) }), subjects, publish: false });
  kit.registry.addVersion({ name, version, tarball, attestations });
  return { name, version, tarball };
}

describe.concurrent('tarball attacks', () => {
  it('control: the untouched signed package installs and runs its script', async () => {
    const staged = await publishSigned(kit, { name: 'tb-control', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expectInstalled(p, await p.install(), staged.name, staged.version);
  });

  it('tarball bytes replaced (dist.integrity left as published)', async () => {
    const staged = await publishSigned(kit, { name: 'tb-replaced', version: '1.0.0' });
    const evil = buildPackageTarball(withPostinstallMarker({ name: staged.name, version: staged.version, extra: { description: 'evil' } }));
    kit.registry.setTarball(staged.name, staged.version, evil);
    kit.registry.setIntegrity(staged.name, staged.version, integrityOf(staged.tarball));
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH');
  });

  it('tarball replaced and dist.integrity made consistent with it (the attacker controls the metadata)', async () => {
    const staged = await publishSigned(kit, { name: 'tb-consistent', version: '1.0.0' });
    const evil = buildPackageTarball(withPostinstallMarker({ name: staged.name, version: staged.version, extra: { description: 'evil' } }));
    kit.registry.setTarball(staged.name, staged.version, evil);
    kit.registry.setIntegrity(staged.name, staged.version, integrityOf(evil));
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH');
  });

  it('attested digest of another version of the same package', async () => {
    const old = buildPackageTarball(withPostinstallMarker({ name: 'tb-other-version', version: '1.0.0' }));
    const served = buildPackageTarball(withPostinstallMarker({ name: 'tb-other-version', version: '1.0.1' }));
    const staged = await serveWithSubjects('tb-other-version', '1.0.1', [{ name: npmPurl('tb-other-version', '1.0.1'), digest: { sha512: sha512Hex(old) } }], served);
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH');
  });

  it('truncated tarball', async () => {
    const staged = await publishSigned(kit, { name: 'tb-truncated', version: '1.0.0' });
    kit.registry.setTarball(staged.name, staged.version, staged.tarball.subarray(0, Math.floor(staged.tarball.length / 2)));
    kit.registry.setIntegrity(staged.name, staged.version, integrityOf(staged.tarball));
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH');
  });
});

describe.concurrent('binding attacks', () => {
  it("the attestations of package A served for package B (same bytes)", async () => {
    const a = await publishSigned(kit, { name: 'bd-a', version: '1.0.0' });
    kit.registry.addVersion({ name: 'bd-b', version: '1.0.0', tarball: a.tarball, attestations: a.attestations });
    const p = await projectFor(kit, { name: 'bd-b', version: '1.0.0' }, { policy: policyOf([provenanceRule('bd-b', { repository: `https://github.com/${repositoryOf('bd-a')}` })]) });
    expectRefused(p, await p.install(), 'SUBJECT_NAME_MISMATCH');
  });

  it('the attestations of 1.0.0 served for 1.0.1 (same bytes)', async () => {
    const v100 = await publishSigned(kit, { name: 'bd-version', version: '1.0.0' });
    kit.registry.addVersion({ name: 'bd-version', version: '1.0.1', tarball: v100.tarball, attestations: v100.attestations });
    const p = await projectFor(kit, { name: 'bd-version', version: '1.0.1' });
    expectRefused(p, await p.install(), 'SUBJECT_NAME_MISMATCH');
  });

  const purlVariants: [string, string, (name: string, version: string) => string][] = [
    ['an unscoped purl for a scoped package', '@acme/bd-scoped', (_name, version) => `pkg:npm/bd-scoped@${version}`],
    ['a scoped purl for an unscoped package', 'bd-unscoped', (name, version) => `pkg:npm/%40acme/${name}@${version}`],
    ['a case variant of the name', 'bd-case', (name, version) => `pkg:npm/${name.toUpperCase()}@${version}`],
    ['the scope @ not percent-encoded', '@acme/bd-rawat', (name, version) => `pkg:npm/${name}@${version}`],
    ['a percent-encoded letter in the name', 'bd-pct', (name, version) => `pkg:npm/%62d-pct@${version}`],
    ['a percent-encoded slash joining scope and name', '@acme/bd-slash', (name, version) => `pkg:npm/%40acme%2Fbd-slash@${version}`],
    ['a qualifier after the version', 'bd-qualifier', (name, version) => `${npmPurl(name, version)}?repository_url=https://evil.example`],
    ['a subpath after the version', 'bd-subpath', (name, version) => `${npmPurl(name, version)}#lib`],
  ];
  for (const [label, name, purl] of purlVariants) {
    it(`purl confusion: ${label}`, async () => {
      const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
      const staged = await serveWithSubjects(name, '1.0.0', [{ name: purl(name, '1.0.0'), digest: { sha512: sha512Hex(tarball) } }], tarball);
      const p = await projectFor(kit, staged);
      expectRefused(p, await p.install(), 'SUBJECT_NAME_MISMATCH');
    });
  }

  it('several subjects, none carrying both the name and the digest', async () => {
    const name = 'bd-split';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
    const staged = await serveWithSubjects(
      name,
      '1.0.0',
      [
        { name: npmPurl(name, '1.0.0'), digest: { sha512: sha512Hex(buildPackageTarball({ name, version: '1.0.0' })) } },
        { name: npmPurl('bd-split-other', '1.0.0'), digest: { sha512: sha512Hex(tarball) } },
      ],
      tarball,
    );
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH');
  });

  it('control: several subjects where one carries both the name and the digest pass', async () => {
    const name = 'bd-multi-ok';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
    const staged = await serveWithSubjects(
      name,
      '1.0.0',
      [
        { name: npmPurl('bd-sibling', '1.0.0'), digest: { sha512: 'ab'.repeat(64) } },
        { name: npmPurl(name, '1.0.0'), digest: { sha512: sha512Hex(tarball) } },
      ],
      tarball,
    );
    const p = await projectFor(kit, staged);
    expectInstalled(p, await p.install(), name, '1.0.0');
  });

  it('a subject with only a sha256 digest', async () => {
    const name = 'bd-sha256';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
    const sha256 = (await import('node:crypto')).createHash('sha256').update(tarball).digest('hex');
    const staged = await serveWithSubjects(name, '1.0.0', [{ name: npmPurl(name, '1.0.0'), digest: { sha256 } }], tarball);
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH');
  });

  it('registry metadata gives the verified package a dependency its package.json does not have', async () => {
    const helper = await publishSigned(kit, { name: 'bd-injected-dep', version: '1.0.0' });
    const staged = await publishSigned(kit, { name: 'bd-deps', version: '1.0.0' });
    kit.registry.addVersion({ name: staged.name, version: staged.version, tarball: staged.tarball, attestations: staged.attestations, manifest: { ...readPackageJson(staged.tarball), dependencies: { [helper.name]: helper.version } } });
    const p = await projectFor(kit, staged, { policy: policyOf([provenanceRule(staged.name), provenanceRule(helper.name)]) });
    expectRefused(p, await p.install(), 'MANIFEST_MISMATCH');
  });

  it('registry metadata gives the verified package a bin its package.json does not have', async () => {
    const staged = await publishSigned(kit, { name: 'bd-bins', version: '1.0.0' });
    kit.registry.addVersion({ name: staged.name, version: staged.version, tarball: staged.tarball, attestations: staged.attestations, manifest: { ...readPackageJson(staged.tarball), bin: { ls: 'index.js' } } });
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'MANIFEST_MISMATCH');
  });

  it('control: bins npm rewrites on publish (./x as x, directories.bin expanded) are not additions', async () => {
    const name = 'bd-bins-normalized';
    const script = '#!/usr/bin/env node\n';
    const files = [
      { path: 'cli.js', content: script, mode: 0o755 },
      { path: 'bin/helper', content: script, mode: 0o755 },
    ];
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0', bin: { tool: './cli.js' }, extra: { directories: { bin: 'bin' } }, files }));
    const attestations = await kit.mock.signPackage({ name, version: '1.0.0', tarball, identity: githubIdentity({ repository: repositoryOf(name) }), publish: false });
    kit.registry.addVersion({ name, version: '1.0.0', tarball, attestations, manifest: { ...readPackageJson(tarball), bin: { tool: 'cli.js', helper: 'bin/helper' } } });
    const p = await projectFor(kit, { name, version: '1.0.0' });
    expectInstalled(p, await p.install(), name, '1.0.0');
  });

  it('an alias ("trusted": "npm:evil@1") does not inherit the rule of the name it borrows', async () => {
    const evil = { name: 'bd-evil', version: '1.0.0' };
    kit.registry.addVersion({ ...evil, tarball: buildPackageTarball(withPostinstallMarker(evil)) });
    const exception = ['  - packages: ["bd-trusted"]', '    require: none', '    reason: vendored', '    expires: 2099-12-31'].join('\n');
    const p = await kit.project({ dependencies: { 'bd-trusted': `npm:${evil.name}@${evil.version}` }, policy: policyOf([exception]) });
    const result = await p.install();
    expectRefused(p, result, 'POLICY_DENIED');
    expect(result.output).toContain('bd-evil');
  });
});
