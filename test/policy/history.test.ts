/** No-downgrade against the registry's history: release lines, channels, evidence, exceptions. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors';
import { evaluate, findDowngrade } from '../../src/policy';
import { evidenceOf, packumentFacts, type PublishEvidence } from '../../src/sources/packument';
import { errorsOf, policyOf } from '../../testkit/policy-helpers';

const history = (entries: Record<string, PublishEvidence>) => new Map(Object.entries(entries));

describe('findDowngrade', () => {
  const h = history({ '1.0.0': 'none', '1.1.0': 'provenance', '1.2.0': 'none', '2.0.0-rc.1': 'provenance', '2.0.0': 'none', '0.3.0': 'provenance', '0.4.0': 'none', '3.0.0': 'trusted-publisher' });
  it('a release after a signed one of its major line is a downgrade, naming the highest signed earlier version', () => {
    expect(findDowngrade(h, '1.2.0')).toEqual({ signedVersion: '1.1.0', evidence: 'provenance', line: '1.x' });
    expect(findDowngrade(h, '1.9.9')?.signedVersion).toBe('1.1.0');
  });
  it('a version below the first signed one is not', () => expect(findDowngrade(h, '1.0.0')).toBeUndefined());
  it('another major line is not (pnpm#10202)', () => expect(findDowngrade(h, '2.0.0')).toBeUndefined());
  it('0.x lines are per minor', () => {
    expect(findDowngrade(h, '0.4.0')).toBeUndefined();
    expect(findDowngrade(h, '0.3.1')?.signedVersion).toBe('0.3.0');
  });
  it('prereleases are compared with their own channel only; releases never with prereleases', () => {
    expect(findDowngrade(h, '2.0.0-rc.2')?.signedVersion).toBe('2.0.0-rc.1');
    expect(findDowngrade(h, '2.0.0-beta.1')).toBeUndefined();
    expect(findDowngrade(h, '2.0.1')).toBeUndefined();
  });
  it('a trusted publisher counts as evidence', () => expect(findDowngrade(h, '3.0.1')).toMatchObject({ signedVersion: '3.0.0', evidence: 'trusted-publisher' }));
  it('an invalid version is never judged', () => expect(findDowngrade(h, 'latest')).toBeUndefined());
});

describe('packument facts', () => {
  const packument = {
    time: { '1.0.0': '2024-01-02T00:00:00.000Z' },
    versions: {
      '1.0.0': { dist: { signatures: [{ keyid: 'k', sig: 's' }], attestations: { url: 'https://r/-/npm/v1/attestations/p@1.0.0', provenance: { predicateType: 'x' } } } },
      '1.0.1': { _npmUser: { name: 'GitHub Actions', trustedPublisher: { id: 'github' } }, dist: {} },
      '1.0.2': { dist: { attestations: { url: 'u' } } },
    },
  };
  it('reads signatures, publish time, attestations URL and every version\'s evidence', () => {
    const facts = packumentFacts(packument, { name: 'p', version: '1.0.0', registry: 'https://r' }, 'https://r/p');
    expect(facts).toMatchObject({ attestationsUrl: 'https://r/-/npm/v1/attestations/p@1.0.0', signatures: [{ keyid: 'k', sig: 's' }], publishedAt: new Date('2024-01-02T00:00:00.000Z') });
    expect([...facts.history]).toEqual([['1.0.0', 'provenance'], ['1.0.1', 'trusted-publisher'], ['1.0.2', 'none']]);
  });
  it('a publish attestation alone is no provenance evidence', () => expect(evidenceOf({ dist: { attestations: { url: 'u' } } })).toBe('none'));
  it('a version missing from the packument is the package\'s source error', () => {
    expect(() => packumentFacts(packument, { name: 'p', version: '9.9.9', registry: 'https://r' }, 'https://r/p')).toThrow(expect.objectContaining({ code: ErrorCodes.SOURCE_FETCH_FAILED }));
  });
});

describe('downgrade verdicts', () => {
  const pkg = { name: 'hist', version: '1.1.0' };
  const downgrade = { signedVersion: '1.0.0', evidence: 'provenance' as const, line: '1.x' };
  const NOW = new Date('2026-06-01T00:00:00Z');
  const exception = (expires: string) => ({ version: 1, default: { require: 'none' }, rules: [{ name: 'backport', packages: ['hist@1.1.0'], require: 'none', downgrade: 'allow', reason: 'ACME-42', expires }] });

  it('denies under a policy with PROVENANCE_DOWNGRADE, warns in warn mode and without a policy', () => {
    const policy = policyOf({ version: 1, default: { require: 'none' } });
    expect(evaluate(policy, pkg, { status: 'unsigned' }, { downgrade, now: NOW })).toMatchObject({ decision: 'deny', code: ErrorCodes.PROVENANCE_DOWNGRADE, reason: 'provenance-downgrade' });
    expect(evaluate(policyOf({ version: 1, mode: 'warn', default: { require: 'none' } }), pkg, { status: 'unsigned' }, { downgrade, now: NOW }).decision).toBe('warn');
    expect(evaluate(undefined, pkg, { status: 'unsigned' }, { downgrade })).toMatchObject({ decision: 'warn', code: ErrorCodes.PROVENANCE_DOWNGRADE });
  });
  it('an unexpired exception allows, saying why and until when', () => {
    const verdict = evaluate(policyOf(exception('2026-12-31')), pkg, { status: 'unsigned' }, { downgrade, now: NOW });
    expect(verdict).toMatchObject({ decision: 'allow', reason: 'downgrade-allowed' });
    expect(verdict.message).toContain('ACME-42');
  });
  it('an expired exception denies, naming it', () => {
    const verdict = evaluate(policyOf(exception('2026-01-01')), pkg, { status: 'unsigned' }, { downgrade, now: NOW });
    expect(verdict).toMatchObject({ decision: 'deny', code: ErrorCodes.PROVENANCE_DOWNGRADE });
    expect(verdict.message).toContain('rule "backport"');
    expect(verdict.message).toContain('expired on 2026-01-01');
  });
  it('history never relaxes: without a finding the verdict is the policy\'s own', () => {
    const policy = policyOf({ version: 1, default: { require: 'provenance' } });
    expect(evaluate(policy, pkg, { status: 'unsigned' }, { now: NOW })).toMatchObject({ decision: 'deny', reason: 'policy-mismatch' });
  });
});

describe('validation of registrySignatures and downgrade', () => {
  it('accepts the three modes on rules and default', () => {
    const policy = policyOf({ version: 1, default: { require: 'none', registrySignatures: 'require' }, rules: [{ packages: ['a'], require: 'none', registrySignatures: 'off' }] });
    expect(policy.model.default.registrySignatures).toBe('require');
  });
  it('refuses an unknown mode', () => {
    expect(errorsOf({ version: 1, default: { require: 'none', registrySignatures: 'sometimes' } })).toEqual([{ path: 'default.registrySignatures', expected: 'one of require | when-present | off' }]);
  });
  it('downgrade: allow needs a reason and an expiry, and never on default', () => {
    expect(errorsOf({ version: 1, default: { require: 'none' }, rules: [{ packages: ['a'], require: 'none', downgrade: 'allow' }] }).map((e) => e.path)).toEqual(['rules[0].reason', 'rules[0].expires']);
    expect(errorsOf({ version: 1, default: { require: 'none', downgrade: 'allow', reason: 'x' } }).map((e) => e.path)).toEqual(['default.downgrade']);
    expect(errorsOf({ version: 1, default: { require: 'none' }, rules: [{ packages: ['a'], require: 'none', downgrade: 'deny' }] }).map((e) => e.path)).toEqual(['rules[0].downgrade']);
  });
  it('a rule inherits the default rule\'s registrySignatures', async () => {
    const { registrySignatureModeOf } = await import('../../src/policy');
    const policy = policyOf({ version: 1, default: { require: 'none', registrySignatures: 'require' }, rules: [{ packages: ['a'], require: 'none' }, { packages: ['b'], require: 'none', registrySignatures: 'off' }] });
    expect(registrySignatureModeOf(policy, { name: 'a', version: '1.0.0' })).toBe('require');
    expect(registrySignatureModeOf(policy, { name: 'b', version: '1.0.0' })).toBe('off');
    expect(registrySignatureModeOf(undefined, { name: 'a', version: '1.0.0' })).toBe('when-present');
  });
});
