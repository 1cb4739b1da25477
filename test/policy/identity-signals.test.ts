/**
 * Identity fields added for trust signals: `environment` (the .23 deployment
 * environment claim) and the `{version}` placeholder, which binds a rule to
 * the exact version being installed.
 */
import { describe, expect, it } from 'vitest';
import { compileGlob, evaluate, identityMismatches } from '../../src/policy';
import { errorsOf, githubIdentity, policyOf, verifiedOutcome } from '../../testkit/policy-helpers';

const GITHUB = 'https://token.actions.githubusercontent.com';
const NOW = new Date('2026-06-01T00:00:00Z');

function provenanceOf(identity = githubIdentity()) {
  const outcome = verifiedOutcome(identity);
  if (outcome.status !== 'verified' || !outcome.result.provenance) throw new Error('unreachable');
  return outcome.result.provenance;
}

function rulePolicy(identity: Record<string, unknown>) {
  return policyOf({ version: 1, default: { require: 'provenance' }, rules: [{ packages: ['@acme/*'], require: 'provenance', identity: { issuer: GITHUB, ...identity } }] });
}

describe('identity.environment', () => {
  const production = githubIdentity({ deploymentEnvironment: 'production' });

  it('matches the deployment environment claim as a glob, case-insensitively (GitHub environment names are)', () => {
    expect(identityMismatches({ environment: ['production'] }, provenanceOf(production))).toEqual([]);
    expect(identityMismatches({ environment: ['Production'] }, provenanceOf(production))).toEqual([]);
    expect(identityMismatches({ environment: ['prod*'] }, provenanceOf(production))).toEqual([]);
    expect(identityMismatches({ environment: ['staging', 'production'] }, provenanceOf(production))).toEqual([]);
    expect(identityMismatches({ environment: ['production'] }, provenanceOf(githubIdentity({ deploymentEnvironment: 'production-eu' })))).toEqual([
      { field: 'identity.environment', expected: 'production', found: 'production-eu' },
    ]);
  });

  it('a certificate without the claim never satisfies it', () => {
    expect(identityMismatches({ environment: ['**'] }, provenanceOf(githubIdentity()))).toEqual([{ field: 'identity.environment', expected: '**', found: undefined }]);
  });

  it('a mismatch is denied naming the rule, expected and found', () => {
    const verdict = evaluate(rulePolicy({ environment: 'production' }), { name: '@acme/x', version: '1.2.0' }, verifiedOutcome(githubIdentity({ deploymentEnvironment: 'staging' })), { now: NOW });
    expect(verdict.decision).toBe('deny');
    expect(verdict.message).toBe('@acme/x@1.2.0: denied by rules[0] (@acme/*): identity.environment expected production, found staging; a changed signer may be an attack: review the change, and if this signer is expected: yarn sigstore policy trust @acme/x');
  });

  it('validates: one glob or a list, never empty', () => {
    expect(rulePolicy({ environment: ['production', 'release-*'] }).model.rules[0].identity?.environment).toEqual(['production', 'release-*']);
    expect(errorsOf({ version: 1, default: { require: 'provenance', identity: { environment: '' } } })).toEqual([{ path: 'default.identity.environment', expected: 'a deployment environment name glob, e.g. production' }]);
    expect(errorsOf({ version: 1, default: { require: 'provenance', identity: { environment: [] } } })).toEqual([
      { path: 'default.identity.environment', expected: 'a deployment environment name glob, e.g. production, or a non-empty list of them' },
    ]);
  });
});

