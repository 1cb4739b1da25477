/**
 * Registry signals end to end, with the real pinned Yarn and the built plugin:
 * npm registry signatures (`dist.signatures`, signed by the loopback
 * registry with the kit's mock npm key, trusted as production keys are,
 * through sigstoreNpmKeysPath) checked against the installed tarball, and
 * no-downgrade against the registry's history for packages not yet pinned.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockSigstore, githubIdentity, mergeNpmKeys } from '../../testkit/signer';
import { buildPackageTarball, integrityOf, withPostinstallMarker } from '../../testkit/tarball';
import { jsonEvents, type YarnProject, type YarnResult } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

let kit: E2eKit;
/** A second npm key, valid only in 2021: the registry's publish times (2020) fall outside it. */
let retired: MockSigstore;
/** keys.json trusting the kit's keys and the retired one. */
let keysWithRetired: string;
let bundleDir: string;

const tarballOf = (name: string, version: string, extra?: Record<string, unknown>) => buildPackageTarball(withPostinstallMarker({ name, version, extra }));

async function publishSigned(name: string, version: string): Promise<Buffer> {
  const tarball = tarballOf(name, version);
  kit.registry.addVersion({ name, version, tarball, attestations: await kit.mock.signPackage({ name, version, tarball, identity: githubIdentity({ repository: `acme/${name}` }) }) });
  return tarball;
}

function publishUnsigned(name: string, version: string, extra: { trustedPublisher?: boolean } = {}): Buffer {
  const tarball = tarballOf(name, version);
  kit.registry.addVersion({ name, version, tarball, ...extra });
  return tarball;
}

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-signals-' });
  retired = await MockSigstore.create({ npmKeyValidFor: { start: new Date('2021-01-01T00:00:00Z'), end: new Date('2021-12-31T00:00:00Z') } });
  keysWithRetired = join(kit.trustDir, 'keys-with-retired.json');
  writeFileSync(keysWithRetired, JSON.stringify(mergeNpmKeys(kit.mergedMaterial.npmKeys, retired.npmKeys)));
  bundleDir = mkdtempSync(join(tmpdir(), 'sigstore-signals-bundles-'));

  publishUnsigned('sig-good', '1.0.0');
  publishUnsigned('sig-stripped', '1.0.0');
  kit.registry.setSignatures('sig-stripped', '1.0.0', null);
  publishUnsigned('sig-retired', '1.0.0');
  kit.registry.setSignatures('sig-retired', '1.0.0', [retired.registrySignature('sig-retired', '1.0.0', integrityOf(tarballOf('sig-retired', '1.0.0')))]);
  publishUnsigned('sig-unknown', '1.0.0');
  kit.registry.setSignatures('sig-unknown', '1.0.0', [{ keyid: 'SHA256:not-a-trusted-key', sig: 'MEUCIQ==' }]);

  // A mirror lost the packument's signatures; the bundle directory's document carries them.
  const routed = await publishSigned('sig-routed', '1.0.0');
  kit.registry.setSignatures('sig-routed', '1.0.0', null);
  const document = await kit.mock.signPackage({ name: 'sig-routed', version: '1.0.0', tarball: routed, identity: githubIdentity({ repository: 'acme/sig-routed' }) });
  writeFileSync(join(bundleDir, 'sig-routed@1.0.0.json'), JSON.stringify({ ...document, signatures: [kit.mock.registrySignature('sig-routed', '1.0.0', integrityOf(routed))] }));

  // History: provenance from 1.0.0 on; 1.1.0 without; another line, a prerelease and an older release without.
  await publishSigned('hist', '1.0.0');
  for (const version of ['0.9.0', '1.1.0', '1.2.0-beta.1', '2.0.0']) publishUnsigned('hist', version);
  // A trusted publisher, then a release without one.
  publishUnsigned('hist-tp', '3.0.0', { trustedPublisher: true });
  publishUnsigned('hist-tp', '3.0.1');
});

afterAll(async () => {
  await kit?.close();
  rmSync(bundleDir, { recursive: true, force: true });
});

