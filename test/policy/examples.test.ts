/**
 * The example policies, loaded from policy-examples/ and evaluated against
 * the REAL identities of the 8 fixture packages (verified by the real core).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, validatePolicyFile, type LoadedPolicy } from '../../src/policy';
import { REPO_ROOT } from '../../testkit/fixtures';
import { verifiedFixturePackages, type RealPackage } from '../../testkit/policy-helpers';

const EXAMPLES = path.join(REPO_ROOT, 'policy-examples');
const NOW = new Date('2026-06-01T12:00:00Z');

type Expected = Record<string, 'allow' | 'deny' | 'warn'>;

const ALL_ALLOWED: Expected = {
  'sigstore@1.0.0': 'allow',
  'sigstore@2.3.1': 'allow',
  'tuf-js@1.0.0': 'allow',
  '@playwright/cli@0.1.1': 'allow',
  'gundam-visor@1.0.1': 'allow',
  '@trishankatdatadog/supreme-goggles@1.0.5': 'allow',
  '@laurentsimon/provenance-npm-test@1.0.3': 'allow',
  '@laurentsimon/provenance-npm-test@1.0.5': 'allow',
};

const CASES: Array<{ file: string; expected: Expected; denyFields?: Record<string, string[]> }> = [
  {
    file: 'organization-scope.yml',
    expected: { ...ALL_ALLOWED, 'sigstore@1.0.0': 'deny' },
    // The old certificate carries no build config (.18) nor runner (.11) claim, and was released from a tag.
    denyFields: { 'sigstore@1.0.0': ['identity.workflow', 'identity.ref', 'identity.runner'] },
  },
  {
    file: 'strict-allowlist.yml',
    expected: { ...ALL_ALLOWED, 'sigstore@1.0.0': 'deny' },
    denyFields: { 'sigstore@1.0.0': ['identity.runner'] },
  },
  {
    file: 'gradual-adoption.yml',
    expected: {
      ...ALL_ALLOWED,
      'sigstore@2.3.1': 'warn',
      '@laurentsimon/provenance-npm-test@1.0.3': 'warn',
      '@laurentsimon/provenance-npm-test@1.0.5': 'warn',
    },
  },
  {
    file: 'monorepo/sigstore-policy.yml',
    expected: { ...ALL_ALLOWED, 'sigstore@2.3.1': 'deny' },
    denyFields: { 'sigstore@2.3.1': ['identity.ref'] },
  },
  {
    file: 'pin-repository-id.yml',
    expected: { ...ALL_ALLOWED, 'sigstore@1.0.0': 'deny' },
    denyFields: { 'sigstore@1.0.0': ['identity.repositoryId'] },
  },
  { file: 'gitlab-and-sources.yml', expected: ALL_ALLOWED },
];

describe('every file in policy-examples/', () => {
  const files = readdirSync(EXAMPLES, { recursive: true, encoding: 'utf8' }).filter((file) => /\.ya?ml$/.test(file));

  it('is one of the cases above, so each is evaluated and not only parsed', () => {
    expect(files.sort()).toEqual(CASES.map((c) => c.file).concat('monorepo/org-baseline.yml').sort());
  });

  it.each(files)('%s loads without a problem', async (file) => {
    expect((await validatePolicyFile(path.join(EXAMPLES, file))).problems).toEqual([]);
  });
});

let packages: RealPackage[];
beforeAll(() => {
  packages = verifiedFixturePackages();
  expect(packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(Object.keys(ALL_ALLOWED).sort());
});

describe.each(CASES)('policy-examples/$file', ({ file, expected, denyFields }) => {
  let policy: LoadedPolicy;
  beforeAll(async () => {
    const check = await validatePolicyFile(path.join(EXAMPLES, file));
    expect(check.problems).toEqual([]);
    policy = check.policy!;
  });

  it('gives the expected verdict for every real fixture package', () => {
    const verdicts = Object.fromEntries(packages.map((pkg) => [`${pkg.name}@${pkg.version}`, evaluate(policy, pkg, pkg.outcome, { now: NOW }).decision]));
    expect(verdicts).toEqual(expected);
  });

  it('names every mismatching field of a deny, and the rule', () => {
    for (const [id, fields] of Object.entries(denyFields ?? {})) {
      const pkg = packages.find((p) => `${p.name}@${p.version}` === id)!;
      const verdict = evaluate(policy, pkg, pkg.outcome, { now: NOW });
      expect(verdict.mismatches.map((m) => m.field).sort()).toEqual([...fields].sort());
      expect(verdict.message).toContain(id);
      expect(verdict.message).toContain(verdict.rule!.description);
    }
  });
});

describe('reusable workflow (@laurentsimon/provenance-npm-test@1.0.5)', () => {
  it('is matched on signerWorkflow and workflow separately, and the two differ', async () => {
    const check = await validatePolicyFile(path.join(EXAMPLES, 'monorepo/sigstore-policy.yml'));
    const pkg = packages.find((p) => p.name === '@laurentsimon/provenance-npm-test' && p.version === '1.0.5')!;
    const verdict = evaluate(check.policy!, pkg, pkg.outcome, { now: NOW });
    expect(verdict).toMatchObject({ decision: 'allow', reason: 'verified', rule: { index: 0 } });
    // The 1.0.3 rule's workflow is the one that signed 1.0.3, not 1.0.5's build config.
    const older = { ...pkg, version: '1.0.4' };
    const refused = evaluate(check.policy!, older, pkg.outcome, { now: NOW });
    expect(refused.decision).toBe('deny');
    expect(refused.mismatches).toEqual([{ field: 'identity.workflow', expected: '.github/workflows/release.yml', found: '.github/workflows/release-slsa3.yml' }]);
  });
});

describe('strict-allowlist expiry', () => {
  it('lets sigstore@1.0.0 through before its exception expires, not after', async () => {
    const { policy } = await validatePolicyFile(path.join(EXAMPLES, 'strict-allowlist.yml'));
    const pkg = packages.find((p) => p.name === 'sigstore' && p.version === '1.0.0')!;
    expect(evaluate(policy!, pkg, pkg.outcome, { now: new Date('2025-01-31T23:59:59Z') }).decision).toBe('allow');
    expect(evaluate(policy!, pkg, pkg.outcome, { now: new Date('2025-02-01T00:00:00Z') }).decision).toBe('deny');
  });
});