describe('{version} in identity globs', () => {
  const tagged = (ref: string) => provenanceOf(githubIdentity({ sourceRepositoryRef: ref }));

  it('is replaced by the exact version being installed before matching', () => {
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v1.2.0'), '1.2.0')).toEqual([]);
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v1.2.0'), '1.2.1')).toEqual([{ field: 'identity.ref', expected: 'refs/tags/v1.2.1', found: 'refs/tags/v1.2.0' }]);
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/heads/main'), '1.2.0')).toEqual([{ field: 'identity.ref', expected: 'refs/tags/v1.2.0', found: 'refs/heads/main' }]);
    // A list: any may match, each shown replaced.
    expect(identityMismatches({ ref: ['refs/tags/v{version}', 'refs/tags/{version}'] }, tagged('refs/tags/1.2.0'), '1.2.0')).toEqual([]);
    expect(identityMismatches({ ref: ['refs/tags/v{version}', 'refs/tags/{version}'] }, tagged('refs/tags/v9'), '1.2.0')[0].expected).toBe('refs/tags/v1.2.0 or refs/tags/1.2.0');
  });

  it('prerelease versions are matched whole: 2.0.0-rc.1 is not 2.0.0', () => {
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v2.0.0-rc.1'), '2.0.0-rc.1')).toEqual([]);
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v2.0.0'), '2.0.0-rc.1')).toHaveLength(1);
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v2.0.0-rc.1'), '2.0.0')).toHaveLength(1);
  });

  it('the replaced version is literal: its dots and plus signs match only themselves, a star in it is no wildcard', () => {
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v1x2y0'), '1.2.0')).toHaveLength(1);
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v1.0.0+build.7'), '1.0.0+build.7')).toEqual([]);
    expect(identityMismatches({ ref: ['refs/tags/v{version}'] }, tagged('refs/tags/v1.0.0+build.8'), '1.0.0+build.7')).toHaveLength(1);
    expect(compileGlob('refs/tags/v{version}', { version: '1.*' }).test('refs/tags/v1.5')).toBe(false);
    expect(compileGlob('refs/tags/v{version}', { version: '1.*' }).test('refs/tags/v1.*')).toBe(true);
    // The rest of the glob keeps its wildcards.
    expect(compileGlob('refs/*/v{version}', { version: '1.0.0' }).test('refs/tags/v1.0.0')).toBe(true);
  });

  it('works in every glob field: san, signerWorkflow, workflow, environment', () => {
    const identity = githubIdentity({
      sourceRepositoryRef: 'refs/tags/v1.2.0',
      san: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1.2.0',
      buildSignerUri: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1.2.0',
      deploymentEnvironment: 'release-1.2.0',
    });
    const requirement = {
      san: ['https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v{version}'],
      signerWorkflow: ['https://github.com/acme/*/.github/workflows/*.yml@refs/tags/v{version}'],
      environment: ['release-{version}'],
    };
    expect(identityMismatches(requirement, provenanceOf(identity), '1.2.0')).toEqual([]);
    expect(identityMismatches(requirement, provenanceOf(identity), '1.3.0').map((m) => m.field)).toEqual(['identity.signerWorkflow', 'identity.san', 'identity.environment']);
  });

  it('evaluate replaces it with the version of the package being judged and names the rule, expected and found', () => {
    const policy = rulePolicy({ repository: 'https://github.com/acme/*', ref: 'refs/tags/v{version}' });
    expect(evaluate(policy, { name: '@acme/x', version: '1.2.0' }, verifiedOutcome(githubIdentity({ sourceRepositoryRef: 'refs/tags/v1.2.0' })), { now: NOW }).decision).toBe('allow');
    const branch = evaluate(policy, { name: '@acme/x', version: '1.2.0' }, verifiedOutcome(githubIdentity({ sourceRepositoryRef: 'refs/heads/main' })), { now: NOW });
    expect(branch.decision).toBe('deny');
    expect(branch.message).toBe('@acme/x@1.2.0: denied by rules[0] (@acme/*): identity.ref expected refs/tags/v1.2.0, found refs/heads/main; a changed signer may be an attack: review the change, and if this signer is expected: yarn sigstore policy trust @acme/x');
    const otherTag = evaluate(policy, { name: '@acme/x', version: '1.2.1' }, verifiedOutcome(githubIdentity({ sourceRepositoryRef: 'refs/tags/v1.2.0' })), { now: NOW });
    expect(otherTag.message).toBe('@acme/x@1.2.1: denied by rules[0] (@acme/*): identity.ref expected refs/tags/v1.2.1, found refs/tags/v1.2.0; a changed signer may be an attack: review the change, and if this signer is expected: yarn sigstore policy trust @acme/x');
  });

  it('the validator accepts it in identity globs and rejects unknown placeholders and placeholders elsewhere', () => {
    expect(rulePolicy({ ref: 'refs/tags/v{version}' }).model.rules[0].identity?.ref).toEqual(['refs/tags/v{version}']);
    const identityErrors = (identity: Record<string, unknown>) => errorsOf({ version: 1, default: { require: 'provenance', identity } });
    expect(identityErrors({ ref: 'refs/tags/{name}-v{version}' })).toEqual([
      { path: 'default.identity.ref', expected: 'no placeholder other than {version} (the version being installed)' },
    ]);
    expect(identityErrors({ san: ['https://github.com/acme/*', 'https://github.com/acme/x@refs/tags/{tag}'] })).toEqual([
      { path: 'default.identity.san[1]', expected: 'no placeholder other than {version} (the version being installed)' },
    ]);
    const exactOnly = { expected: 'no placeholder ({version} is replaced only in identity globs)' };
    expect(identityErrors({ trigger: 'release-{version}' })).toEqual([{ path: 'default.identity.trigger', ...exactOnly }]);
    expect(identityErrors({ issuer: 'https://issuer/{version}' })).toEqual([{ path: 'default.identity.issuer', ...exactOnly }]);
    expect(identityErrors({ repositoryId: '{version}' })).toEqual([{ path: 'default.identity.repositoryId', ...exactOnly }]);
    // Package selectors are names and semver ranges: a placeholder is no range.
    expect(errorsOf({ version: 1, default: { require: 'provenance' }, rules: [{ packages: ['x@{version}'], require: 'none' }] }).map((e) => e.path)).toEqual(['rules[0].packages[0]']);
  });
});
