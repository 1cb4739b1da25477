/** Non-registry sources (default deny for git, tarball, exec, outside paths) and mode precedence. */
import { describe, expect, it } from 'vitest';
import { classifySource, evaluateSource, resolveMode, type PolicyMode } from '../../src/policy';
import { policyOf } from '../../testkit/policy-helpers';

const policy = policyOf({ version: 1, default: { require: 'none' }, sources: { git: [{ package: '@acme/*', repository: 'https://github.com/acme/*' }], tarball: [{ package: 'vendored', url: 'https://cdn.example/**' }], exec: ['generated'], local: ['shared-config'] } });
const source = (name: string, protocol: string, reference: string, outsideProject?: boolean) => ({ name, protocol, reference, outsideProject });

describe('classifySource', () => {
  it.each([
    ['npm:', '^1.0.0', undefined, 'registry'],
    ['workspace:', '^', undefined, 'workspace'],
    ['patch:', 'lodash@npm%3A4.17.21#./fix.patch', undefined, 'patch'],
    ['exec:', './gen.js', undefined, 'exec'],
    ['git+ssh:', 'git@github.com:acme/x.git', undefined, 'git'],
    ['github:', 'acme/x', undefined, 'git'],
    ['https:', '//github.com/acme/x.git', undefined, 'git'],
    ['https:', '//github.com/acme/x#commit=abc', undefined, 'git'],
    ['https:', '//example.com/x-1.0.0.tgz', undefined, 'tarball'],
    ['file:', '../outside', true, 'local'],
    ['portal:', './packages/inside', false, 'project-local'],
    ['link:', '../unknown', undefined, 'local'],
    ['svn:', 'x', undefined, 'unknown'],
  ])('%s%s is %s', (protocol, reference, outsideProject, expected) => {
    expect(classifySource({ protocol, reference, outsideProject })).toBe(expected);
  });
});

describe('evaluateSource', () => {
  it('allows registry, workspace, project-local and patch sources', () => {
    for (const request of [source('a', 'npm:', '^1'), source('a', 'workspace:', '*'), source('a', 'file:', './vendor/a', false), source('a', 'patch:', 'a@npm%3A1.0.0#./p.patch')]) {
      expect(evaluateSource(undefined, request).decision).toBe('allow');
    }
  });

  it('denies git, tarball, exec and outside paths without a policy (zero-config) or unlisted', () => {
    for (const request of [source('x', 'git+ssh:', 'git@github.com:x/x.git'), source('x', 'https:', '//h/x.tgz'), source('x', 'exec:', './x.js'), source('x', 'portal:', '../x', true)]) {
      expect(evaluateSource(undefined, request).decision).toBe('deny');
      expect(evaluateSource(policy, request).decision).toBe('deny');
    }
  });

  it('allows what `sources` names, by kind', () => {
    expect(evaluateSource(policy, source('@acme/fork', 'git+https:', '//github.com/acme/fork.git'))).toMatchObject({ decision: 'allow', category: 'git' });
    expect(evaluateSource(policy, source('vendored', 'https:', '//cdn.example/vendored-1.0.0.tgz')).decision).toBe('allow');
    expect(evaluateSource(policy, source('generated', 'exec:', './gen.js')).decision).toBe('allow');
    expect(evaluateSource(policy, source('shared-config', 'link:', '../shared', true)).decision).toBe('allow');
    // A name allowed for one kind is not allowed for another.
    expect(evaluateSource(policy, source('vendored', 'git:', '//h/vendored.git')).decision).toBe('deny');
    expect(evaluateSource(policy, source('@acme-evil/fork', 'git+https:', '//github.com/x/fork.git')).decision).toBe('deny');
  });

  it('allows a git source only from the repository its allowance names, however the URL is written', () => {
    for (const [protocol, reference] of [['github:', 'acme/fork'], ['git+ssh:', '//git@github.com/Acme/fork.git'], ['https:', '//github.com/acme/fork.git#commit=0123456789abcdef0123456789abcdef01234567'], ['git:', '//github.com/acme/fork']]) {
      expect(evaluateSource(policy, source('@acme/fork', protocol, reference)).decision, protocol + reference).toBe('allow');
    }
    // Registry metadata pointing an allowed name at another repository: denied, naming what to add.
    const elsewhere = evaluateSource(policy, source('@acme/fork', 'git+https:', '//evil.example/acme/fork.git'));
    expect(elsewhere.decision).toBe('deny');
    expect(elsewhere.message).toContain('add { package: "@acme/fork", repository: "https://evil.example/acme/fork" } to sources.git');
    expect(evaluateSource(policy, source('@acme/fork', 'github:', 'evil/fork')).decision).toBe('deny');
  });

  it('a commit-pinned git allowance admits that commit only', () => {
    const commit = '0123456789abcdef0123456789abcdef01234567';
    const pinned = policyOf({ version: 1, default: { require: 'none' }, sources: { git: [{ package: 'tool', repository: 'github:acme/tool', commit }] } });
    expect(evaluateSource(pinned, source('tool', 'git+https:', `//github.com/acme/tool.git#commit=${commit}`)).decision).toBe('allow');
    expect(evaluateSource(pinned, source('tool', 'github:', `acme/tool#${commit}`)).decision).toBe('allow');
    expect(evaluateSource(pinned, source('tool', 'github:', 'acme/tool#v1.0.0')).decision).toBe('deny');
    expect(evaluateSource(pinned, source('tool', 'github:', `acme/tool#commit=${'f'.repeat(40)}`)).decision).toBe('deny');
  });

  it('allows a tarball only from the URLs its allowance names', () => {
    expect(evaluateSource(policy, source('vendored', 'https:', '//cdn.example/v/vendored-1.0.0.tgz')).decision).toBe('allow');
    expect(evaluateSource(policy, source('vendored', 'https:', '//evil.example/vendored-1.0.0.tgz')).decision).toBe('deny');
    expect(evaluateSource(policy, source('vendored', 'http:', '//cdn.example/vendored-1.0.0.tgz')).decision).toBe('deny');
  });

  it('says how to allow a denied source', () => {
    expect(evaluateSource(policy, source('left-pad', 'exec:', './build.js')).message).toBe('left-pad@exec:./build.js: a exec source is denied; to allow it, add "left-pad" to sources.exec in the policy');
    // Zero-config: no policy to add it to yet.
    expect(evaluateSource(undefined, source('left-pad', 'exec:', './build.js')).message).toBe(
      'left-pad@exec:./build.js: a exec source is denied; to allow it, add "left-pad" to sources.exec in a trust policy (there is none yet: `yarn sigstore policy init` writes one)',
    );
    expect(evaluateSource(policy, source('x', 'svn:', 'repo')).message).toContain('unknown protocol');
  });
});

