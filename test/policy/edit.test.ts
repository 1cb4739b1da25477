/**
 * The YAML edits behind `yarn sigstore policy allow` and `policy trust`:
 * comments and untouched lines kept byte for byte, one package a line,
 * idempotent renewals, placement before a rule that would decide first, and
 * an invalid result refused. Each result is loaded and evaluated as the gate would.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluate, validatePolicyDocument, type LoadedPolicy, type VerificationOutcome } from '../../src/policy';
import { allowUnsigned, trustIdentity, type AllowRequest } from '../../src/policy/edit';
import { refPatternOf } from '../../src/policy/identity-pin';
import { diffLines, formatDiff, keepUntouchedLines } from '../../src/policy/line-diff';
import { ErrorCodes } from '../../src/errors';
import type { SignerIdentity } from '../../src/verify/types';

const NOW = new Date('2026-12-02T12:00:00Z');
const ISSUER = 'https://token.actions.githubusercontent.com';

const POLICY = `# Our trust policy: reviewed by the platform team.
version: 1
default: { require: provenance }   # everything else needs provenance
rules:
  # acme's own packages
  - packages: ["@acme/*"]
    require: provenance
    identity:
      issuer: ${ISSUER}
      repository: https://github.com/acme/*      # any acme repository

  # legacy, tracked in ACME-1
  - packages:
      - "left-pad"
      - "zzz"
    require: none
    reason: "legacy"
    expires: "2027-01-01"
sources:
  git:
    - { package: "@acme/build-tools", repository: "https://github.com/acme/build-tools" }
`;

function allow(text: string, request: Partial<AllowRequest> & { selector: string }) {
  return allowUnsigned(text, 'sigstore-policy.yml', { reason: 'legacy', expires: '2027-01-01', today: '2026-12-02', ...request }, NOW);
}

function load(text: string): LoadedPolicy {
  const { model, problems } = validatePolicyDocument(parse(text), 'sigstore-policy.yml');
  expect(problems.filter((problem) => problem.severity === 'error')).toEqual([]);
  return { model: model!, digest: 'test', warnings: [] };
}

const unsigned: VerificationOutcome = { status: 'unsigned' };

function changedLines(before: string, after: string): string[] {
  return diffLines(before, after)
    .filter((line) => line.kind !== 'same')
    .map((line) => `${line.kind === 'add' ? '+' : '-'}${line.text}`);
}

describe('policy allow', () => {
  it('adds a package to the exception with the same terms, sorted, keeping every other line byte for byte', () => {
    const edit = allow(POLICY, { selector: 'plain' });
    expect(edit).toMatchObject({ changed: true, ruleIndex: 1, notes: [] });
    expect(edit.summary).toBe('plain: added to rules[1] (left-pad, zzz)');
    expect(changedLines(POLICY, edit.text)).toEqual(['+      - "plain"']);
    expect(edit.text).toContain('      - "left-pad"\n      - "plain"\n      - "zzz"\n');
    expect(evaluate(load(edit.text), { name: 'plain', version: '1.0.0' }, unsigned, { now: NOW }).decision).toBe('allow');
  });

  it('gives a package with other terms a rule of its own, one package a line, with a comment', () => {
    const edit = allow(POLICY, { selector: 'plain', reason: 'no provenance upstream: ACME-9', expires: '2027-03-31' });
    expect(edit.ruleIndex).toBe(2);
    expect(changedLines(POLICY, edit.text)).toEqual([
      '+',
      '+  # Allowed without provenance by `yarn sigstore policy allow` on 2026-12-02.',
      '+  - packages:',
      '+      - "plain"',
      '+    require: none',
      '+    reason: "no provenance upstream: ACME-9"',
      '+    expires: "2027-03-31"',
    ]);
    const verdict = evaluate(load(edit.text), { name: 'plain', version: '1.0.0' }, unsigned, { now: NOW });
    expect(verdict).toMatchObject({ decision: 'allow', rule: { index: 2 } });
    expect(evaluate(load(edit.text), { name: 'plain', version: '1.0.0' }, unsigned, { now: new Date('2027-04-01T00:00:00Z') }).decision).toBe('deny');
  });

  it('is idempotent: the same request twice changes nothing the second time', () => {
    const once = allow(POLICY, { selector: 'plain', reason: 'other', expires: '2027-02-01' });
    const twice = allow(once.text, { selector: 'plain', reason: 'other', expires: '2027-02-01' });
    expect(twice.changed).toBe(false);
    expect(twice.text).toBe(once.text);
    expect(twice.summary).toBe('plain is already allowed without provenance until 2027-02-01 by rules[2] (plain)');
  });

  it('renews an exception of its own in place: only the reason and expiry lines change', () => {
    const once = allow(POLICY, { selector: 'plain', reason: 'other', expires: '2027-02-01' });
    const renewed = allow(once.text, { selector: 'plain', reason: 'still no provenance, ACME-10', expires: '2027-06-30' });
    expect(renewed.summary).toBe('plain: updated rules[2] (plain)');
    expect(changedLines(once.text, renewed.text)).toEqual(['-    reason: "other"', '-    expires: "2027-02-01"', '+    reason: "still no provenance, ACME-10"', '+    expires: "2027-06-30"']);
  });

  it('renews an expired exception, and takes a package out of a shared one whose terms differ', () => {
    const expired = POLICY.replace('expires: "2027-01-01"', 'expires: "2026-01-01"');
    const edit = allow(expired, { selector: 'left-pad', expires: '2027-05-01' });
    expect(edit.notes).toEqual(['took left-pad out of rules[1] (left-pad, zzz)']);
    const policy = load(edit.text);
    expect(policy.model.rules[1].packages).toEqual(['zzz']);
    expect(evaluate(policy, { name: 'left-pad', version: '1.3.0' }, unsigned, { now: NOW }).decision).toBe('allow');
    expect(evaluate(policy, { name: 'zzz', version: '1.0.0' }, unsigned, { now: NOW }).decision).toBe('deny');
  });

  it('places the exception before an earlier rule that would decide first, and says so; the strict rule stays', () => {
    const edit = allow(POLICY, { selector: '@acme/old', reason: 'not built in CI yet' });
    expect(edit.ruleIndex).toBe(0);
    expect(edit.notes).toEqual(['rules[0] (@acme/*) also selects @acme/old and would decide first: the rule for it goes before it']);
    // The comment that headed the first rule stays with that rule.
    expect(edit.text).toMatch(/expires: "2027-01-01"\n\n {2}# acme's own packages\n {2}- packages: \["@acme\/\*"\]/);
    const policy = load(edit.text);
    expect(evaluate(policy, { name: '@acme/old', version: '1.0.0' }, unsigned, { now: NOW })).toMatchObject({ decision: 'allow', rule: { index: 0 } });
    expect(evaluate(policy, { name: '@acme/old', version: '1.0.0' }, unsigned, { now: new Date('2027-01-02T00:00:00Z') })).toMatchObject({ decision: 'deny', rule: { index: 1 } });
  });

  it('places a ranged exception only before rules whose ranges meet it', () => {
    const text = 'version: 1\ndefault:\n  require: provenance\nrules:\n  - packages: ["lib@<2"]\n    require: provenance\n';
    expect(allow(text, { selector: 'lib@^2.0.0' })).toMatchObject({ ruleIndex: 1, notes: [] });
    expect(allow(text, { selector: 'lib@>=1.5.0' })).toMatchObject({ ruleIndex: 0 });
  });

  it('creates the rules list when the policy has none, or an empty flow list', () => {
    for (const text of ['version: 1\ndefault:\n  require: provenance\n', 'version: 1\ndefault:\n  require: provenance\nrules: []\n']) {
      const edit = allow(text, { selector: 'plain' });
      expect(edit.text).toContain('rules:\n  # Allowed without provenance');
      expect(load(edit.text).model.rules.map((rule) => rule.packages)).toEqual([['plain']]);
    }
  });

  it('refuses an edit whose result would be invalid, and a policy that is invalid already', () => {
    expect(() => allow(POLICY, { selector: 'plain', reason: '' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_INVALID, message: expect.stringContaining('reason: expected a non-empty string') }));
    expect(() => allow(POLICY, { selector: 'plain', expires: '2027-02-30' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_INVALID, message: expect.stringContaining('would be invalid after this edit') }));
    expect(() => allow(POLICY.replace('version: 1', 'version: 2'), { selector: 'plain' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_INVALID, message: expect.stringContaining('fix it first') }));
    expect(() => allow('version: 1\nversion: 1\n', { selector: 'plain' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_INVALID }));
  });

  it('refuses a wildcard, a past expiry, and a JSON-style policy (edited by hand)', () => {
    expect(() => allow(POLICY, { selector: '@acme/*' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_EDIT_REFUSED }));
    expect(() => allow(POLICY, { selector: 'plain', expires: '2026-12-01' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_EDIT_REFUSED, message: expect.stringContaining('already past') }));
    const json = JSON.stringify({ version: 1, default: { require: 'provenance' } }, null, 2);
    expect(() => allow(json, { selector: 'plain' })).toThrow(expect.objectContaining({ code: ErrorCodes.POLICY_NOT_EDITABLE }));
  });
});

const PIN = { issuer: ISSUER, repository: 'https://github.com/z/zzz', repositoryId: '12', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v{version}' };

function signedBy(repository: string, ref = 'refs/tags/v1.2.3'): VerificationOutcome {
  const identity: SignerIdentity = {
    san: `${repository}/.github/workflows/release.yml@${ref}`,
    sanType: 'uri',
    issuer: ISSUER,
    sourceRepositoryUri: repository,
    sourceRepositoryIdentifier: '12',
    sourceRepositoryRef: ref,
    buildConfigUri: `${repository}/.github/workflows/release.yml@${ref}`,
  };
  return { status: 'verified', result: { subject: { name: 'zzz', version: '1.2.3', sha512Hex: '' }, provenanceCount: 1, provenance: { kind: 'provenance', identity, predicateType: 'https://slsa.dev/provenance/v1', mediaType: '', verifiedTime: NOW, timeSource: 'tlog-set', bundleDigest: '' } } };
}

describe('policy trust', () => {
  const trust = (text: string, name = 'zzz') => trustIdentity(text, 'sigstore-policy.yml', { name, version: '1.2.3', pin: PIN, today: '2026-12-02' }, NOW);

  it('moves the package out of an exception into a rule pinned to its verified identity', () => {
    const edit = trust(POLICY);
    expect(edit.notes).toEqual(['took zzz out of rules[1] (left-pad, zzz)']);
    expect(edit.text).toContain(
      [
        '  # Built from https://github.com/z/zzz by the workflow .github/workflows/release.yml: the verified identity of zzz@1.2.3, written by `yarn sigstore policy trust` on 2026-12-02.',
        '  - packages:',
        '      - "zzz"',
        '    require: provenance',
        '    identity:',
        `      issuer: "${ISSUER}"`,
        '      repository: "https://github.com/z/zzz"',
        '      repositoryId: "12"',
        '      workflow: ".github/workflows/release.yml"',
        '      ref: "refs/tags/v{version}"',
      ].join('\n'),
    );
    expect(edit.text).toContain('      repository: https://github.com/acme/*      # any acme repository\n');
    const policy = load(edit.text);
    expect(evaluate(policy, { name: 'zzz', version: '1.2.3' }, signedBy('https://github.com/z/zzz'), { now: NOW }).decision).toBe('allow');
    expect(evaluate(policy, { name: 'zzz', version: '1.2.4' }, signedBy('https://github.com/evil/zzz'), { now: NOW }).decision).toBe('deny');
    expect(evaluate(policy, { name: 'zzz', version: '1.2.4' }, signedBy('https://github.com/z/zzz', 'refs/heads/main'), { now: NOW }).decision).toBe('deny');
    // Each version from its own tag: 1.2.4 built from the tag of 1.2.3 is refused.
    expect(evaluate(policy, { name: 'zzz', version: '1.2.4' }, signedBy('https://github.com/z/zzz', 'refs/tags/v1.2.3'), { now: NOW }).decision).toBe('deny');
    expect(evaluate(policy, { name: 'zzz', version: '1.2.4' }, signedBy('https://github.com/z/zzz', 'refs/tags/v1.2.4'), { now: NOW }).decision).toBe('allow');
  });

  it('rewrites an exception of its own in place (its comment stays), and is idempotent', () => {
    const own = 'version: 1\ndefault:\n  require: provenance\nrules:\n  # zzz had no provenance\n  - packages: ["zzz"]\n    require: none\n    reason: "none yet"\n    expires: "2027-01-01"\n';
    const edit = trust(own);
    expect(edit.summary).toBe('zzz: updated rules[0] (zzz)');
    expect(edit.text).toContain('  # zzz had no provenance\n  - packages: ["zzz"]\n    require: provenance\n    identity:\n');
    expect(edit.text).not.toContain('reason');
    expect(edit.text).not.toContain('expires');
    expect(trust(edit.text)).toMatchObject({ changed: false, summary: 'zzz is already trusted with this identity by rules[0] (zzz)' });
  });

  it('adds a package to a rule pinned to the same identity', () => {
    const first = trust(POLICY);
    const second = trust(first.text, 'aaa');
    expect(second.summary).toBe('aaa: added to rules[2] (zzz)');
    expect(second.text).toContain('  - packages:\n      - "aaa"\n      - "zzz"\n');
  });

  it('writes the rule before an earlier rule that selects the package, so that it decides', () => {
    const edit = trust(POLICY, '@acme/forked');
    expect(edit.ruleIndex).toBe(0);
    expect(edit.notes[0]).toContain('rules[0] (@acme/*) also selects @acme/forked');
  });
});

describe('ref patterns', () => {
  it.each([
    ['refs/tags/v1.2.3', '1.2.3', 'refs/tags/v{version}'],
    ['refs/tags/1.2.3', '1.2.3', 'refs/tags/{version}'],
    ['refs/tags/widget@1.2.3', '1.2.3', 'refs/tags/widget@{version}'],
    ['refs/tags/release-candidate', '1.2.3', 'refs/tags/*'],
    ['refs/heads/main', '1.2.3', 'refs/heads/main'],
  ])('%s of %s -> %s', (ref, version, pattern) => {
    expect(refPatternOf(ref, version)).toBe(pattern);
  });
});

describe('line diff', () => {
  it('keeps the bytes of the lines an edit did not touch, even where the YAML library reformats them', () => {
    const original = 'a: [ 1 ]    # wide\nb: 2\n';
    const reformatted = 'a: [1] # wide\nb: 2\n';
    expect(keepUntouchedLines(original, reformatted, 'a: [1] # wide\nb: 3\n')).toBe('a: [ 1 ]    # wide\nb: 3\n');
  });

  it('prints the changed lines with context and their line number', () => {
    expect(formatDiff(diffLines('a\nb\nc\nd\ne\nf\n', 'a\nb\nc\nX\ne\nf\n'), 1)).toEqual(['@@ line 3', '  c', '- d', '+ X', '  e']);
  });
});
