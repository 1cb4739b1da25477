/**
 * Identity signals end to end, with the real pinned Yarn and the built plugin:
 * the deployment environment claim (.23) as `identity.environment`, and a
 * `ref: refs/tags/v{version}` rule that binds provenance to the tag of the
 * very version being installed. Packages are mock-signed with the claims
 * Fulcio writes for GitHub Actions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubIdentity } from '../../testkit/signer';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import type { YarnProject } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const DEPLOYER = '@acme/deployer';
const TAGGED = '@acme/tagged';

/** version -> the deployment environment its provenance was built in. */
const DEPLOYER_VERSIONS: Record<string, string> = { '1.0.0': 'Production', '1.1.0': 'staging' };
/** version -> the git ref its provenance was built from. */
const TAGGED_VERSIONS: Record<string, string> = {
  '1.2.3': 'refs/tags/v1.2.3',
  '2.0.0-rc.1': 'refs/tags/v2.0.0-rc.1',
  '1.2.4': 'refs/heads/main', // built from a branch
  '1.2.5': 'refs/tags/v1.2.3', // built from another version's tag
};

const POLICY = [
  'version: 1',
  'default: { require: provenance }',
  'rules:',
  `  - packages: ["${DEPLOYER}"]`,
  '    require: provenance',
  '    identity:',
  '      repository: https://github.com/acme/deployer',
  '      environment: production',
  `  - packages: ["${TAGGED}"]`,
  '    require: provenance',
  '    identity:',
  '      repository: https://github.com/acme/tagged',
  '      ref: refs/tags/v{version}',
  '',
].join('\n');

let kit: E2eKit;

beforeAll(async () => {
  kit = await startE2eKit();
  const publish = async (name: string, version: string, identity: ReturnType<typeof githubIdentity>) => {
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version }));
    kit.registry.addVersion({ name, version, tarball, attestations: await kit.mock.signPackage({ name, version, tarball, identity }) });
  };
  for (const [version, environment] of Object.entries(DEPLOYER_VERSIONS)) {
    await publish(DEPLOYER, version, githubIdentity({ repository: 'acme/deployer', ref: `refs/tags/v${version}`, environment }));
  }
  for (const [version, ref] of Object.entries(TAGGED_VERSIONS)) await publish(TAGGED, version, githubIdentity({ repository: 'acme/tagged', ref }));
});

afterAll(() => kit?.close());

function project(dependencies: Record<string, string>): Promise<YarnProject> {
  return kit.project({ dependencies, policy: POLICY });
}

/** Refused as a policy denial naming `expected`; nothing linked, no lockfile, no script ran. */
async function expectDenied(p: YarnProject, name: string, version: string, expected: string[]): Promise<void> {
  const result = await p.install();
  expect(result.code, result.output).not.toBe(0);
  expect(result.output).toContain('POLICY_DENIED');
  for (const text of [`${name}@${version}`, ...expected]) expect(result.output).toContain(text);
  expect(p.exists('node_modules/@acme')).toBe(false);
  expect(p.exists('yarn.lock')).toBe(false);
  expect(p.markerExists(name, version)).toBe(false);
}

describe('identity signals with the real Yarn', () => {
  it('installs versions whose environment and tag match, prereleases included, and shows the environment in explain, verify --json and the evidence', async () => {
    const p = await project({ [DEPLOYER]: '1.0.0', [TAGGED]: '1.2.3', 'tagged-rc': `npm:${TAGGED}@2.0.0-rc.1` });
    const install = await p.install();
    expect(install.output).toContain('sigstore: 3 verified');
    expect(install.code).toBe(0);
    expect(p.exists('node_modules/@acme/deployer/package.json')).toBe(true);
    expect(p.exists('node_modules/tagged-rc/package.json')).toBe(true);
    expect(p.markerExists(TAGGED, '2.0.0-rc.1')).toBe(true);

    const deployer = p.evidence().packages.find((entry: any) => entry.name === DEPLOYER);
    expect(deployer.identity.deploymentEnvironment).toBe('Production');

    const explain = await p.run(['sigstore', 'explain', DEPLOYER]);
    expect(explain.code).toBe(0);
    expect(explain.output).toContain('Deployment environment: Production');

    const verify = await p.run(['sigstore', 'verify', '--json']);
    expect(verify.code).toBe(0);
    const events = verify.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const event = events.find((e) => e.type === 'sigstore-package' && e.name === DEPLOYER);
    expect(event.identity.deploymentEnvironment).toBe('Production');
  });

  it('denies an environment mismatch naming the rule, expected and found', async () => {
    const p = await project({ [DEPLOYER]: '1.1.0' });
    await expectDenied(p, DEPLOYER, '1.1.0', ['rules[0]', 'identity.environment expected production, found staging']);
  });

  it('denies a version whose provenance was built from a branch, naming the rule and the tag of this version', async () => {
    const p = await project({ [TAGGED]: '1.2.4' });
    await expectDenied(p, TAGGED, '1.2.4', ['rules[1]', 'identity.ref expected refs/tags/v1.2.4, found refs/heads/main']);
  });

  it('denies a version whose provenance was built from another version\'s tag', async () => {
    const p = await project({ [TAGGED]: '1.2.5' });
    await expectDenied(p, TAGGED, '1.2.5', ['rules[1]', 'identity.ref expected refs/tags/v1.2.5, found refs/tags/v1.2.3']);
  });
});
