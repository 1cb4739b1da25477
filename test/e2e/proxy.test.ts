/**
 * Behind a proxy, end to end: the real Yarn with `.yarnrc.yml` pointing
 * httpProxy at a loopback proxy. Yarn's own downloads and the plugin's
 * attestation requests both pass through it, and the install verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALLABLE_FIXTURES } from '../../testkit/fixtures';
import { startProxy, type TestProxy } from '../../testkit/proxy';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const ISSUER = 'https://token.actions.githubusercontent.com';

let kit: E2eKit;
let proxy: TestProxy;

const policy = [
  'version: 1',
  'mode: enforce',
  'default: { require: provenance }',
  'rules:',
  ...INSTALLABLE_FIXTURES.flatMap((fixture) => [
    `  - packages: ["${fixture.name}"]`,
    '    require: provenance',
    '    identity:',
    `      issuer: ${ISSUER}`,
    `      repository: ${fixture.repository}`,
    '      workflow: .github/workflows/npm-publish.yml',
  ]),
  '',
].join('\n');

const dependencies = Object.fromEntries(INSTALLABLE_FIXTURES.map((fixture) => [fixture.name, fixture.version]));

beforeAll(async () => {
  kit = await startE2eKit({ fixtures: true });
  proxy = await startProxy();
});

afterAll(async () => {
  await proxy?.close();
  await kit?.close();
});

describe('yarn install behind an HTTP proxy', () => {
  it('fetches tarballs and attestations through httpProxy and verifies every package', async () => {
    const p = await kit.project({ dependencies, policy, yarnrc: `httpProxy: "${proxy.url}"` });
    const result = await p.install();
    expect(result.output).toContain(`sigstore: ${INSTALLABLE_FIXTURES.length} verified, 0 allowed unsigned by rule, 0 warnings, 0 failures`);
    expect(result.code).toBe(0);
    for (const fixture of INSTALLABLE_FIXTURES) {
      expect(p.exists(`node_modules/${fixture.name}/package.json`)).toBe(true);
      const escaped = fixture.name.replace('/', '%2f');
      expect(proxy.tunnelled).toContain(`GET /-/npm/v1/attestations/${escaped}@${fixture.version}`);
      expect(proxy.tunnelled).toContain(`GET /${escaped}/-/${fixture.name.split('/').pop()}-${fixture.version}.tgz`);
    }
    expect(new Set(proxy.seen.map((sighting) => `${sighting.method} ${sighting.target}`))).toEqual(new Set([`CONNECT 127.0.0.1:${kit.registry.port}`]));
  });

  it('fails closed, naming the package, when only the attestation requests are refused by the network settings', async () => {
    const p = await kit.project({ dependencies, policy, yarnrc: `httpProxy: "${proxy.url}"\nsigstoreAttestationRegistries:\n  "*": "http://localhost:${kit.registry.port}"\nnetworkSettings:\n  "localhost":\n    enableNetwork: false` });
    const result = await p.install();
    expect(result.code).not.toBe(0);
    // Nothing cached and nothing may be asked: said as such, not as a fetch that failed or a bundle that did not verify.
    expect(result.output).toContain('sigstore [SOURCE_OFFLINE] gundam-visor@1.0.1: its attestations could not be had');
    expect(result.output).toContain('no cached attestation answer for this package, and the network is disabled (enableNetwork is false for localhost)');
    expect(p.exists('node_modules/gundam-visor')).toBe(false);
  });
});
