/**
 * Settings chosen by the environment may only tighten the committed
 * configuration: a `YARN_SIGSTORE_*` variable (or an rc file named by
 * `YARN_RC_FILENAME`) pointing at a lax policy, another trust root, a longer
 * maximum age... The committed policy still decides, loosening trust settings
 * are refused with ENVIRONMENT_OVERRIDE_REFUSED, and each override is printed.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import { PLUGIN_RELATIVE_PATH } from '../../testkit/yarn';
import { expectInstalled, expectRefused, projectFor, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => {
  await kit?.close();
});

const LAX_POLICY = 'version: 1\nmode: "off"\ndefault: { require: none }\n';

function publishUnsigned(name: string, version = '1.0.0'): { name: string; version: string } {
  kit.registry.addVersion({ name, version, tarball: buildPackageTarball(withPostinstallMarker({ name, version })) });
  return { name, version };
}

describe.concurrent('the policy path from the environment', () => {
  it('YARN_SIGSTORE_POLICY_PATH at a lax file (mode: off) does not replace the committed policy: the unsigned package is refused, the override printed', async () => {
    const unsigned = publishUnsigned('env-lax-policy');
    const p = await projectFor(kit, unsigned);
    p.write('lax.yml', LAX_POLICY);
    const result = await p.install({ YARN_SIGSTORE_POLICY_PATH: join(p.cwd, 'lax.yml') });
    expectRefused(p, result, 'POLICY_DENIED');
    expect(result.output).toContain(`the trust policy was set by the environment (YARN_SIGSTORE_POLICY_PATH=${join(p.cwd, 'lax.yml')}): applied in addition to the committed policy`);
    expect(result.output).toContain('policy: sigstore-policy.yml + lax.yml from the environment');
  });

  it('a lax environment policy over zero-config cannot skip a failed bundle', async () => {
    const staged = await publishSigned(kit, { name: 'env-lax-zero', version: '1.0.0' });
    kit.registry.setTarball(staged.name, staged.version, buildPackageTarball(withPostinstallMarker({ name: staged.name, version: staged.version, extra: { tampered: true } })));
    const p = await kit.project({ dependencies: { [staged.name]: staged.version } });
    p.write('lax.yml', ['version: 1', 'mode: "off"', 'default: { require: none }', 'rules:', `  - packages: ["${staged.name}"]`, '    require: none', '    verify: skip', '    reason: lax', '    expires: 2999-01-01', ''].join('\n'));
    const result = await p.install({ YARN_SIGSTORE_POLICY_PATH: join(p.cwd, 'lax.yml') });
    expectRefused(p, result, 'SUBJECT_DIGEST_MISMATCH');
  });

  it('a stricter environment policy tightens: the committed policy allows the unsigned package, the environment one does not', async () => {
    const unsigned = publishUnsigned('env-strict-policy');
    const p = await projectFor(kit, unsigned, { policy: LAX_POLICY.replace('"off"', 'enforce') });
    p.write('strict.yml', 'version: 1\nmode: enforce\ndefault: { require: provenance }\n');
    expectRefused(p, await p.install({ YARN_SIGSTORE_POLICY_PATH: join(p.cwd, 'strict.yml') }), 'POLICY_DENIED');
  });

  it('a committed sigstorePolicyPath that interpolates a variable (${SIGSTORE_POLICY}) pointing at a lax file: the policy at the project root still applies, the override printed', async () => {
    const unsigned = publishUnsigned('env-interpolated-policy');
    const p = await projectFor(kit, unsigned);
    p.write('lax.yml', LAX_POLICY);
    p.write('.yarnrc.yml', `${p.read('.yarnrc.yml')}sigstorePolicyPath: "\${SIGSTORE_POLICY}"\n`);
    const result = await p.install({ SIGSTORE_POLICY: 'lax.yml' });
    expectRefused(p, result, 'POLICY_DENIED');
    expect(result.output).toContain(`the trust policy was set by the environment (\${SIGSTORE_POLICY} in .yarnrc.yml=${join(p.cwd, 'lax.yml')})`);
    expect(result.output).toContain('policy: sigstore-policy.yml + lax.yml from the environment');
  });

  it('an rc file named by YARN_RC_FILENAME that loads the plugin with a lax policy path: the committed policy still applies', async () => {
    const unsigned = publishUnsigned('env-rc-filename');
    const p = await projectFor(kit, unsigned);
    p.write('lax.yml', LAX_POLICY);
    p.write('ci.yml', `${p.read('.yarnrc.yml')}sigstorePolicyPath: lax.yml\n`);
    const result = await p.install({ YARN_RC_FILENAME: 'ci.yml' });
    expectRefused(p, result, 'POLICY_DENIED');
    expect(result.output).toContain('YARN_RC_FILENAME=ci.yml (sigstorePolicyPath)');
    expect(p.read('ci.yml')).toContain(PLUGIN_RELATIVE_PATH);
  });
});

describe.concurrent('trust settings from the environment', () => {
  async function signedProject(name: string, yarnrc?: string) {
    const staged = await publishSigned(kit, { name, version: '1.0.0' });
    return { staged, p: await projectFor(kit, staged, yarnrc ? { yarnrc } : {}) };
  }

  it('YARN_SIGSTORE_TRUSTED_ROOT_PATH naming another root than the committed one is refused', async () => {
    const { p } = await signedProject('env-root');
    const other = join(p.cwd, 'other-root.json');
    copyFileSync(kit.trustedRootPath, other);
    const result = await p.install({ YARN_SIGSTORE_TRUSTED_ROOT_PATH: other });
    expectRefused(p, result, 'ENVIRONMENT_OVERRIDE_REFUSED');
    expect(result.output).toContain(`YARN_SIGSTORE_TRUSTED_ROOT_PATH=${other}`);
  });

  it('a committed sigstoreTrustedRootPath that interpolates a variable is the environment\'s: refused, nothing committed to repeat', async () => {
    const { p } = await signedProject('env-interpolated-root');
    p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace(/^sigstoreTrustedRootPath: .*$/m, 'sigstoreTrustedRootPath: "${CI_TRUSTED_ROOT}"'));
    const result = await p.install({ CI_TRUSTED_ROOT: kit.trustedRootPath });
    expectRefused(p, result, 'ENVIRONMENT_OVERRIDE_REFUSED');
    expect(result.output).toContain(`\${CI_TRUSTED_ROOT} in .yarnrc.yml=${kit.trustedRootPath}`);
  });

  it('the same written as a second sigstoreTrustedRootPath below the committed one, which Yarn reads: refused', async () => {
    const { p } = await signedProject('env-interpolated-twice');
    p.write('.yarnrc.yml', `${p.read('.yarnrc.yml')!.trimEnd()}\nsigstoreTrustedRootPath: "\${CI_TRUSTED_ROOT}"\n`);
    const result = await p.install({ CI_TRUSTED_ROOT: kit.trustedRootPath });
    expectRefused(p, result, 'ENVIRONMENT_OVERRIDE_REFUSED');
    expect(result.output).toContain(`\${CI_TRUSTED_ROOT} in .yarnrc.yml=${kit.trustedRootPath}`);
  });

  it('YARN_SIGSTORE_NPM_KEYS_PATH naming other keys is refused', async () => {
    const { p } = await signedProject('env-keys');
    const other = join(p.cwd, 'other-keys.json');
    copyFileSync(kit.npmKeysPath, other);
    expectRefused(p, await p.install({ YARN_SIGSTORE_NPM_KEYS_PATH: other }), 'ENVIRONMENT_OVERRIDE_REFUSED');
  });

  it('control: the environment repeating the committed trusted root installs, with the override printed', async () => {
    const { staged, p } = await signedProject('env-root-same');
    const result = await p.install({ YARN_SIGSTORE_TRUSTED_ROOT_PATH: kit.trustedRootPath });
    expectInstalled(p, result, staged.name, staged.version);
    expect(result.output).toContain(`the trusted root was set by the environment (YARN_SIGSTORE_TRUSTED_ROOT_PATH=${kit.trustedRootPath})`);
    expect(p.evidence().trust.fromEnvironment).toEqual(['YARN_SIGSTORE_TRUSTED_ROOT_PATH']);
  });

  it('YARN_SIGSTORE_TUF_MIRROR_URL is refused, printed without its credentials', async () => {
    const { p } = await signedProject('env-mirror');
    const result = await p.install({ YARN_SIGSTORE_TUF_MIRROR_URL: 'https://ci-user:s3cret-token@mirror.example/' });
    expectRefused(p, result, 'ENVIRONMENT_OVERRIDE_REFUSED');
    expect(result.output).toContain('YARN_SIGSTORE_TUF_MIRROR_URL=https://mirror.example/');
    expect(result.output).not.toContain('s3cret-token');
  });

  it('YARN_SIGSTORE_TRUST_MAX_AGE_DAYS above the committed maximum is refused; below it is honoured', async () => {
    const { staged, p } = await signedProject('env-max-age', 'sigstoreTrustMaxAgeDays: 20');
    expectRefused(p, await p.install({ YARN_SIGSTORE_TRUST_MAX_AGE_DAYS: '3650' }), 'ENVIRONMENT_OVERRIDE_REFUSED');
    const lower = await p.install({ YARN_SIGSTORE_TRUST_MAX_AGE_DAYS: '10' });
    expectInstalled(p, lower, staged.name, staged.version);
    expect(lower.output).toContain('the trust maximum age was set by the environment (YARN_SIGSTORE_TRUST_MAX_AGE_DAYS=10)');
  });

  it('YARN_SIGSTORE_RECHECK_ATTESTATIONS=false against a committed true is refused', async () => {
    const { p } = await signedProject('env-recheck', 'sigstoreRecheckAttestations: true');
    expectRefused(p, await p.install({ YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'false' }), 'ENVIRONMENT_OVERRIDE_REFUSED');
  });
});
