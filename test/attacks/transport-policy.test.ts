/**
 * A hostile or broken registry answering for the attestations, and a trust
 * policy that is broken, mistyped or out of date: the install stops.
 * The registry demands a token, so credentials can be shown to stay home.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForeignHost, type FaultAction, type TestRegistry } from '../../testkit/registry';
import { githubIdentity } from '../../testkit/signer';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import { expectInstalled, expectRefused, policyOf, projectFor, provenanceRule, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

const TOKEN = 'attack-suite-token';
let kit: AttackKit;
let foreign: TestRegistry;
beforeAll(async () => {
  kit = await startAttackKit();
  kit.registry.requiredToken = TOKEN;
  foreign = await startForeignHost();
});
afterAll(async () => {
  await foreign?.close();
  await kit?.close();
});

/** Registry auth, a short deadline and a small response cap so the faults stay quick. */
const YARNRC = [`npmAuthToken: "${TOKEN}"`, 'npmAlwaysAuth: true', 'sigstoreRequestTimeout: 1500', 'sigstoreMaxResponseSize: 1000000', 'httpRetry: 1'].join('\n');

async function withFault(name: string, action: FaultAction, codes: string | string[]) {
  const staged = await publishSigned(kit, { name, version: '1.0.0' });
  kit.registry.addFault({ match: { kind: 'attestations', name }, action });
  const p = await projectFor(kit, staged, { yarnrc: YARNRC });
  const result = await p.install();
  expectRefused(p, result, codes);
  expect(result.output).toContain(`${name}@1.0.0`);
}

describe.concurrent('transport attacks', () => {
  it('control: the signed package installs through the token-protected registry', async () => {
    const staged = await publishSigned(kit, { name: 'tr-control', version: '1.0.0' });
    const p = await projectFor(kit, staged, { yarnrc: YARNRC });
    expectInstalled(p, await p.install(), staged.name, staged.version);
  });

  it('the attestations endpoint answers 404 although the packument advertises attestations', async () => {
    const staged = await publishSigned(kit, { name: 'tr-404', version: '1.0.0' });
    kit.registry.setAttestations(staged.name, staged.version, null);
    const p = await projectFor(kit, staged, { yarnrc: YARNRC });
    expectRefused(p, await p.install(), 'SOURCE_FETCH_FAILED');
  });

  it('the attestations endpoint answers 500', () => withFault('tr-500', { type: 'status', status: 500 }, 'SOURCE_FETCH_FAILED'));

  it('a response that trickles past the deadline', () => withFault('tr-trickle', { type: 'trickle', chunkBytes: 8, intervalMs: 400 }, 'SOURCE_FETCH_FAILED'));

  it('a response that never comes', () => withFault('tr-hang', { type: 'hang' }, 'SOURCE_FETCH_FAILED'));

  it('a 100 MB response announced by its content-length', () => withFault('tr-huge', { type: 'huge' }, 'SOURCE_FETCH_FAILED'));

  it('a 100 MB response streamed without a content-length', () => withFault('tr-huge-stream', { type: 'huge', contentLength: false }, 'SOURCE_FETCH_FAILED'));

  it('an attestations body that is not JSON', () => withFault('tr-json', { type: 'invalid-json' }, 'SOURCE_FETCH_FAILED'));

  it('an empty attestations list', async () => {
    const staged = await publishSigned(kit, { name: 'tr-empty', version: '1.0.0' });
    kit.registry.setAttestations(staged.name, staged.version, { attestations: [] });
    const p = await projectFor(kit, staged, { yarnrc: YARNRC });
    expectRefused(p, await p.install(), 'ATTESTATIONS_MALFORMED');
  });

  it('the packument stops advertising attestations (downgrade to "unsigned")', async () => {
    const staged = await publishSigned(kit, { name: 'tr-strip', version: '1.0.0' });
    // The endpoint is asked first: a downgrade needs it to 404 as well (stripping the packument alone finds the document there).
    kit.registry.setAttestations(staged.name, staged.version, null);
    kit.registry.setAdvertiseAttestations(staged.name, staged.version, false);
    const p = await projectFor(kit, staged, { yarnrc: YARNRC });
    expectRefused(p, await p.install(), 'POLICY_DENIED');
  });

  it('an attestation URL on a foreign host: fetched without credentials, and its forged document refused', async () => {
    const staged = await publishSigned(kit, { name: 'tr-foreign', version: '1.0.0' });
    const forged = await kit.mock.signPackage({ name: staged.name, version: staged.version, tarball: staged.tarball, identity: githubIdentity({ repository: 'evil/tr-foreign' }) });
    foreign.setRoute('/evil/tr-foreign.json', { body: forged as object });
    // The packument's URL is followed only after the registry's attestations endpoint answers 404.
    kit.registry.setAttestations(staged.name, staged.version, null);
    kit.registry.setAttestationsUrl(staged.name, staged.version, `${foreign.url}/evil/tr-foreign.json`);
    const p = await projectFor(kit, staged, { yarnrc: YARNRC });
    expectRefused(p, await p.install(), 'POLICY_DENIED');
    const seen = foreign.requests.filter((request) => request.url === '/evil/tr-foreign.json');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((request) => !request.hasAuthorization)).toBe(true);
    expect(kit.registry.requests.some((request) => request.name === staged.name && request.hasAuthorization)).toBe(true);
  });
});

