/**
 * Policy upkeep without hand-editing, end to end: the real pinned Yarn, the
 * built plugin, a loopback registry with mock-signed and unsigned packages.
 * A denial names the command that resolves it; `policy allow` and `policy
 * trust` edit the committed YAML in place (comments kept), refuse what would
 * not load, and the next install passes.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubIdentity, GITHUB_ISSUER, type MockSigstore } from '../../testkit/signer';
import type { TestRegistry } from '../../testkit/registry';
import { buildPackageTarball } from '../../testkit/tarball';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const ACME = { name: '@acme/widget', version: '1.0.0' };
const UNSIGNED = { name: 'plain-unsigned', version: '2.0.0' };
const RECHECK = { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' };

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;
let acmeTarball: Buffer;

const signAcme = (repository: string) =>
  mock.signPackage({ name: ACME.name, version: ACME.version, tarball: acmeTarball, identity: githubIdentity({ repository, repositoryId: repository === 'acme/widget' ? '4242' : '5151', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0' }) });

/** A hand-written policy with comments the commands must keep. */
const POLICY = [
  '# Trust policy of the e2e project: reviewed in every pull request.',
  'version: 1',
  'default:',
  '  require: provenance      # everything else needs provenance',
  'rules:',
  '  # acme builds its packages in its own repository',
  '  - packages: ["@acme/*"]',
  '    require: provenance',
  '    identity:',
  `      issuer: ${GITHUB_ISSUER}`,
  '      repository: https://github.com/acme/widget   # the one repository',
  '',
].join('\n');

function events(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-upkeep-trust-' });
  ({ registry, mock } = kit);
  acmeTarball = buildPackageTarball({ name: ACME.name, version: ACME.version });
  registry.addVersion({ name: ACME.name, version: ACME.version, tarball: acmeTarball, attestations: await signAcme('acme/widget') });
  registry.addVersion({ name: UNSIGNED.name, version: UNSIGNED.version, tarball: buildPackageTarball({ name: UNSIGNED.name, version: UNSIGNED.version }) });
});

afterAll(() => kit?.close());

