/**
 * Where the registry's credentials may travel: only to the registry they were
 * configured for. Two loopback hosts: the project's registry and an
 * attestation registry (`sigstoreAttestationRegistries`), each recording the
 * Authorization header it received; a redirect is never followed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationsPath } from '../../src/sources/registry';
import { startForeignHost, type TestRegistry } from '../../testkit/registry';
import type { YarnProject, YarnResult } from '../../testkit/yarn';
import { expectInstalled, expectRefused, policyOf, provenanceRule, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

const GLOBAL_TOKEN = 'global-secret-token';
const SCOPE_TOKEN = 'scope-secret-token';
const ENTRY_TOKEN = 'attestation-registry-secret';

let kit: AttackKit;
let attestationHost: TestRegistry;
let elsewhere: TestRegistry;
beforeAll(async () => {
  kit = await startAttackKit();
  attestationHost = await startForeignHost();
  elsewhere = await startForeignHost();
});
afterAll(async () => {
  await attestationHost?.close();
  await elsewhere?.close();
  await kit?.close();
});

const attestationRegistries = (scope: string) => ['sigstoreAttestationRegistries:', `  "${scope}": "${attestationHost.url}"`];
const globalToken = [`npmAuthToken: "${GLOBAL_TOKEN}"`, 'npmAlwaysAuth: true'];

/** A signed package whose attestations only the attestation host serves (the project's registry 404s them). */
async function servedByAttestationHost(name: string, yarnrc: string[]): Promise<{ p: YarnProject; result: YarnResult }> {
  const staged = await publishSigned(kit, { name, version: '1.0.0' });
  attestationHost.setRoute(attestationsPath({ name, version: '1.0.0' }), { body: staged.attestations as object });
  kit.registry.setAttestations(name, '1.0.0', null);
  const p = await kit.project({ dependencies: { [name]: staged.version }, policy: policyOf([provenanceRule(name)]), yarnrc: yarnrc.join('\n') });
  return { p, result: await p.install() };
}

const seenBy = (host: TestRegistry, name: string) => host.requests.filter((request) => request.name === name || request.url.includes(name.replace('/', '%2f')));

function expectNoSecretPrinted(p: YarnProject, result: YarnResult): void {
  for (const secret of [GLOBAL_TOKEN, SCOPE_TOKEN, ENTRY_TOKEN]) {
    expect(result.output).not.toContain(secret);
    expect(JSON.stringify(p.evidence() ?? {})).not.toContain(secret);
  }
}

describe.concurrent('credentials and attestation registries', () => {
  it('the global npmAuthToken goes to npmRegistryServer, never to the attestation registry', async () => {
    const name = 'cred-global';
    const { p, result } = await servedByAttestationHost(name, [...globalToken, ...attestationRegistries('*')]);
    expectInstalled(p, result, name, '1.0.0');
    const asked = seenBy(attestationHost, name);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.map((request) => request.authorization)).toEqual(asked.map(() => undefined));
    expect(kit.registry.requests.some((request) => request.name === name && request.authorization === `Bearer ${GLOBAL_TOKEN}`)).toBe(true);
    expectNoSecretPrinted(p, result);
  });

  it("a scope's npmAuthToken goes to the scope's registry, never to the scope's attestation registry", async () => {
    const name = '@credscope/pkg';
    const yarnrc = ['npmScopes:', '  credscope:', `    npmRegistryServer: "${kit.registry.url}"`, `    npmAuthToken: "${SCOPE_TOKEN}"`, '    npmAlwaysAuth: true', ...attestationRegistries('credscope')];
    const { p, result } = await servedByAttestationHost(name, yarnrc);
    expectInstalled(p, result, name, '1.0.0');
    const asked = seenBy(attestationHost, name);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((request) => !request.hasAuthorization)).toBe(true);
    expect(kit.registry.requests.some((request) => request.name === name && request.authorization === `Bearer ${SCOPE_TOKEN}`)).toBe(true);
    expectNoSecretPrinted(p, result);
  });

  it('an npmRegistries entry for the attestation registry sends that entry\'s token there, and only it', async () => {
    const name = 'cred-entry';
    const yarnrc = [...globalToken, 'npmRegistries:', `  "${attestationHost.url}":`, `    npmAuthToken: "${ENTRY_TOKEN}"`, ...attestationRegistries('*')];
    const { p, result } = await servedByAttestationHost(name, yarnrc);
    expectInstalled(p, result, name, '1.0.0');
    const asked = seenBy(attestationHost, name);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((request) => request.authorization === `Bearer ${ENTRY_TOKEN}`)).toBe(true);
    expect(kit.registry.requests.filter((request) => request.name === name).every((request) => request.authorization === `Bearer ${GLOBAL_TOKEN}`)).toBe(true);
    expectNoSecretPrinted(p, result);
  });

  it('a redirect from the attestation registry to another host is not followed (nothing reaches that host, the package fails closed)', async () => {
    const name = 'cred-redirect';
    const staged = await publishSigned(kit, { name, version: '1.0.0' });
    attestationHost.addFault({ match: { kind: 'attestations', name }, action: { type: 'redirect', location: `${elsewhere.url}/-/npm/v1/attestations/${name}@1.0.0` } });
    const yarnrc = [...globalToken, 'npmRegistries:', `  "${attestationHost.url}":`, `    npmAuthToken: "${ENTRY_TOKEN}"`, ...attestationRegistries('*')];
    const p = await kit.project({ dependencies: { [name]: staged.version }, policy: policyOf([provenanceRule(name)]), yarnrc: yarnrc.join('\n') });
    const result = await p.install();
    expectRefused(p, result, 'SOURCE_FETCH_FAILED');
    expect(seenBy(attestationHost, name).length).toBeGreaterThan(0);
    expect(seenBy(elsewhere, name)).toEqual([]);
    expectNoSecretPrinted(p, result);
  });

  it("a redirect from the project's registry attestations endpoint to another host is not followed", async () => {
    const name = 'cred-own-redirect';
    const staged = await publishSigned(kit, { name, version: '1.0.0' });
    kit.registry.addFault({ match: { kind: 'attestations', name }, action: { type: 'redirect', location: `${elsewhere.url}/-/npm/v1/attestations/${name}@1.0.0` } });
    const p = await kit.project({ dependencies: { [name]: staged.version }, policy: policyOf([provenanceRule(name)]), yarnrc: globalToken.join('\n') });
    const result = await p.install();
    expectRefused(p, result, 'SOURCE_FETCH_FAILED');
    expect(seenBy(elsewhere, name)).toEqual([]);
    expectNoSecretPrinted(p, result);
  });
});