describe('resolveMode precedence', () => {
  const model = (mode: PolicyMode, allowLooseningOverrides = false) => ({ mode, allowLooseningOverrides });

  it('rule mode over policy mode; policy mode over the enforce default', () => {
    expect(resolveMode({ policy: model('warn'), rule: { mode: 'enforce' } })).toEqual({ mode: 'enforce', source: 'rule' });
    expect(resolveMode({ policy: model('enforce'), rule: { mode: 'off' } })).toEqual({ mode: 'off', source: 'rule' });
    expect(resolveMode({ policy: model('warn'), rule: {} })).toEqual({ mode: 'warn', source: 'policy' });
    expect(resolveMode({ policy: undefined })).toEqual({ mode: 'enforce', source: 'policy' });
  });

  it('an override may tighten anything', () => {
    const resolved = resolveMode({ policy: model('off'), rule: { mode: 'warn' }, override: 'enforce', overrideSource: 'setting sigstoreMode' });
    expect(resolved).toMatchObject({ mode: 'enforce', source: 'override', override: { applied: true, source: 'setting sigstoreMode' } });
    expect(resolved.override?.note).toContain('tightening');
  });

  it('a loosening override is refused unless the policy allows it, and says why', () => {
    for (const [base, override] of [['enforce', 'warn'], ['enforce', 'off'], ['warn', 'off']] as const) {
      const refused = resolveMode({ policy: model(base), override, overrideSource: 'YARN_SIGSTORE_MODE' });
      expect(refused).toMatchObject({ mode: base, source: 'policy', override: { requested: override, applied: false } });
      expect(refused.override?.note).toContain('allowLooseningOverrides');
      expect(resolveMode({ policy: model(base, true), override, overrideSource: 'YARN_SIGSTORE_MODE' })).toMatchObject({ mode: override, source: 'override', override: { applied: true } });
    }
  });

  it('a loosening of a rule mode is judged against the rule, not the policy', () => {
    expect(resolveMode({ policy: model('warn'), rule: { mode: 'enforce' }, override: 'warn' }).mode).toBe('enforce');
  });

  it('without a policy nothing authorizes a loosening', () => {
    expect(resolveMode({ policy: undefined, override: 'off' }).mode).toBe('enforce');
  });
});

describe('evaluateSource with a model only', () => {
  it('decides from the model\'s own sources', () => {
    expect(evaluateSource(policy.model, source('@acme/fork', 'git:', '//github.com/acme/fork.git')).decision).toBe('allow');
    expect(evaluateSource(policy.model, source('other', 'git:', '//h/other.git')).decision).toBe('deny');
  });
});