describe.concurrent('policy attacks', () => {
  async function underPolicy(name: string, policy: string, yarnrc = '', signed = true) {
    const version = '1.0.0';
    if (signed) await publishSigned(kit, { name, version });
    else kit.registry.addVersion({ name, version, tarball: buildPackageTarball(withPostinstallMarker({ name, version })) });
    const p = await projectFor(kit, { name, version }, { policy, yarnrc: [YARNRC, yarnrc].join('\n') });
    return { p, result: await p.install() };
  }

  it('malformed YAML', async () => {
    const { p, result } = await underPolicy('po-yaml', 'version: 1\nrules: [\n  - packages: ["x"\n');
    expectRefused(p, result, 'POLICY_INVALID');
  });

  it('a policy edit that reads as provenance in a review but means none to a lenient YAML reader (`require: !provenance none`)', async () => {
    const rule = ['  - packages: ["po-tag"]', '    require: !provenance none', '    reason: reads as provenance in a review'].join('\n');
    const { p, result } = await underPolicy('po-tag', policyOf([rule]), '', false);
    expectRefused(p, result, 'POLICY_INVALID');
    expect(result.output).toContain('Unresolved tag: !provenance');
  });

  it('an unknown top-level key', async () => {
    const { p, result } = await underPolicy('po-unknown', policyOf([provenanceRule('po-unknown')], ['enforcement: lenient']));
    expectRefused(p, result, 'POLICY_INVALID');
  });

  it('a typo in a rule key (identiy)', async () => {
    const { p, result } = await underPolicy('po-typo', policyOf([provenanceRule('po-typo').replace('identity:', 'identiy:')]));
    expectRefused(p, result, 'POLICY_INVALID');
    expect(result.output).toContain('identiy');
  });

  it('a typo in an identity claim (repositry)', async () => {
    const { p, result } = await underPolicy('po-claim', policyOf([provenanceRule('po-claim').replace('repository:', 'repositry:')]));
    expectRefused(p, result, 'POLICY_INVALID');
  });

  it('an expired exception for an unsigned package', async () => {
    const exception = ['  - packages: ["po-expired"]', '    require: none', '    reason: upstream has no provenance yet', '    expires: 2020-01-31'].join('\n');
    const { p, result } = await underPolicy('po-expired', policyOf([exception]), '', false);
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('a policy path setting that names a missing file', async () => {
    const { p, result } = await underPolicy('po-missing', policyOf([provenanceRule('po-missing')]), 'sigstorePolicyPath: config/nowhere.yml');
    expectRefused(p, result, 'POLICY_NOT_FOUND');
  });

  it('a policy path override from the environment that names a missing file', async () => {
    const name = 'po-env-missing';
    const staged = await publishSigned(kit, { name, version: '1.0.0' });
    const p = await projectFor(kit, staged, { yarnrc: YARNRC });
    mkdirSync(join(p.cwd, 'config'));
    expectRefused(p, await p.install({ YARN_SIGSTORE_POLICY_PATH: 'config/nowhere.yml' }), 'POLICY_NOT_FOUND');
  });
});
