/**
 * The policy `yarn sigstore policy init` drafts: valid, and under it the very
 * identities it was drafted from pass while a changed one fails. Identities
 * are the real certificate claims read from the fixtures' bundles.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluate, validatePolicyDocument, type LoadedPolicy, type VerificationOutcome } from '../../src/policy';
import { createTrustContext } from '../../src/trust';
import { verifyPackageAttestations } from '../../src/verify';
import type { SignerIdentity } from '../../src/verify/types';
import { draftPolicy, type DraftEntry } from '../../src/yarn/commands/policy-draft';
import { sha512Hex } from '../../testkit/tarball';
import { INSTALLABLE_FIXTURES, loadFixturePackage, productionNpmKeys, productionTrustedRoot } from '../../testkit/fixtures';

const trust = createTrustContext({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys(), origin: 'test' });

function realIdentity(name: string, version: string): SignerIdentity {
  const fixture = loadFixturePackage(name, version);
  return verifyPackageAttestations(fixture.attestations, { name, version, sha512Hex: sha512Hex(fixture.tarball) }, trust).provenance!.identity;
}

function load(text: string): LoadedPolicy {
  const { model, problems } = validatePolicyDocument(parse(text), 'sigstore-policy.yml');
  expect(problems).toEqual([]);
  return { model: model!, digest: 'test', warnings: [] };
}

function provenance(identity: SignerIdentity): VerificationOutcome {
  return { status: 'verified', result: { subject: { name: 'x', version: '1', sha512Hex: '' }, provenanceCount: 1, provenance: { kind: 'provenance', identity, predicateType: 'https://slsa.dev/provenance/v1', mediaType: '', verifiedTime: new Date(), timeSource: 'tlog-set', bundleDigest: '' } } };
}

describe('draftPolicy', () => {
  const [gundam, goggles] = INSTALLABLE_FIXTURES.map((fixture) => ({ ...fixture, identity: realIdentity(fixture.name, fixture.version) }));
  const entries: DraftEntry[] = [
    { name: gundam.name, version: gundam.version, kind: 'provenance', identity: gundam.identity },
    { name: goggles.name, version: goggles.version, kind: 'provenance', identity: goggles.identity },
    { name: 'split', version: '1.0.0', kind: 'provenance', identity: gundam.identity },
    { name: 'split', version: '2.0.0', kind: 'provenance', identity: goggles.identity },
    { name: 'published-only', version: '3.0.0', kind: 'publish' },
    { name: 'plain', version: '1.0.0', kind: 'unsigned' },
  ];
  const text = draftPolicy({ entries, sources: new Map([['tarball', new Map([['some-tool', new Set(['https://example.com/some-tool-1.0.0.tgz'])]])], ['git', new Map()]]), reviewBy: '2030-01-31', generatedAt: '2029-11-02' });
  const policy = load(text);
  const now = { now: new Date('2029-11-03T00:00:00Z') };

  it('pins each identity to repository, repository ID and workflow, under its owner', () => {
    expect(text).toContain('# ---- github.com/ramonpetgrave64 ----');
    expect(text).toContain('# ---- github.com/trishankatdatadog ----');
    expect(text).toContain(`repositoryId: "${gundam.identity.sourceRepositoryIdentifier}"`);
    expect(text).toContain('workflow: ".github/workflows/npm-publish.yml"');
    // The same identity, but split@1.0.0 was not built from its own tag: a rule of its own (see below).
    expect(text).toContain('  - packages:\n      - "split@1.0.0"\n    require: provenance');
    expect(text).toContain('sources:\n  tarball:\n    - { package: "some-tool", url: "https://example.com/some-tool-1.0.0.tgz" }');
    expect(text).not.toContain('git:');
  });

  it('writes one package a line, sorted, and no flow list anywhere (a reviewable diff)', () => {
    const many = draftPolicy({ entries: ['zeta', 'alpha', '@scope/mid', 'beta'].map((name) => ({ name, version: '1.0.0', kind: 'unsigned' as const })), sources: new Map([['git', new Map([['z-git', new Set(['https://github.com/acme/z-git.git#commit=0123456789abcdef0123456789abcdef01234567'])], ['a-git', new Set(['github:acme/a-git'])]])]]), reviewBy: '2030-01-31', generatedAt: '2029-11-02' });
    expect(many).toContain('  - packages:\n      - "@scope/mid"\n      - "alpha"\n      - "beta"\n      - "zeta"\n    require: none');
    expect(many).toContain('  git:\n    - { package: "a-git", repository: "https://github.com/acme/a-git" }\n    - { package: "z-git", repository: "https://github.com/acme/z-git", commit: "0123456789abcdef0123456789abcdef01234567" }');
    expect(many).not.toMatch(/\[[^\]]/);
    expect(load(many).model.rules[0].packages).toEqual(['@scope/mid', 'alpha', 'beta', 'zeta']);
  });

  it('allows what it was drafted from and nothing built elsewhere', () => {
    expect(evaluate(policy, { name: gundam.name, version: gundam.version }, provenance(gundam.identity), now).decision).toBe('allow');
    expect(evaluate(policy, { name: 'split', version: '2.0.0' }, provenance(goggles.identity), now).decision).toBe('allow');
    expect(evaluate(policy, { name: 'split', version: '1.0.0' }, provenance(goggles.identity), now).decision).toBe('deny');
    const moved = { ...gundam.identity, sourceRepositoryIdentifier: '1' };
    expect(evaluate(policy, { name: gundam.name, version: gundam.version }, provenance(moved), now).mismatches.map((m) => m.field)).toEqual(['identity.repositoryId']);
    expect(evaluate(policy, { name: 'published-only', version: '3.0.0' }, { status: 'unsigned' }, now).decision).toBe('deny');
  });

  it('proposes ref: refs/tags/v{version} for a package every verified version of which was built from its own tag', () => {
    const gundamRule = policy.model.rules.find((rule) => rule.packages.includes(gundam.name));
    expect(gundam.identity.sourceRepositoryRef).toBe(`refs/tags/v${gundam.version}`);
    expect(gundamRule?.identity?.ref).toEqual(['refs/tags/v{version}']);
    // split's versions were built from other versions' tags: no ref proposed.
    expect(policy.model.rules.find((rule) => rule.packages.includes('split@1.0.0'))?.identity?.ref).toBeUndefined();
    // The same signer publishing 1.0.2 from the tag of 1.0.1 is refused.
    const verdict = evaluate(policy, { name: gundam.name, version: '1.0.2' }, provenance(gundam.identity), now);
    expect(verdict.mismatches).toEqual([{ field: 'identity.ref', expected: 'refs/tags/v1.0.2', found: 'refs/tags/v1.0.1' }]);
  });

  it('proposes refs/tags/{version} for tags without a v, and nothing when versions disagree', () => {
    const tagged = (version: string, ref: string): DraftEntry => ({ name: 'plain-tags', version, kind: 'provenance', identity: { ...gundam.identity, sourceRepositoryRef: ref } });
    const draft = (list: DraftEntry[]) => load(draftPolicy({ entries: list, sources: new Map(), reviewBy: '2030-01-31', generatedAt: '2029-11-02' })).model.rules[0].identity?.ref;
    expect(draft([tagged('1.0.0', 'refs/tags/1.0.0'), tagged('2.0.0-rc.1', 'refs/tags/2.0.0-rc.1')])).toEqual(['refs/tags/{version}']);
    expect(draft([tagged('1.0.0', 'refs/tags/v1.0.0'), tagged('1.1.0', 'refs/heads/main')])).toBeUndefined();
  });

  it('lets the unsigned through until the review date, then requires provenance', () => {
    expect(evaluate(policy, { name: 'plain', version: '1.0.0' }, { status: 'unsigned' }, now).decision).toBe('allow');
    expect(evaluate(policy, { name: 'plain', version: '1.0.0' }, { status: 'unsigned' }, { now: new Date('2030-02-01T00:00:00Z') }).decision).toBe('deny');
  });
});
