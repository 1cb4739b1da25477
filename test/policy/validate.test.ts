/** Validation: every key, every error with its path and what was expected; warnings for shadowed rules. */
import { describe, expect, it } from 'vitest';
import { validatePolicyDocument } from '../../src/policy';
import { errorsOf, generatedRules, policyOf } from '../../testkit/policy-helpers';
import { selectorCovers } from '../../src/policy/packages';
import { prng } from '../../testkit/mutate';

const GITHUB = 'https://token.actions.githubusercontent.com';
const minimal = { version: 1, default: { require: 'none' } };
const withRule = (rule: Record<string, unknown>) => ({ ...minimal, rules: [rule] });
const paths = (document: unknown) => errorsOf(document).map((e) => e.path);

describe('a valid policy', () => {
  it('accepts every key and builds the model', () => {
    const policy = policyOf({
      version: 1,
      mode: 'warn',
      allowLooseningOverrides: true,
      default: { require: 'provenance', mode: 'enforce', pin: false },
      rules: [
        {
          packages: ['@acme/*', 'acme-cli@^2'],
          require: 'provenance',
          reason: 'our own packages',
          pin: true,
          identity: {
            issuer: GITHUB,
            repository: ['github.com/acme/*', 'https://github.com/acme-labs/tool'],
            workflow: '.github/workflows/release.yml',
            signerWorkflow: 'https://github.com/acme/shared/.github/workflows/publish.yml@refs/tags/v*',
            ref: 'refs/tags/v*',
            san: 'https://github.com/acme/*/.github/workflows/release.yml@refs/tags/v*',
            repositoryId: 1001,
            ownerId: '2002',
            runner: 'github-hosted',
            trigger: ['push', 'release'],
            predicateType: 'https://slsa.dev/provenance/v1',
          },
        },
        { packages: ['left-pad@<2'], require: 'none', reason: 'no provenance upstream', expires: '2027-06-30' },
        { packages: ['odd-format'], verify: 'skip', reason: 'new bundle format, verifier update pending', expires: '2027-01-31' },
        { packages: ['legacy'], require: 'publish', mode: 'off', expires: '2027-01-31' },
      ],
      sources: { git: [{ package: '@acme/fork', repository: 'https://github.com/acme/fork.git' }], tarball: [{ package: 'vendored', url: 'https://cdn.example/vendored-*.tgz' }], exec: [], local: ['@acme/*'] },
      extends: './baseline.yml',
    });
    const { model } = policy;
    expect(model.mode).toBe('warn');
    expect(model.allowLooseningOverrides).toBe(true);
    expect(model.extends).toBe('./baseline.yml');
    expect(model.default).toMatchObject({ index: -1, packages: ['*'], require: 'provenance', mode: 'enforce', pin: false });
    expect(model.rules[0].identity).toEqual({
      issuer: GITHUB,
      repository: ['https://github.com/acme/*', 'https://github.com/acme-labs/tool'],
      workflow: ['.github/workflows/release.yml'],
      signerWorkflow: ['https://github.com/acme/shared/.github/workflows/publish.yml@refs/tags/v*'],
      ref: ['refs/tags/v*'],
      san: ['https://github.com/acme/*/.github/workflows/release.yml@refs/tags/v*'],
      repositoryId: '1001',
      ownerId: '2002',
      runner: 'github-hosted',
      trigger: ['push', 'release'],
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(model.rules[0]).toMatchObject({ index: 0, pin: true, reason: 'our own packages' });
    expect(model.rules[1]).toMatchObject({ require: 'none', expires: '2027-06-30', pin: true });
    expect(model.rules[2]).toMatchObject({ require: 'none', verify: 'skip' });
    expect(model.rules[3]).toMatchObject({ require: 'publish', mode: 'off' });
    expect(model.sources.git.map((s) => [s.selector.source, s.repository])).toEqual([['@acme/fork', 'github.com/acme/fork']]);
    expect(model.sources.tarball.map((s) => s.url)).toEqual(['https://cdn.example/vendored-*.tgz']);
    expect(model.sources.local.map((s) => s.selector.source)).toEqual(['@acme/*']);
    expect(policy.warnings).toEqual([]);
  });

  it('defaults mode to enforce, allowLooseningOverrides to false, sources to nothing', () => {
    const { model } = policyOf(minimal);
    expect(model).toMatchObject({ mode: 'enforce', allowLooseningOverrides: false, rules: [] });
    expect(model.sources).toEqual({ git: [], tarball: [], exec: [], local: [] });
  });

  it('accepts a date a YAML 1.1 loader turned into a Date', () => {
    const { model } = policyOf(withRule({ packages: ['x'], require: 'none', expires: new Date('2027-06-30T00:00:00Z') }));
    expect(model.rules[0].expires).toBe('2027-06-30');
  });
});

describe('validation errors name the path and what was expected', () => {
  it.each([
    ['a document that is not a mapping', 'nope', ''],
    ['a wrong version', { ...minimal, version: 2 }, 'version'],
    ['a missing version', { default: { require: 'none' } }, 'version'],
    ['an unknown top-level key', { ...minimal, rule: [] }, 'rule'],
    ['a bad mode', { ...minimal, mode: 'strict' }, 'mode'],
    ['a missing default', { version: 1 }, 'default'],
    ['packages on default', { version: 1, default: { require: 'none', packages: ['*'] } }, 'default.packages'],
    ['expires on default', { version: 1, default: { require: 'none', expires: '2027-01-01' } }, 'default.expires'],
    ['rules not a list', { ...minimal, rules: {} }, 'rules'],
    ['a rule that is not a mapping', { ...minimal, rules: ['x'] }, 'rules[0]'],
    ['an unknown rule key', withRule({ packages: ['x'], require: 'none', because: 'y' }), 'rules[0].because'],
    ['a missing require', withRule({ packages: ['x'] }), 'rules[0].require'],
    ['a bad require', withRule({ packages: ['x'], require: 'signed' }), 'rules[0].require'],
    ['empty packages', withRule({ packages: [], require: 'none' }), 'rules[0].packages'],
    ['packages not a list', withRule({ packages: 'x', require: 'none' }), 'rules[0].packages'],
    ['an invalid package glob', withRule({ packages: ['ok', 'Not A Name'], require: 'none' }), 'rules[0].packages[1]'],
    ['a negated package glob', withRule({ packages: ['!x'], require: 'none' }), 'rules[0].packages[0]'],
    ['a brace package glob', withRule({ packages: ['{a,b}'], require: 'none' }), 'rules[0].packages[0]'],
    ['an invalid range', withRule({ packages: ['x@not-a-range'], require: 'none' }), 'rules[0].packages[0]'],
    ['an invalid date', withRule({ packages: ['x'], require: 'none', expires: '2027-02-30' }), 'rules[0].expires'],
    ['a date in another format', withRule({ packages: ['x'], require: 'none', expires: '30/06/2027' }), 'rules[0].expires'],
    ['a bad rule mode', withRule({ packages: ['x'], require: 'none', mode: 'loud' }), 'rules[0].mode'],
    ['an empty reason', withRule({ packages: ['x'], require: 'none', reason: ' ' }), 'rules[0].reason'],
    ['an empty name', withRule({ packages: ['x'], require: 'none', name: '' }), 'rules[0].name'],
    ['a name that is not text', withRule({ packages: ['x'], require: 'none', name: 7 }), 'rules[0].name'],
    ['a non-boolean pin', withRule({ packages: ['x'], require: 'none', pin: 'no' }), 'rules[0].pin'],
    ['a bad verify value', withRule({ packages: ['x'], require: 'none', verify: 'never' }), 'rules[0].verify'],
    ['identity on a publish rule', withRule({ packages: ['x'], require: 'publish', identity: { issuer: GITHUB } }), 'rules[0].identity'],
    ['identity on a none rule', withRule({ packages: ['x'], require: 'none', identity: { issuer: GITHUB } }), 'rules[0].identity'],
    ['an empty identity', withRule({ packages: ['x'], require: 'provenance', identity: {} }), 'rules[0].identity'],
    ['an unknown identity key', withRule({ packages: ['x'], require: 'provenance', identity: { repo: 'x' } }), 'rules[0].identity.repo'],
    ['a non-string issuer', withRule({ packages: ['x'], require: 'provenance', identity: { issuer: 3 } }), 'rules[0].identity.issuer'],
    ['a repository without host', withRule({ packages: ['x'], require: 'provenance', identity: { repository: 'acme/repo' } }), 'rules[0].identity.repository'],
    ['a bad repository in a list', withRule({ packages: ['x'], require: 'provenance', identity: { repository: ['github.com/a/b', 7] } }), 'rules[0].identity.repository[1]'],
    ['an empty glob list', withRule({ packages: ['x'], require: 'provenance', identity: { ref: [] } }), 'rules[0].identity.ref'],
    ['an empty ref glob', withRule({ packages: ['x'], require: 'provenance', identity: { ref: '' } }), 'rules[0].identity.ref'],
    ['a `***` glob', withRule({ packages: ['x'], require: 'provenance', identity: { ref: 'refs/***' } }), 'rules[0].identity.ref'],
    ['a workflow given as a URI', withRule({ packages: ['x'], require: 'provenance', identity: { workflow: 'https://github.com/a/b/.github/workflows/r.yml@refs/heads/main' } }), 'rules[0].identity.workflow'],
    ['a signerWorkflow without host', withRule({ packages: ['x'], require: 'provenance', identity: { signerWorkflow: '.github/workflows/r.yml' } }), 'rules[0].identity.signerWorkflow'],
    ['a san that is not a string', withRule({ packages: ['x'], require: 'provenance', identity: { san: { uri: 'x' } } }), 'rules[0].identity.san'],
    ['a repositoryId with spaces', withRule({ packages: ['x'], require: 'provenance', identity: { repositoryId: '1 2' } }), 'rules[0].identity.repositoryId'],
    ['a negative ownerId', withRule({ packages: ['x'], require: 'provenance', identity: { ownerId: -1 } }), 'rules[0].identity.ownerId'],
    ['a bad runner', withRule({ packages: ['x'], require: 'provenance', identity: { runner: 'cloud' } }), 'rules[0].identity.runner'],
    ['a trigger glob', withRule({ packages: ['x'], require: 'provenance', identity: { trigger: ['push*'] } }), 'rules[0].identity.trigger[0]'],
    ['a non-string predicateType', withRule({ packages: ['x'], require: 'provenance', identity: { predicateType: true } }), 'rules[0].identity.predicateType'],
    ['sources not a mapping', { ...minimal, sources: ['git'] }, 'sources'],
    ['an unknown source kind', { ...minimal, sources: { svn: ['x'] } }, 'sources.svn'],
    ['a source list that is not a list', { ...minimal, sources: { git: 'x' } }, 'sources.git'],
    ['a source entry with a range', { ...minimal, sources: { exec: ['x@1'] } }, 'sources.exec[0]'],
    ['a git source allowed by name alone (the old form)', { ...minimal, sources: { git: ['x'] } }, 'sources.git[0]'],
    ['a tarball source allowed by name alone (the old form)', { ...minimal, sources: { tarball: ['x'] } }, 'sources.tarball[0]'],
    ['a git source without its repository', { ...minimal, sources: { git: [{ package: 'x' }] } }, 'sources.git[0].repository'],
    ['a git source with a short commit', { ...minimal, sources: { git: [{ package: 'x', repository: 'github:a/x', commit: 'abc123' }] } }, 'sources.git[0].commit'],
    ['a tarball source with a URL of no host', { ...minimal, sources: { tarball: [{ package: 'x', url: 'https://*/x.tgz' }] } }, 'sources.tarball[0].url'],
    ['a git source with a package range', { ...minimal, sources: { git: [{ package: 'x@1', repository: 'github:a/x' }] } }, 'sources.git[0].package'],
    ['a bad extends', { ...minimal, extends: 3 }, 'extends'],
    ['a non-boolean allowLooseningOverrides', { ...minimal, allowLooseningOverrides: 'yes' }, 'allowLooseningOverrides'],
  ])('%s', (_title, document, path) => {
    const errors = errorsOf(document);
    expect(errors.map((e) => e.path)).toContain(path);
    expect(errors.every((e) => e.expected.length > 0)).toBe(true);
  });

  it('reports the file and what was found', () => {
    const { problems } = validatePolicyDocument(withRule({ packages: ['x'], require: 'signed' }), '/repo/sigstore-policy.yml');
    expect(problems).toEqual([{ severity: 'error', file: '/repo/sigstore-policy.yml', path: 'rules[0].require', expected: 'one of provenance | publish | none', found: '"signed"' }]);
  });

  it('reports every problem, not just the first', () => {
    expect(paths({ version: 3, mode: 'x', default: { require: 'y' }, rules: [{ packages: [] , require: 'none' }] })).toEqual(['version', 'mode', 'default.require', 'rules[0].packages']);
  });
});

describe('rule names', () => {
  it('keeps a rule\'s name, and refuses two rules of one name (messages name a rule by it)', () => {
    const named = { ...minimal, default: { require: 'provenance', name: 'rest' }, rules: [{ name: 'react', packages: ['react'], require: 'provenance' }] };
    expect(errorsOf(named)).toEqual([]);
    expect(paths({ ...named, rules: [...named.rules, { name: 'react', packages: ['vue'], require: 'provenance' }] })).toEqual(['rules[1].name']);
    expect(paths({ ...named, rules: [{ name: 'rest', packages: ['vue'], require: 'provenance' }] })).toEqual(['rules[0].name']);
  });
});

describe('expiry and verify: skip', () => {
  it('refuses an expiry on a strict rule, so nothing gets laxer by the calendar', () => {
    expect(paths(withRule({ packages: ['x'], require: 'provenance', expires: '2027-01-01' }))).toEqual(['rules[0].expires']);
    expect(paths(withRule({ packages: ['x'], require: 'publish', expires: '2027-01-01' }))).toEqual(['rules[0].expires']);
    expect(paths(withRule({ packages: ['x'], require: 'publish', mode: 'enforce', expires: '2027-01-01' }))).toEqual(['rules[0].expires']);
  });

  it('allows an expiry on a relaxing rule (require none, verify skip, mode warn or off)', () => {
    for (const rule of [
      { packages: ['x'], require: 'none', expires: '2027-01-01' },
      { packages: ['x'], verify: 'skip', reason: 'r', expires: '2027-01-01' },
      { packages: ['x'], require: 'provenance', mode: 'warn', expires: '2027-01-01' },
    ]) {
      expect(errorsOf(withRule(rule))).toEqual([]);
    }
  });

  it('requires a reason and an expiry with verify: skip, and nothing to require', () => {
    expect(paths(withRule({ packages: ['x'], verify: 'skip' }))).toEqual(['rules[0].reason', 'rules[0].expires']);
    expect(paths(withRule({ packages: ['x'], verify: 'skip', reason: 'r', expires: '2027-01-01', require: 'provenance' }))).toEqual(['rules[0].require']);
    expect(paths({ version: 1, default: { verify: 'skip', reason: 'r' } })).toContain('default.verify');
  });
});

describe('shadowed rules', () => {
  const warningsOf = (rules: unknown[]) =>
    validatePolicyDocument({ ...minimal, rules }, 'p.yml').problems.filter((p) => p.severity === 'warning').map((p) => p.path);

  it('warns about a rule an earlier broader rule shadows', () => {
    expect(warningsOf([{ packages: ['*'], require: 'provenance' }, { packages: ['left-pad'], require: 'none' }])).toEqual(['rules[1]']);
    expect(warningsOf([{ packages: ['@acme/*'], require: 'provenance' }, { packages: ['@acme/x', '@acme/y@^1'], require: 'none' }])).toEqual(['rules[1]']);
    expect(warningsOf([{ packages: ['a'], require: 'none' }, { packages: ['b'], require: 'none' }, { packages: ['a', 'b'], require: 'publish' }])).toEqual(['rules[2]']);
  });

  it('does not warn when a later rule still selects something', () => {
    expect(warningsOf([{ packages: ['@acme/x'], require: 'provenance' }, { packages: ['@acme/*'], require: 'none' }])).toEqual([]);
    expect(warningsOf([{ packages: ['x@<2'], require: 'none' }, { packages: ['x'], require: 'provenance' }])).toEqual([]);
    expect(warningsOf([{ packages: ['@acme/*'], require: 'provenance' }, { packages: ['@other/x'], require: 'none' }])).toEqual([]);
  });

  it('does not count an expiring rule as shadowing (its packages fall through later)', () => {
    expect(warningsOf([{ packages: ['*'], require: 'none', expires: '2027-01-01' }, { packages: ['x'], require: 'provenance' }])).toEqual([]);
  });

  it('warns about exactly the rules an earlier live rule covers, on 300 generated policies', () => {
    const random = prng(20261207);
    let warned = 0;
    for (let round = 0; round < 300; round++) {
      const rules = generatedRules(random);
      const { model } = validatePolicyDocument({ ...minimal, rules }, 'p.yml');
      // Every selector of the rule covered by a selector of an earlier rule without expiry: pair by pair.
      const expected = model!.rules
        .filter((rule, index) => rule.selectors.every((selector) => model!.rules.slice(0, index).some((earlier) => earlier.expires === undefined && earlier.selectors.some((broader) => selectorCovers(broader, selector)))))
        .map((rule) => `rules[${rule.index}]`);
      expect(warningsOf(rules), JSON.stringify(rules)).toEqual(expected);
      warned += expected.length;
    }
    expect(warned).toBeGreaterThan(100);
  });

  it('keeps a shadowed rule valid: a warning, not an error', () => {
    const policy = policyOf({ ...minimal, rules: [{ packages: ['*'], require: 'none' }, { packages: ['x'], require: 'provenance' }] });
    expect(policy.model.rules).toHaveLength(2);
  });
});
