/** Evaluation: verdicts, the matched rule, every mismatch, modes, expiry, verify: skip, zero-config. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { evaluate, identityMismatches, type VerificationOutcome } from '../../src/policy';
import { githubIdentity, policyOf, verifiedOutcome } from '../../testkit/policy-helpers';

const GITHUB = 'https://token.actions.githubusercontent.com';
const pkg = { name: '@acme/x', version: '1.2.0' };
const unsigned: VerificationOutcome = { status: 'unsigned' };
const failed: VerificationOutcome = { status: 'failed', error: new SigstorePluginError(ErrorCodes.SIGNATURE, 'DSSE signature does not verify', { subject: '@acme/x@1.2.0' }) };
const NOW = new Date('2026-06-01T00:00:00Z');

const acmeRule = {
  packages: ['@acme/*'],
  require: 'provenance',
  identity: { issuer: GITHUB, repository: 'https://github.com/acme/*', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v*', runner: 'github-hosted' },
};

describe('zero-config (no policy)', () => {
  it('allows a verified package', () => {
    expect(evaluate(undefined, pkg, verifiedOutcome(githubIdentity()))).toMatchObject({ decision: 'allow', reason: 'verified' });
  });
  it('allows an unsigned package with the policy init hint', () => {
    const verdict = evaluate(undefined, pkg, unsigned);
    expect(verdict).toMatchObject({ decision: 'allow', reason: 'allowed-unsigned' });
    expect(verdict.message).toContain('yarn sigstore policy init');
  });
  it('denies a bundle that exists and fails, naming the package and cause', () => {
    const verdict = evaluate(undefined, pkg, failed);
    expect(verdict).toMatchObject({ decision: 'deny', reason: 'verification-failed' });
    expect(verdict.message).toBe('@acme/x@1.2.0: a signature bundle exists but failed verification (SIGNATURE: DSSE signature does not verify)');
  });
  it('denies attestations that could not be had (offline, unreachable) without claiming a bundle exists, with or without a policy', () => {
    const policy = policyOf({ version: 1, default: { require: 'none' } });
    for (const code of [ErrorCodes.SOURCE_OFFLINE, ErrorCodes.SOURCE_FETCH_FAILED]) {
      const unreachable: VerificationOutcome = { status: 'failed', error: new SigstorePluginError(code, 'no answer', { subject: '@acme/x@1.2.0' }) };
      for (const verdict of [evaluate(undefined, pkg, unreachable), evaluate(policy, pkg, unreachable, { now: NOW })]) {
        expect(verdict).toMatchObject({ decision: 'deny', reason: 'verification-failed' });
        expect(verdict.message).toBe(`@acme/x@1.2.0: its attestations could not be had, so it cannot be judged (${code}: no answer)`);
      }
    }
  });
});

describe('rules', () => {
  const policy = policyOf({ version: 1, default: { require: 'provenance' }, rules: [acmeRule, { packages: ['left-pad@<2'], require: 'none', reason: 'no provenance upstream, ACME-123', expires: '2026-12-31' }] });

  it('allows a matching identity and names the rule', () => {
    expect(evaluate(policy, pkg, verifiedOutcome(githubIdentity()), { now: NOW })).toEqual({
      decision: 'allow',
      reason: 'verified',
      rule: { index: 0, description: 'rules[0] (@acme/*)' },
      mismatches: [],
      message: '@acme/x@1.2.0: verified, rules[0] (@acme/*)',
      mode: { mode: 'enforce', source: 'policy' },
    });
  });

  it('denies with every mismatching field, expected vs found, in one line', () => {
    const identity = githubIdentity({
      sourceRepositoryUri: 'https://github.com/acme-evil/x',
      buildConfigUri: 'https://github.com/acme-evil/x/.github/workflows/ci.yml@refs/heads/main',
      sourceRepositoryRef: 'refs/heads/main',
      runnerEnvironment: 'self-hosted',
    });
    const verdict = evaluate(policy, pkg, verifiedOutcome(identity), { now: NOW });
    expect(verdict.decision).toBe('deny');
    expect(verdict.reason).toBe('policy-mismatch');
    expect(verdict.mismatches).toEqual([
      { field: 'identity.repository', expected: 'https://github.com/acme/*', found: 'https://github.com/acme-evil/x' },
      { field: 'identity.workflow', expected: '.github/workflows/release.yml', found: '.github/workflows/ci.yml' },
      { field: 'identity.ref', expected: 'refs/tags/v*', found: 'refs/heads/main' },
      { field: 'identity.runner', expected: 'github-hosted', found: 'self-hosted' },
    ]);
    expect(verdict.message).toBe(
      '@acme/x@1.2.0: denied by rules[0] (@acme/*): identity.repository expected https://github.com/acme/*, found https://github.com/acme-evil/x; identity.workflow expected .github/workflows/release.yml, found .github/workflows/ci.yml; identity.ref expected refs/tags/v*, found refs/heads/main; identity.runner expected github-hosted, found self-hosted; a changed signer may be an attack: review the change, and if this signer is expected: yarn sigstore policy trust @acme/x',
    );
    expect(verdict.message.split('\n')).toHaveLength(1);
    expect(verdict.resolution).toBe('review');
  });

  it('denies an unsigned package a provenance rule selects, naming the command that allows it', () => {
    const verdict = evaluate(policy, pkg, unsigned, { now: NOW });
    expect(verdict).toMatchObject({ decision: 'deny', mismatches: [{ field: 'require', expected: 'provenance', found: 'no attestation' }] });
    expect(verdict.message).toBe('@acme/x@1.2.0: denied by rules[0] (@acme/*): require expected provenance, found no attestation; to allow it without provenance: yarn sigstore policy allow @acme/x --reason "..."');
    const byDefault = evaluate(policy, { name: 'plain', version: '1.0.0' }, unsigned, { now: NOW });
    expect(byDefault.message).toBe('plain@1.0.0: denied by default rule: require expected provenance, found no attestation; to allow it without provenance: yarn sigstore policy allow plain --reason "..."');
    expect([verdict.resolution, byDefault.resolution]).toEqual(['allow', 'allow']);
  });

  it('points a package with provenance under a publish rule at policy trust, not at an exception', () => {
    const publishRule = policyOf({ version: 1, default: { require: 'publish' } });
    const verdict = evaluate(publishRule, pkg, verifiedOutcome(githubIdentity(), { publish: false }), { now: NOW });
    expect(verdict.message).toBe('@acme/x@1.2.0: denied by default rule: require expected publish attestation, found provenance without publish attestation; to require its provenance instead: yarn sigstore policy trust @acme/x');
    expect(verdict.resolution).toBe('trust');
  });

  it('names a rule by its name:, else by its index and first packages, never its whole list', () => {
    const many = Array.from({ length: 14 }, (_, i) => `pkg-${String(i).padStart(2, '0')}`);
    const named = policyOf({ version: 1, default: { require: 'provenance', name: 'everything else' }, rules: [{ name: 'react stack', packages: ['react', 'react-dom'], require: 'provenance' }, { packages: many, require: 'provenance' }] });
    const react = evaluate(named, { name: 'react', version: '18.0.0' }, unsigned, { now: NOW });
    expect(react.rule).toEqual({ index: 0, name: 'react stack', description: 'rule "react stack"' });
    expect(react.message).toContain('denied by rule "react stack": require expected provenance');
    const listed = evaluate(named, { name: 'pkg-05', version: '1.0.0' }, unsigned, { now: NOW });
    expect(listed.rule).toEqual({ index: 1, description: 'rules[1] (pkg-00, pkg-01, +12 more)' });
    expect(listed.message).toMatch(/^pkg-05@1.0.0: denied by rules\[1\] \(pkg-00, pkg-01, \+12 more\): /);
    expect(JSON.stringify(listed)).not.toContain('pkg-13');
    expect(evaluate(named, { name: 'other', version: '1.0.0' }, unsigned, { now: NOW }).rule).toEqual({ index: -1, name: 'everything else', description: 'rule "everything else"' });
  });

  it('the first matching rule wins; default catches the rest', () => {
    expect(evaluate(policy, { name: 'left-pad', version: '1.3.0' }, unsigned, { now: NOW })).toMatchObject({ decision: 'allow', reason: 'allowed-unsigned', rule: { index: 1 } });
    expect(evaluate(policy, { name: 'left-pad', version: '1.3.0' }, unsigned, { now: NOW }).message).toContain('ACME-123');
    expect(evaluate(policy, { name: 'left-pad', version: '2.0.0' }, unsigned, { now: NOW })).toMatchObject({ decision: 'deny', rule: { index: -1, description: 'default rule' } });
  });

  it('an expired exception lets its packages fall to the stricter rules below', () => {
    const leftPad = { name: 'left-pad', version: '1.3.0' };
    expect(evaluate(policy, leftPad, unsigned, { now: new Date('2026-12-31T23:59:59Z') }).decision).toBe('allow');
    expect(evaluate(policy, leftPad, unsigned, { now: new Date('2027-01-01T00:00:00Z') })).toMatchObject({ decision: 'deny', rule: { index: -1 } });
  });

  it('matches an alias by the real name the caller passes', () => {
    // `"lodash": "npm:@acme/x@1"`: the Yarn layer passes the real name.
    expect(evaluate(policy, { name: '@acme/x', version: '1.0.0' }, unsigned, { now: NOW }).rule?.index).toBe(0);
    expect(evaluate(policy, { name: 'lodash', version: '1.0.0' }, unsigned, { now: NOW }).rule?.index).toBe(-1);
  });
});

describe('require', () => {
  const policy = policyOf({ version: 1, default: { require: 'publish' }, rules: [{ packages: ['p'], require: 'provenance' }, { packages: ['n'], require: 'none' }] });
  it('publish needs the npm publish attestation', () => {
    expect(evaluate(policy, pkg, verifiedOutcome(githubIdentity())).decision).toBe('allow');
    expect(evaluate(policy, pkg, verifiedOutcome(githubIdentity(), { publish: false })).mismatches).toEqual([{ field: 'require', expected: 'publish attestation', found: 'provenance without publish attestation' }]);
    expect(evaluate(policy, pkg, unsigned).decision).toBe('deny');
  });
  it('provenance is not satisfied by a publish attestation alone', () => {
    expect(evaluate(policy, { name: 'p', version: '1.0.0' }, verifiedOutcome(undefined)).mismatches).toEqual([{ field: 'require', expected: 'provenance', found: 'publish attestation only' }]);
  });
  it('none allows both signed and unsigned packages, and reports which', () => {
    expect(evaluate(policy, { name: 'n', version: '1.0.0' }, unsigned).reason).toBe('allowed-unsigned');
    expect(evaluate(policy, { name: 'n', version: '1.0.0' }, verifiedOutcome(githubIdentity())).reason).toBe('verified');
  });
});

describe('a bundle that exists but fails', () => {
  it('stays a deny in warn and off modes, whatever the rule requires', () => {
    for (const mode of ['warn', 'off']) {
      const policy = policyOf({ version: 1, mode, default: { require: 'none' } });
      expect(evaluate(policy, pkg, failed)).toMatchObject({ decision: 'deny', reason: 'verification-failed' });
    }
  });
  it('passes only a verify: skip rule naming it, until it expires', () => {
    const policy = policyOf({
      version: 1,
      default: { require: 'provenance' },
      rules: [{ packages: ['@acme/x@1.2.0'], verify: 'skip', reason: 'bundle v0.4, verifier update ACME-9', expires: '2026-07-01' }],
    });
    const skipped = evaluate(policy, pkg, failed, { now: NOW });
    expect(skipped).toMatchObject({ decision: 'allow', reason: 'verification-skipped', rule: { index: 0 } });
    expect(skipped.message).toContain('ACME-9');
    expect(evaluate(policy, { ...pkg, version: '1.2.1' }, failed, { now: NOW }).decision).toBe('deny');
    expect(evaluate(policy, pkg, failed, { now: new Date('2026-07-02T00:00:00Z') }).decision).toBe('deny');
  });
});

describe('modes and precedence', () => {
  const mismatching = verifiedOutcome(githubIdentity({ sourceRepositoryRef: 'refs/heads/main' }));

  it('warn mode turns policy failures into warnings', () => {
    const policy = policyOf({ version: 1, mode: 'warn', default: { require: 'none' }, rules: [acmeRule] });
    const verdict = evaluate(policy, pkg, mismatching);
    expect(verdict).toMatchObject({ decision: 'warn', reason: 'policy-mismatch', mismatches: [{ field: 'identity.ref' }] });
    expect(verdict.message).toContain('would be denied (warn mode)');
  });

  it('off mode allows and says so', () => {
    const policy = policyOf({ version: 1, mode: 'off', default: { require: 'provenance' } });
    expect(evaluate(policy, pkg, unsigned)).toMatchObject({ decision: 'allow', reason: 'policy-off' });
  });

  it("a rule's mode beats the policy's, both ways", () => {
    const warnPolicy = policyOf({ version: 1, mode: 'warn', default: { require: 'none' }, rules: [{ ...acmeRule, mode: 'enforce' }] });
    expect(evaluate(warnPolicy, pkg, mismatching)).toMatchObject({ decision: 'deny', mode: { mode: 'enforce', source: 'rule' } });
    const enforcePolicy = policyOf({ version: 1, default: { require: 'none' }, rules: [{ ...acmeRule, mode: 'warn' }] });
    expect(evaluate(enforcePolicy, pkg, mismatching)).toMatchObject({ decision: 'warn', mode: { mode: 'warn', source: 'rule' } });
  });

  it('an override tightens, and the verdict says it is in force', () => {
    const policy = policyOf({ version: 1, mode: 'warn', default: { require: 'none' }, rules: [acmeRule] });
    const verdict = evaluate(policy, pkg, mismatching, { modeOverride: { mode: 'enforce', source: 'YARN_SIGSTORE_MODE' } });
    expect(verdict.decision).toBe('deny');
    expect(verdict.mode?.override).toMatchObject({ requested: 'enforce', source: 'YARN_SIGSTORE_MODE', applied: true });
  });

  it('a loosening override is refused unless the policy allows it', () => {
    const strict = policyOf({ version: 1, default: { require: 'none' }, rules: [acmeRule] });
    const refused = evaluate(strict, pkg, mismatching, { modeOverride: { mode: 'warn', source: 'YARN_SIGSTORE_MODE' } });
    expect(refused.decision).toBe('deny');
    expect(refused.mode?.override).toMatchObject({ applied: false });
    expect(refused.mode?.override?.note).toContain('refused');
    const lenient = policyOf({ version: 1, allowLooseningOverrides: true, default: { require: 'none' }, rules: [acmeRule] });
    expect(evaluate(lenient, pkg, mismatching, { modeOverride: { mode: 'warn', source: 'YARN_SIGSTORE_MODE' } }).decision).toBe('warn');
  });
});

describe('identity fields and certificate claims', () => {
  const provenance = (identity = githubIdentity(), predicateType = 'https://slsa.dev/provenance/v1') => {
    const outcome = verifiedOutcome(identity, { predicateType });
    if (outcome.status !== 'verified' || !outcome.result.provenance) throw new Error('unreachable');
    return outcome.result.provenance;
  };
  const fields = (requirement: Parameters<typeof identityMismatches>[0], identity = githubIdentity(), predicateType?: string) =>
    identityMismatches(requirement, provenance(identity, predicateType)).map((m) => m.field);

  it('checks each field against its own claim', () => {
    expect(fields({ issuer: 'https://gitlab.com' })).toEqual(['identity.issuer']);
    expect(fields({ issuer: GITHUB })).toEqual([]);
    expect(fields({ repository: ['https://github.com/ACME/REPO'] })).toEqual([]);
    expect(fields({ repository: ['https://github.com/other/*', 'https://github.com/acme/*'] })).toEqual([]);
    expect(fields({ workflow: ['.github/workflows/*.yml'] })).toEqual([]);
    expect(fields({ workflow: ['.github/workflows/Release.yml'] })).toEqual(['identity.workflow']);
    expect(fields({ signerWorkflow: ['https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v*'] })).toEqual([]);
    expect(fields({ ref: ['refs/tags/v1.*'] })).toEqual([]);
    expect(fields({ ref: ['refs/heads/*'] })).toEqual(['identity.ref']);
    expect(fields({ san: ['https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v*'] })).toEqual([]);
    expect(fields({ san: ['https://github.com/acme/repo/.github/workflows/release.yml'] })).toEqual(['identity.san']);
    expect(fields({ repositoryId: '1001', ownerId: '2002' })).toEqual([]);
    expect(fields({ repositoryId: '1002', ownerId: '2003' })).toEqual(['identity.repositoryId', 'identity.ownerId']);
    expect(fields({ runner: 'self-hosted' })).toEqual(['identity.runner']);
    expect(fields({ trigger: ['release', 'push'] })).toEqual([]);
    expect(fields({ trigger: ['release'] })).toEqual(['identity.trigger']);
    expect(fields({ predicateType: 'https://slsa.dev/provenance/v1' })).toEqual([]);
    expect(fields({ predicateType: 'https://slsa.dev/provenance/v1' }, githubIdentity(), 'https://slsa.dev/provenance/v0.2')).toEqual(['identity.predicateType']);
  });

  it('a claim the certificate lacks never satisfies a field that names it', () => {
    // An old certificate: only the v1 claims (.1-.6).
    const old = { san: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1.0.0', sanType: 'uri' as const, issuer: GITHUB, githubWorkflowRepository: 'acme/repo', sourceRepositoryRef: 'refs/tags/v1.0.0', buildTrigger: 'release' };
    const requirement = { workflow: ['**'], repositoryId: '1001', ownerId: '2002', runner: 'github-hosted' as const };
    const mismatches = identityMismatches(requirement, provenance(old));
    expect(mismatches.map((m) => [m.field, m.found])).toEqual([
      ['identity.workflow', undefined],
      ['identity.repositoryId', undefined],
      ['identity.ownerId', undefined],
      ['identity.runner', undefined],
    ]);
    // ref and trigger exist in the legacy claims (.6, .2); repository from the legacy .5 `owner/name`.
    expect(fields({ ref: ['refs/tags/v*'], trigger: ['release'], repository: ['https://github.com/acme/repo'] }, old)).toEqual([]);
    // The signing workflow is the SAN (Fulcio writes the same job workflow ref into .9).
    expect(fields({ signerWorkflow: ['https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v*'] }, old)).toEqual([]);
  });

  it('never takes the repository from the SAN, nor the legacy claim of another issuer', () => {
    const sanOnly = { san: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1', sanType: 'uri' as const, issuer: GITHUB };
    expect(identityMismatches({ repository: ['https://github.com/acme/*'] }, provenance(sanOnly))).toEqual([{ field: 'identity.repository', expected: 'https://github.com/acme/*', found: undefined }]);
    const otherIssuer = { ...sanOnly, issuer: 'https://issuer.example', githubWorkflowRepository: 'acme/repo' };
    expect(fields({ repository: ['https://github.com/acme/*'] }, otherIssuer)).toEqual(['identity.repository']);
  });

  it('a reusable workflow: signerWorkflow and workflow name different files', () => {
    const reusable = githubIdentity({
      san: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator.yml@refs/tags/v1.6.0',
      buildSignerUri: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator.yml@refs/tags/v1.6.0',
      buildConfigUri: 'https://github.com/acme/repo/.github/workflows/release-slsa3.yml@refs/heads/main',
    });
    expect(fields({ signerWorkflow: ['github.com/slsa-framework/slsa-github-generator/.github/workflows/generator.yml@refs/tags/v*'.replace(/^/, 'https://')], workflow: ['.github/workflows/release-slsa3.yml'] }, reusable)).toEqual([]);
    expect(fields({ workflow: ['.github/workflows/generator.yml'] }, reusable)).toEqual(['identity.workflow']);
    expect(fields({ signerWorkflow: ['https://github.com/acme/repo/.github/workflows/release-slsa3.yml@*'] }, reusable)).toEqual(['identity.signerWorkflow']);
  });

  it('a build config from another repository never satisfies workflow', () => {
    const foreign = githubIdentity({ buildConfigUri: 'https://github.com/evil/x/.github/workflows/release.yml@refs/tags/v1' });
    expect(fields({ workflow: ['.github/workflows/release.yml'] }, foreign)).toEqual(['identity.workflow']);
  });

  it('expresses a GitLab CI identity', () => {
    const gitlab = {
      san: 'https://gitlab.com/acme/group/tool//.gitlab-ci.yml@refs/tags/v2.0.0',
      sanType: 'uri' as const,
      issuer: 'https://gitlab.com',
      buildSignerUri: 'https://gitlab.com/acme/group/tool//.gitlab-ci.yml@refs/tags/v2.0.0',
      sourceRepositoryUri: 'https://gitlab.com/acme/group/tool',
      sourceRepositoryRef: 'refs/tags/v2.0.0',
      buildConfigUri: 'https://gitlab.com/acme/group/tool//.gitlab-ci.yml@refs/tags/v2.0.0',
      runnerEnvironment: 'gitlab-hosted',
    };
    expect(fields({ issuer: 'https://gitlab.com', repository: ['https://gitlab.com/acme/group/*'], workflow: ['.gitlab-ci.yml'], ref: ['refs/tags/v*'] }, gitlab)).toEqual([]);
    expect(fields({ repository: ['https://gitlab.com/acme/*'] }, gitlab)).toEqual(['identity.repository']);
  });

  it('an e-mail identity never matches a workflow URI glob', () => {
    const person = { san: 'brian@dehamer.com', sanType: 'email' as const, issuer: 'https://github.com/login/oauth' };
    expect(fields({ san: ['https://github.com/*/**'], signerWorkflow: ['https://github.com/**'] }, person)).toEqual(['identity.signerWorkflow', 'identity.san']);
  });
});
