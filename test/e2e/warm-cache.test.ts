/**
 * The fast paths of the gate, end to end with the real Yarn and the built
 * bundle: verification on the worker thread keeps every error code and never
 * passes a broken bundle; with `sigstoreRecheckAttestations: false` a warm
 * install asks the registry nothing, yet still evaluates the policy.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishPackage } from '../../testkit/publish';
import type { TestRegistry } from '../../testkit/registry';
import { githubIdentity, type MockSigstore } from '../../testkit/signer';
import type { YarnProject } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const ISSUER = 'https://token.actions.githubusercontent.com';
const PACKAGES = [
  { name: 'warm-a', version: '1.0.0' },
  { name: '@warm/b', version: '2.1.0' },
  { name: 'warm-c', version: '0.3.1' },
];

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;

function policyFor(repository: string): string {
  return ['version: 1', 'mode: enforce', 'default: { require: provenance }', 'rules:', '  - packages: ["*", "@warm/*"]', '    require: provenance', '    identity:', `      issuer: ${ISSUER}`, `      repository: ${repository}`, ''].join('\n');
}

function project(yarnrc?: string): Promise<YarnProject> {
  return kit.project({
    dependencies: Object.fromEntries(PACKAGES.map((pkg) => [pkg.name, pkg.version])),
    policy: policyFor('https://github.com/acme/*'),
    yarnrc,
  });
}

function resetInstall(p: YarnProject): void {
  rmSync(join(p.cwd, 'node_modules'), { recursive: true, force: true });
  rmSync(join(p.cwd, '.yarn/install-state.gz'), { force: true });
}

/** A warm install of the project: all verified, and not one attestation or packument request. */
async function expectWarmWithoutRequests(p: YarnProject): Promise<void> {
  resetInstall(p);
  registry.clearRequests();
  const warm = await p.install();
  expect(warm.output).toContain('sigstore: 3 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
  expect(warm.code).toBe(0);
  expect(attestationRequests()).toEqual([]);
}

const attestationRequests = () => registry.requests.filter((request) => request.kind === 'attestations' || request.kind === 'packument');

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-e2e-warm-' });
  ({ registry, mock } = kit);
  for (const pkg of PACKAGES) await publishPackage(registry, mock, pkg, { identity: githubIdentity({ repository: `acme/${pkg.name.replace(/\W/g, '')}` }) });
});

afterAll(() => kit?.close());

describe('verification on the worker thread', () => {
  it('verifies a cold install, and fails a bundle whose signature was broken with its own code', async () => {
    const p = await project();
    const first = await p.install();
    expect(first.output).toContain('sigstore: 3 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(first.code).toBe(0);

    // Another project (cold again), the provenance statement of one package altered after signing.
    const [target] = PACKAGES;
    const document = (await (await fetch(registry.attestationsUrl(target.name, target.version))).json()) as any;
    const original = JSON.stringify(document);
    const envelope = document.attestations[0].bundle.dsseEnvelope;
    envelope.payload = Buffer.from(Buffer.from(envelope.payload, 'base64').toString('utf8').replace('acme', 'acmf')).toString('base64');
    registry.setAttestations(target.name, target.version, document);
    try {
      const q = await project();
      const broken = await q.install();
      expect(broken.code).not.toBe(0);
      expect(broken.output).toMatch(new RegExp(`${target.name}@npm:${target.version}: sigstore \\[(SIGNATURE|TLOG_[A-Z_]+)\\]`));
      expect(q.exists(`node_modules/${target.name}`)).toBe(false);
    } finally {
      registry.setAttestations(target.name, target.version, JSON.parse(original));
    }
  });
});

describe('warm install with sigstoreRecheckAttestations: false', () => {
  it('asks the registry nothing, takes the content-keyed results, and still evaluates the policy', async () => {
    const p = await project('sigstoreRecheckAttestations: false');
    expect((await p.install()).code).toBe(0);

    await expectWarmWithoutRequests(p);
    expect(p.evidence().packages.map((entry: { source?: string }) => entry.source)).toEqual(['workspace', ...PACKAGES.map(() => 'verification cache (user global folder)')]);

    // The policy is never cached: a rule the cached signers do not meet fails the warm install.
    p.write('sigstore-policy.yml', policyFor('https://github.com/someone-else/*'));
    resetInstall(p);
    const denied = await p.install();
    expect(denied.code).not.toBe(0);
    expect(denied.output).toContain('identity.repository expected https://github.com/someone-else/*');
    expect(p.exists('node_modules/warm-a')).toBe(false);
  });

  it("takes the project's archive index alone: with every per-package record gone, a warm install still asks nothing", async () => {
    const p = await project();
    expect((await p.install()).code).toBe(0);
    const store = join(p.cwd, '.yarn-global/sigstore/records.json');
    expect(existsSync(store)).toBe(true);
    rmSync(store);
    await expectWarmWithoutRequests(p);
  });
});