describe('yarn sigstore policy allow', () => {
  it('allows several packages in one command, in one exception, the command the denial names; the first it cannot allow stops it, those before it stay written', async () => {
    const second = { name: 'plain-second', version: '1.0.0' };
    registry.addVersion({ ...second, tarball: buildPackageTarball(second) });
    const p = await kit.project({ dependencies: { [ACME.name]: ACME.version, [UNSIGNED.name]: UNSIGNED.version, [second.name]: second.version }, policy: POLICY });
    const denied = await p.install();
    expect(denied.code).not.toBe(0);
    expect(denied.output).toContain(`sigstore: to allow the 2 packages without provenance the default rule denied, once you accept them: yarn sigstore policy allow ${second.name} ${UNSIGNED.name} --reason "..."`);
    const both = await p.run(['sigstore', 'policy', 'allow', UNSIGNED.name, second.name, '--reason', 'upgrade, ACME-124', '--expires', '2099-12-31']);
    expect(both.code, both.output).toBe(0);
    expect(p.read('sigstore-policy.yml')).toContain(`  - packages:\n      - "${second.name}"\n      - "${UNSIGNED.name}"\n    require: none`);
    const passing = await p.install();
    expect(passing.code, passing.output).toBe(0);
    expect(passing.output).toContain('1 verified, 2 allowed unsigned by rule');

    const written = p.read('sigstore-policy.yml')!;
    const stopped = await p.run(['sigstore', 'policy', 'allow', 'third-package', 'not a package', 'fourth-package', '--reason', 'x', '--expires', '2099-12-31']);
    expect(stopped.code).toBe(1);
    expect(stopped.output).toContain('"not a package" is not a package to allow');
    const after = p.read('sigstore-policy.yml')!;
    expect(after).toContain('"third-package"');
    expect(after).not.toContain('fourth-package');
    expect(after.length).toBeGreaterThan(written.length);
  });

  it('is named by the denial of an unsigned package, edits the policy keeping its comments, and the install then passes', async () => {
    const p = await kit.project({ dependencies: { [ACME.name]: ACME.version, [UNSIGNED.name]: UNSIGNED.version }, policy: POLICY });
    const denied = await p.install();
    expect(denied.code).not.toBe(0);
    expect(denied.output).toContain(`${UNSIGNED.name}@${UNSIGNED.version}: denied by default rule: require expected provenance, found no attestation; to allow it without provenance: yarn sigstore policy allow ${UNSIGNED.name} --reason "..."`);

    const args = ['sigstore', 'policy', 'allow', UNSIGNED.name, '--reason', 'no provenance upstream, ACME-123', '--expires', '2099-12-31'];
    const dry = await p.run([...args, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.output).toContain(`+   - packages:`);
    expect(dry.output).toContain(`+       - "${UNSIGNED.name}"`);
    expect(dry.output).toContain('dry run:');
    expect(p.read('sigstore-policy.yml')).toBe(POLICY);

    const allowed = await p.run(args);
    expect(allowed.code).toBe(0);
    expect(allowed.output).toContain(`sigstore-policy.yml: ${UNSIGNED.name}: new rule rules[1]`);
    const written = p.read('sigstore-policy.yml')!;
    // Every line of the hand-written policy is still there, byte for byte, and the exception follows.
    expect(written.startsWith(POLICY)).toBe(true);
    expect(written.slice(POLICY.length)).toBe(
      [
        '',
        '  # Allowed without provenance by `yarn sigstore policy allow` on ' + new Date().toISOString().slice(0, 10) + '.',
        '  - packages:',
        `      - "${UNSIGNED.name}"`,
        '    require: none',
        '    reason: "no provenance upstream, ACME-123"',
        '    expires: "2099-12-31"',
        '',
      ].join('\n'),
    );
    expect((await p.run(['sigstore', 'policy', 'check'])).code).toBe(0);
    const passing = await p.install();
    expect(passing.code).toBe(0);
    expect(passing.output).toContain('1 verified, 1 allowed unsigned by rule, 0 warnings, 0 failures');
    // The evidence names the deciding rule by index and description, never with its package list.
    const rules = p.evidence().packages.filter((entry: any) => entry.verdict).map((entry: any) => entry.verdict.rule);
    expect(rules).toEqual(expect.arrayContaining([{ index: 1, description: `rules[1] (${UNSIGNED.name})`, expires: '2099-12-31' }, { index: 0, description: 'rules[0] (@acme/*)' }]));

    // The same request again changes nothing; a renewal changes only the expiry line.
    const again = await p.run([...args, '--json']);
    expect(again.code).toBe(0);
    expect(events(again.stdout).find((event) => event.type === 'sigstore-policy-edit')).toMatchObject({ command: 'allow', rule: 1, changed: false, written: false });
    expect(p.read('sigstore-policy.yml')).toBe(written);
    const renewed = await p.run(['sigstore', 'policy', 'allow', UNSIGNED.name, '--reason', 'no provenance upstream, ACME-123', '--expires', '2100-01-31']);
    expect(renewed.code).toBe(0);
    expect(p.read('sigstore-policy.yml')).toBe(written.replace('expires: "2099-12-31"', 'expires: "2100-01-31"'));

    // A result that would not load is refused and nothing is written.
    const invalid = await p.run(['sigstore', 'policy', 'allow', 'other-package', '--reason', 'x', '--expires', '2099-02-30']);
    expect(invalid.code).toBe(1);
    expect(invalid.output).toContain('sigstore [POLICY_INVALID]');
    expect(invalid.output).toContain('expires: expected a date YYYY-MM-DD');
    expect(p.read('sigstore-policy.yml')).toBe(written.replace('expires: "2099-12-31"', 'expires: "2100-01-31"'));

    // Nothing to trust in an unsigned package: the refusal names the command that does apply.
    const trustUnsigned = await p.run(['sigstore', 'policy', 'trust', UNSIGNED.name]);
    expect(trustUnsigned.code).toBe(1);
    expect(trustUnsigned.output).toContain(`sigstore [POLICY_EDIT_REFUSED] ${UNSIGNED.name}@${UNSIGNED.version} carries no Sigstore bundle: there is no identity to trust. To allow it without provenance: yarn sigstore policy allow ${UNSIGNED.name} --reason "..."`);
  });

  it('refuses a JSON policy with the rule to add by hand, and without a policy suggests policy init', async () => {
    const p = await kit.project({ dependencies: { [UNSIGNED.name]: UNSIGNED.version } });
    // The help teaches both commands with examples.
    const help = await p.run(['sigstore', 'policy', 'allow', '-h']);
    expect(help.output).toContain('yarn sigstore policy allow left-pad --reason "no provenance upstream, ACME-123" --expires 2027-06-30');
    expect(help.output).toContain('--dry-run');
    expect((await p.run(['sigstore', 'policy', 'trust', '-h'])).output).toContain('yarn sigstore policy trust @acme/widget --dry-run');

    const none = await p.run(['sigstore', 'policy', 'allow', UNSIGNED.name, '--reason', 'legacy']);
    expect(none.code).toBe(1);
    expect(none.output).toContain('sigstore [POLICY_NOT_FOUND]');
    expect(none.output).toContain('yarn sigstore policy init');

    const json = JSON.stringify({ version: 1, default: { require: 'provenance' } }, null, 2);
    p.write('sigstore-policy.json', json);
    const refused = await p.run(['sigstore', 'policy', 'allow', UNSIGNED.name, '--reason', 'legacy', '--expires', '2099-12-31']);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('sigstore [POLICY_NOT_EDITABLE]');
    expect(refused.output).toContain(`{"packages":["${UNSIGNED.name}"],"require":"none","reason":"legacy","expires":"2099-12-31"}`);
    expect(p.read('sigstore-policy.json')).toBe(json);
    rmSync(join(p.cwd, 'sigstore-policy.json'));
  });
});

describe('yarn sigstore policy trust', () => {
  it('is suggested, with a warning, when a signer changes; writes the verified identity keeping comments; the install then passes', async () => {
    const p = await kit.project({ dependencies: { [ACME.name]: ACME.version }, policy: POLICY });
    expect((await p.install()).code).toBe(0);

    // The same bytes, now signed from another repository.
    registry.setAttestations(ACME.name, ACME.version, await signAcme('acme/widget-next'));
    try {
      const denied = await p.install(RECHECK);
      expect(denied.code).not.toBe(0);
      expect(denied.output).toContain(`${ACME.name}@${ACME.version}: denied by rules[0] (@acme/*): identity.repository expected https://github.com/acme/widget, found https://github.com/acme/widget-next`);
      expect(denied.output).toContain(`a changed signer may be an attack: review the change, and if this signer is expected: yarn sigstore policy trust ${ACME.name}`);

      const dry = await p.run(['sigstore', 'policy', 'trust', ACME.name, '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.output).toContain('+       repository: "https://github.com/acme/widget-next"');
      expect(p.read('sigstore-policy.yml')).toBe(POLICY);

      const trusted = await p.run(['sigstore', 'policy', 'trust', ACME.name]);
      expect(trusted.code).toBe(0);
      expect(trusted.output).toContain(`rules[0] (@acme/*) also selects ${ACME.name} and would decide first: the rule for it goes before it`);
      expect(trusted.output).toContain(`sigstore.lock pins ${ACME.name} to another signer (repository https://github.com/acme/widget, repositoryId 4242): installs are refused (versions it has not recorded, and recorded ones it no longer agrees with) until you accept the new signer there too: \`yarn sigstore pin update ${ACME.name} --reason "..."\``);
      const written = p.read('sigstore-policy.yml')!;
      expect(written).toContain('# Trust policy of the e2e project: reviewed in every pull request.');
      expect(written).toContain('      repository: https://github.com/acme/widget   # the one repository');
      expect(written).toContain(
        [
          '  - packages:',
          `      - "${ACME.name}"`,
          '    require: provenance',
          '    identity:',
          `      issuer: "${GITHUB_ISSUER}"`,
          '      repository: "https://github.com/acme/widget-next"',
          '      repositoryId: "5151"',
          '      workflow: ".github/workflows/release.yml"',
          '      ref: "refs/tags/v{version}"',
        ].join('\n'),
      );

      // sigstore.lock is a separate record: it still names the old signer, so the install needs `pin update` too.
      expect((await p.run(['sigstore', 'pin', 'update', ACME.name, '--reason', 'moved to widget-next'])).code).toBe(0);
      const passing = await p.install(RECHECK);
      expect(passing.code).toBe(0);
      expect(passing.output).toContain('1 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
    } finally {
      registry.setAttestations(ACME.name, ACME.version, await signAcme('acme/widget'));
    }
  });
});

describe('yarn sigstore policy trust, fail closed', () => {
  it('never pins a bundle that fails verification, and allow refuses an exception a baseline forbids', async () => {
    const p = await kit.project({ dependencies: { [ACME.name]: ACME.version }, policy: POLICY });
    expect((await p.install()).code).toBe(0);
    // A genuine signature, but over another tarball: the served bytes are not what was signed.
    const otherTarball = buildPackageTarball({ name: ACME.name, version: ACME.version, files: [{ path: 'index.js', content: 'module.exports = "other";\n' }] });
    registry.setAttestations(ACME.name, ACME.version, await mock.signPackage({ name: ACME.name, version: ACME.version, tarball: otherTarball, identity: githubIdentity({ repository: 'evil/widget' }) }));
    try {
      const refused = await p.run(['sigstore', 'policy', 'trust', ACME.name]);
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/sigstore \[SUBJECT_DIGEST_MISMATCH\] .*nothing written: a bundle that fails verification is never trusted/);
      expect(p.read('sigstore-policy.yml')).toBe(POLICY);
    } finally {
      registry.setAttestations(ACME.name, ACME.version, await signAcme('acme/widget'));
    }

    p.write('org-baseline.yml', 'version: 1\ndefault:\n  require: provenance\n');
    const extending = POLICY.replace('version: 1\n', 'version: 1\nextends: ./org-baseline.yml\n');
    p.write('sigstore-policy.yml', extending);
    const forbidden = await p.run(['sigstore', 'policy', 'allow', UNSIGNED.name, '--reason', 'legacy', '--expires', '2099-12-31']);
    expect(forbidden.code).toBe(1);
    expect(forbidden.output).toMatch(/sigstore \[POLICY_INVALID\] the edited policy would not load/);
    expect(forbidden.output).toContain('org-baseline.yml');
    expect(p.read('sigstore-policy.yml')).toBe(extending);
  });
});