const POLICY_NONE = ['version: 1', 'default: { require: none }', ''].join('\n');

function policyWith(rules: string[]): string {
  return ['version: 1', 'default: { require: none }', 'rules:', ...rules, ''].join('\n');
}

/** Refused with `code` naming the package: nothing linked, no lockfile, no script ran. */
function expectRefused(p: YarnProject, result: YarnResult, code: string, name: string, version: string, texts: string[] = []): void {
  expect(result.code, result.output).not.toBe(0);
  for (const text of [code, `${name}@${version}`, ...texts]) expect(result.output).toContain(text);
  expect(p.exists(`node_modules/${name}`)).toBe(false);
  expect(p.exists('yarn.lock')).toBe(false);
  expect(p.markerExists(name, version)).toBe(false);
}

function expectInstalled(p: YarnProject, result: YarnResult, name: string, version: string): void {
  expect(result.code, result.output).toBe(0);
  expect(p.exists(`node_modules/${name}/package.json`)).toBe(true);
  expect(p.markerExists(name, version)).toBe(true);
}

const evidenceOf = (p: YarnProject, name: string) => p.evidence().packages.find((entry: any) => entry.name === name);

describe('npm registry signatures with the real Yarn', () => {
  it('verifies the registry signature of an unsigned package and shows it in the evidence, explain and verify --json', async () => {
    const p = await kit.project({ dependencies: { 'sig-good': '1.0.0' }, policy: POLICY_NONE });
    expectInstalled(p, await p.install(), 'sig-good', '1.0.0');
    expect(evidenceOf(p, 'sig-good').registrySignature).toMatchObject({ status: 'verified', keyId: kit.mock.npmKeyId });

    const recheck = { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' };
    const explain = await p.run(['sigstore', 'explain', 'sig-good'], recheck);
    expect(explain.code, explain.output).toBe(0);
    expect(explain.output).toContain(`Registry signature: verified with npm key ${kit.mock.npmKeyId}`);
    const verify = await p.run(['sigstore', 'verify', '--json'], recheck);
    expect(verify.code, verify.output).toBe(0);
    const event = jsonEvents(verify.stdout).find((e) => e.type === 'sigstore-package' && e.name === 'sig-good');
    expect(event.registrySignature).toMatchObject({ status: 'verified', keyId: kit.mock.npmKeyId });
  });

  it('refuses a tarball the registry signature does not cover (dist.integrity as published)', async () => {
    publishUnsigned('sig-swapped', '1.0.0');
    const published = integrityOf(tarballOf('sig-swapped', '1.0.0'));
    kit.registry.setTarball('sig-swapped', '1.0.0', tarballOf('sig-swapped', '1.0.0', { description: 'evil' }));
    kit.registry.setIntegrity('sig-swapped', '1.0.0', published);
    const p = await kit.project({ dependencies: { 'sig-swapped': '1.0.0' }, policy: POLICY_NONE });
    expectRefused(p, await p.install(), 'REGISTRY_SIGNATURE_INVALID', 'sig-swapped', '1.0.0', ['the tarball is not the one the registry signed']);
    // Nothing was remembered for these bytes: the next install checks again.
    expectRefused(p, await p.install(), 'REGISTRY_SIGNATURE_INVALID', 'sig-swapped', '1.0.0');
    // explain names the check that failed, not the (absent) bundles.
    const explain = await p.run(['sigstore', 'explain', 'sig-swapped@1.0.0']);
    expect(explain.output).toContain('Registry signature: FAILED: [REGISTRY_SIGNATURE_INVALID]');
    expect(explain.output).not.toContain('Bundles:');
  });

  it('refuses a swapped tarball whose dist.integrity was rewritten to match (the signature stays the registry\'s), also without a policy', async () => {
    const original = publishUnsigned('sig-rewritten', '1.0.0');
    const evil = tarballOf('sig-rewritten', '1.0.0', { description: 'evil' });
    kit.registry.setSignatures('sig-rewritten', '1.0.0', [kit.mock.registrySignature('sig-rewritten', '1.0.0', integrityOf(original))]);
    kit.registry.setTarball('sig-rewritten', '1.0.0', evil);
    kit.registry.setIntegrity('sig-rewritten', '1.0.0', integrityOf(evil));
    const p = await kit.project({ dependencies: { 'sig-rewritten': '1.0.0' } });
    expectRefused(p, await p.install(), 'REGISTRY_SIGNATURE_INVALID', 'sig-rewritten', '1.0.0');
  });

  it('refuses a package without a registry signature under registrySignatures: require, and allows it under the default when-present', async () => {
    const strict = await kit.project({ dependencies: { 'sig-stripped': '1.0.0' }, policy: policyWith(['  - packages: ["sig-*"]', '    require: none', '    registrySignatures: require']) });
    expectRefused(strict, await strict.install(), 'REGISTRY_SIGNATURE_MISSING', 'sig-stripped', '1.0.0', ['registrySignatures: require']);

    const lenient = await kit.project({ dependencies: { 'sig-stripped': '1.0.0' }, policy: POLICY_NONE });
    expectInstalled(lenient, await lenient.install(), 'sig-stripped', '1.0.0');
    expect(evidenceOf(lenient, 'sig-stripped').registrySignature).toMatchObject({ status: 'absent' });
  });

  it('takes the signatures from the bundle directory\'s document when the packument lost them (require passes)', async () => {
    const p = await kit.project({
      dependencies: { 'sig-routed': '1.0.0' },
      policy: ['version: 1', 'default: { require: provenance, registrySignatures: require }', ''].join('\n'),
      yarnrc: `sigstoreBundleDirectory: "${bundleDir}"`,
    });
    expectInstalled(p, await p.install(), 'sig-routed', '1.0.0');
    expect(evidenceOf(p, 'sig-routed').registrySignature).toMatchObject({ status: 'verified', source: join(bundleDir, 'sig-routed@1.0.0.json') });
  });

  it('refuses a signature by a key outside its validity window at the publish time', async () => {
    const p = await kit.project({ dependencies: { 'sig-retired': '1.0.0' }, policy: POLICY_NONE, npmKeysPath: keysWithRetired });
    expectRefused(p, await p.install(), 'REGISTRY_KEY_EXPIRED', 'sig-retired', '1.0.0', [retired.npmKeyId, '2020-01-01T00:00:00.000Z']);
  });

  it('refuses a signature by a key no trusted keys.json has', async () => {
    const p = await kit.project({ dependencies: { 'sig-unknown': '1.0.0' }, policy: POLICY_NONE });
    expectRefused(p, await p.install(), 'REGISTRY_KEY_UNKNOWN', 'sig-unknown', '1.0.0', ['SHA256:not-a-trusted-key']);
  });
});

describe('no-downgrade against the registry history with the real Yarn', () => {
  it('refuses a version without provenance after a signed one of its line, naming that version', async () => {
    const p = await kit.project({ dependencies: { hist: '1.1.0' }, policy: POLICY_NONE });
    expectRefused(p, await p.install(), 'PROVENANCE_DOWNGRADE', 'hist', '1.1.0', ['1.0.0 of its 1.x line', 'downgrade: allow']);
    // Its "no attestations" answer is remembered, but the history is asked again while it is not pinned.
    expectRefused(p, await p.install(), 'PROVENANCE_DOWNGRADE', 'hist', '1.1.0');
  });

  it('refuses a release without a trusted publisher after one with it', async () => {
    const p = await kit.project({ dependencies: { 'hist-tp': '3.0.1' }, policy: POLICY_NONE });
    expectRefused(p, await p.install(), 'PROVENANCE_DOWNGRADE', 'hist-tp', '3.0.1', ['3.0.0', 'a trusted publisher']);
  });

  it('controls: another release line, a prerelease and a version below the first signed one install', async () => {
    const p = await kit.project({ dependencies: { hist: '2.0.0', 'hist-beta': 'npm:hist@1.2.0-beta.1', 'hist-old': 'npm:hist@0.9.0' }, policy: POLICY_NONE });
    const result = await p.install();
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toContain('PROVENANCE_DOWNGRADE');
    for (const version of ['2.0.0', '1.2.0-beta.1', '0.9.0']) expect(p.markerExists('hist', version)).toBe(true);
  });

  it('allows the version under an exception with a reason and an expiry, and refuses it once the exception expired, naming it', async () => {
    const exception = (expires: string) => policyWith(['  - name: hist-backport', '    packages: ["hist@1.1.0"]', '    require: none', '    downgrade: allow', '    reason: released by hand while CI was down, ACME-42', `    expires: ${expires}`]);
    const allowed = await kit.project({ dependencies: { hist: '1.1.0' }, policy: exception('2099-12-31') });
    const result = await allowed.install();
    expectInstalled(allowed, result, 'hist', '1.1.0');
    expect(evidenceOf(allowed, 'hist').verdict.message).toContain('ACME-42');

    const expired = await kit.project({ dependencies: { hist: '1.1.0' }, policy: exception('2021-01-01') });
    expectRefused(expired, await expired.install(), 'PROVENANCE_DOWNGRADE', 'hist', '1.1.0', ['rule "hist-backport"', 'expired on 2021-01-01']);
  });

  it('only warns without a trust policy', async () => {
    const p = await kit.project({ dependencies: { hist: '1.1.0' } });
    const result = await p.install();
    expectInstalled(p, result, 'hist', '1.1.0');
    expect(result.output).toContain('provenance downgrade');
    expect(evidenceOf(p, 'hist')).toMatchObject({ status: 'warned', downgrade: { signedVersion: '1.0.0' } });
  });
});

/**
 * What the plugin asks the registry for one package, cold: the attestations endpoint, and the FULL packument
 * (`Accept: application/json`); Yarn's own resolution asks the abbreviated one, its fetch the tarball.
 */
function pluginRequests(name: string): string[] {
  return kit.registry.requests
    .filter((request) => request.name === name && (request.kind === 'attestations' || (request.kind === 'packument' && request.accept === 'application/json')))
    .map((request) => `${request.kind} ${request.status}`);
}

describe('requests per package, cold, with the real Yarn', () => {
  const requireProvenance = (name: string, registrySignatures = 'when-present') => policyWith([`  - packages: ["${name}"]`, '    require: provenance', `    registrySignatures: ${registrySignatures}`]);

  it('a signed package its rule requires to be signed: one request under when-present, the registry signature shown as covered by the verified publish attestation', async () => {
    await publishSigned('req-signed', '1.0.0');
    const p = await kit.project({ dependencies: { 'req-signed': '1.0.0' }, policy: requireProvenance('req-signed') });
    kit.registry.clearRequests();
    expectInstalled(p, await p.install(), 'req-signed', '1.0.0');
    expect(pluginRequests('req-signed')).toEqual(['attestations 200']);
    expect(kit.registry.requests.some((request) => request.name === 'req-signed' && request.kind === 'packument')).toBe(true);
    const covered = { status: 'covered', by: 'npm-publish-attestation', keyId: kit.mock.npmKeyId };
    expect(evidenceOf(p, 'req-signed').registrySignature).toMatchObject(covered);

    const recheck = { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' };
    const explain = await p.run(['sigstore', 'explain', 'req-signed'], recheck);
    expect(explain.code, explain.output).toBe(0);
    expect(explain.output).toContain(`Registry signature: covered by the verified npm publish attestation (npm key ${kit.mock.npmKeyId}`);
    const verify = await p.run(['sigstore', 'verify', '--json'], recheck);
    expect(jsonEvents(verify.stdout).find((e) => e.type === 'sigstore-package' && e.name === 'req-signed').registrySignature).toMatchObject(covered);
  });

  it('the same package under registrySignatures: require: its packument is asked, and a registry signature over other bytes fails it', async () => {
    const tarball = await publishSigned('req-required', '1.0.0');
    kit.registry.setSignatures('req-required', '1.0.0', [kit.mock.registrySignature('req-required', '1.0.0', integrityOf(Buffer.concat([tarball, Buffer.from('x')])))]);
    const p = await kit.project({ dependencies: { 'req-required': '1.0.0' }, policy: requireProvenance('req-required', 'require') });
    kit.registry.clearRequests();
    expectRefused(p, await p.install(), 'REGISTRY_SIGNATURE_INVALID', 'req-required', '1.0.0');
    expect(pluginRequests('req-required')).toEqual(['attestations 200', 'packument 200']);
  });

  it('a swapped tarball of a package required to be signed still fails on its attestations, with one request', async () => {
    await publishSigned('req-swapped', '1.0.0');
    const evil = tarballOf('req-swapped', '1.0.0', { description: 'evil' });
    kit.registry.setTarball('req-swapped', '1.0.0', evil);
    kit.registry.setIntegrity('req-swapped', '1.0.0', integrityOf(evil));
    const p = await kit.project({ dependencies: { 'req-swapped': '1.0.0' }, policy: requireProvenance('req-swapped') });
    kit.registry.clearRequests();
    expectRefused(p, await p.install(), 'SUBJECT_DIGEST_MISMATCH', 'req-swapped', '1.0.0');
    expect(pluginRequests('req-swapped')).toEqual(['attestations 200']);
  });

  it('an unsigned package neither pinned nor required to be signed: one request, its packument', async () => {
    publishUnsigned('req-unsigned', '1.0.0');
    const p = await kit.project({ dependencies: { 'req-unsigned': '1.0.0' }, policy: POLICY_NONE });
    kit.registry.clearRequests();
    expectInstalled(p, await p.install(), 'req-unsigned', '1.0.0');
    expect(pluginRequests('req-unsigned')).toEqual(['packument 200']);
    expect(evidenceOf(p, 'req-unsigned')).toMatchObject({ status: 'allowed-unsigned', registrySignature: { status: 'verified' } });
  });

  it('a package whose packument announces attestations gets them fetched and verified (no pin, no rule requiring them)', async () => {
    await publishSigned('req-announced', '1.0.0');
    const p = await kit.project({ dependencies: { 'req-announced': '1.0.0' }, policy: POLICY_NONE });
    kit.registry.clearRequests();
    expectInstalled(p, await p.install(), 'req-announced', '1.0.0');
    expect(pluginRequests('req-announced')).toEqual(['packument 200', 'attestations 200']);
    // The packument it asked anyway is checked: verified, not covered.
    expect(evidenceOf(p, 'req-announced')).toMatchObject({ status: 'verified', registrySignature: { status: 'verified' } });
  });

  it('a package sigstore.lock pins as signed asks its attestations first: one request; a new version whose endpoint 404s is refused', async () => {
    await publishSigned('req-pinned', '1.0.0');
    publishUnsigned('req-pinned', '1.0.1');
    const p = await kit.project({ dependencies: { 'req-pinned': '1.0.0' }, policy: POLICY_NONE });
    expectInstalled(p, await p.install(), 'req-pinned', '1.0.0');
    expect(p.read('sigstore.lock')).toContain('req-pinned');
    // A fresh machine with the committed sigstore.lock.
    const fresh = await kit.project({ dependencies: { 'req-pinned': '1.0.0' }, policy: POLICY_NONE });
    fresh.write('sigstore.lock', p.read('sigstore.lock')!);
    kit.registry.clearRequests();
    expectInstalled(fresh, await fresh.install(), 'req-pinned', '1.0.0');
    expect(pluginRequests('req-pinned')).toEqual(['attestations 200']);

    const next = await kit.project({ dependencies: { 'req-pinned': '1.0.1' }, policy: POLICY_NONE });
    next.write('sigstore.lock', p.read('sigstore.lock')!);
    kit.registry.clearRequests();
    expectRefused(next, await next.install(), 'PIN_PROVENANCE_LOST', 'req-pinned', '1.0.1');
    expect(pluginRequests('req-pinned')).toEqual(['attestations 404', 'packument 200']);
  });
});
