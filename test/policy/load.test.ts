/** Discovery, JavaScript policies, explicit paths, parse errors, `extends` baselines and their loosenings. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { evaluate, evaluateSource, loadPolicy, POLICY_FILE_NAMES, validatePolicyFile } from '../../src/policy';
import { githubIdentity, verifiedOutcome } from '../../testkit/policy-helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'policy-load-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
};
const YAML_POLICY = 'version: 1\nmode: warn\ndefault:\n  require: publish\n';

async function loadError(promise: Promise<unknown>): Promise<SigstorePluginError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SigstorePluginError);
  return error as SigstorePluginError;
}

describe('YAML that does not say what it looks like', () => {
  /** The Node warnings emitted while `run` ran (a YAML warning used to reach stderr this way, and the file was accepted). */
  async function warningsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const listener = (warning: Error) => seen.push(warning.message);
    process.on('warning', listener);
    try {
      await run();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return seen;
  }

  it.each([
    ['an unresolved tag that turns `require: !provenance none` into `require: none`', 'version: 1\ndefault:\n  require: !provenance none\n', 'Unresolved tag: !provenance at line 3, column 12'],
    ['a tag on a key, which drops the key', 'version: 1\ndefault:\n  !require: provenance\n', 'Unresolved tag: !require: at line 3, column 3'],
    ['a scalar tag on a mapping', 'version: 1\ndefault: !!binary\n  require: provenance\n', 'tag:yaml.org,2002:binary used for map collection, but expects scalar at line 2, column 10'],
  ])('is refused, POLICY_INVALID naming the line, and nothing is printed: %s', async (_, text, found) => {
    write('sigstore-policy.yml', text);
    let error: SigstorePluginError | undefined;
    const printed = await warningsDuring(async () => (error = await loadError(loadPolicy(dir))));
    expect(error?.code).toBe(ErrorCodes.POLICY_INVALID);
    expect(error?.message).toContain(found);
    expect(printed).toEqual([]);
  });

  it('control: the same policy without the tag loads', async () => {
    write('sigstore-policy.yml', 'version: 1\ndefault:\n  require: provenance\n');
    expect((await loadPolicy(dir))?.model.default.require).toBe('provenance');
  });
});

describe('discovery', () => {
  it('returns undefined (zero-config) when there is no policy', async () => {
    write('package.json', JSON.stringify({ name: 'app' }));
    expect(await loadPolicy(dir)).toBeUndefined();
  });

  it.each([
    ['sigstore-policy.yml', YAML_POLICY],
    ['sigstore-policy.yaml', YAML_POLICY],
    ['sigstore-policy.json', JSON.stringify({ version: 1, mode: 'warn', default: { require: 'publish' } })],
    ['.sigstorerc', YAML_POLICY],
    ['.sigstorerc.json', JSON.stringify({ version: 1, mode: 'warn', default: { require: 'publish' } })],
    ['.sigstorerc.yml', YAML_POLICY],
    ['sigstore.config.cjs', "module.exports = { version: 1, mode: 'warn', default: { require: 'publish' } };"],
    ['sigstore.config.mjs', "export default { version: 1, mode: 'warn', default: { require: 'publish' } };"],
  ])('finds %s', async (name, text) => {
    const file = write(name, text);
    const policy = await loadPolicy(dir);
    expect(policy?.filepath).toBe(file);
    expect(policy?.model).toMatchObject({ mode: 'warn', default: { require: 'publish' } });
    expect(policy?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds a "sigstore" key in package.json', async () => {
    const file = write('package.json', JSON.stringify({ name: 'app', sigstore: { version: 1, default: { require: 'provenance' } } }));
    const policy = await loadPolicy(dir);
    expect(policy?.filepath).toBe(file);
    expect(policy?.model.default.require).toBe('provenance');
  });

  it('searches sigstore-policy.yml first and refuses several policy files', async () => {
    expect(POLICY_FILE_NAMES[0]).toBe('sigstore-policy.yml');
    write('sigstore-policy.yml', YAML_POLICY);
    write('.sigstorerc.json', '{}');
    const error = await loadError(loadPolicy(dir));
    expect(error.code).toBe(ErrorCodes.POLICY_INVALID);
    expect(error.message).toContain('sigstore-policy.yml, .sigstorerc.json');
  });

  it('does not read a policy of a parent directory', async () => {
    write('sigstore-policy.yml', YAML_POLICY);
    mkdirSync(path.join(dir, 'sub'));
    expect(await loadPolicy(path.join(dir, 'sub'))).toBeUndefined();
  });

  it('an explicit path overrides the search, relative to the project', async () => {
    write('sigstore-policy.yml', YAML_POLICY);
    const file = write('config/strict.yml', 'version: 1\ndefault: { require: provenance }\n');
    expect((await loadPolicy(dir, { path: 'config/strict.yml' }))?.filepath).toBe(file);
  });

  it('a missing explicit path is POLICY_NOT_FOUND, never zero-config', async () => {
    const error = await loadError(loadPolicy(dir, { path: 'missing.yml' }));
    expect(error.code).toBe(ErrorCodes.POLICY_NOT_FOUND);
    expect(error.message).toContain(path.join(dir, 'missing.yml'));
  });

  it('the digest changes with the policy', async () => {
    write('sigstore-policy.yml', YAML_POLICY);
    const first = (await loadPolicy(dir))!.digest;
    write('sigstore-policy.yml', YAML_POLICY.replace('publish', 'provenance'));
    expect((await loadPolicy(dir))!.digest).not.toBe(first);
  });
});

describe('policy content from nowhere but the policy and its extends chain', () => {
  const PERMISSIVE = 'rules:\n  - packages: ["*"]\n    require: none\n    reason: from another file\n';

  it.each([
    ['sigstore-policy.yml', 'version: 1\n$import: ./other.yml\ndefault:\n  require: provenance\n'],
    ['sigstore-policy.json', JSON.stringify({ version: 1, $import: './other.yml', default: { require: 'provenance' } })],
    ['sigstore.config.cjs', "module.exports = { version: 1, $import: './other.yml', default: { require: 'provenance' } };"],
  ])('a `$import` key (cosmiconfig would merge in that file\'s rules) is refused as unknown: %s', async (name, text) => {
    write('other.yml', PERMISSIVE);
    write(name, text);
    const error = await loadError(loadPolicy(dir));
    expect(error.code).toBe(ErrorCodes.POLICY_INVALID);
    expect(error.message).toContain('$import: expected one of the keys');
  });

  it('a JSON policy with a key given twice is refused (JSON.parse would keep the last one)', async () => {
    write('sigstore-policy.json', '{"version": 1, "default": {"require": "provenance", "mode": "enforce", "require": "none"}}');
    const error = await loadError(loadPolicy(dir));
    expect(error.code).toBe(ErrorCodes.POLICY_INVALID);
    expect(error.message).toContain('Map keys must be unique');
  });

  it('a policy file of an unknown format is refused, naming the formats', async () => {
    write('config/policy.toml', 'version = 1\n');
    const error = await loadError(loadPolicy(dir, { path: 'config/policy.toml' }));
    expect(error.code).toBe(ErrorCodes.POLICY_INVALID);
    expect(error.message).toContain('no policy format for .toml files');
  });
});

describe('invalid files fail closed', () => {
  it('an invalid policy is POLICY_INVALID listing every problem with file and path', async () => {
    const file = write('sigstore-policy.yml', 'version: 1\ndefault: { require: none }\nrules:\n  - packages: ["x"]\n    require: provenance\n    identity: { ref: 7 }\n  - packages: ["y"]\n    require: maybe\n');
    const error = await loadError(loadPolicy(dir));
    expect(error.code).toBe(ErrorCodes.POLICY_INVALID);
    expect(error.message).toContain(`${file}: rules[0].identity.ref: expected a git ref glob`);
    expect(error.message).toContain(`${file}: rules[1].require: expected one of provenance | publish | none`);
  });

  it.each([
    ['broken YAML', 'sigstore-policy.yml', 'version: 1\ndefault: [\n'],
    ['duplicate YAML keys', 'sigstore-policy.yml', 'version: 1\nversion: 1\ndefault: { require: none }\n'],
    ['broken JSON', 'sigstore-policy.json', '{"version": 1,'],
    ['an empty file', 'sigstore-policy.yml', ''],
  ])('%s is POLICY_INVALID', async (_title, name, text) => {
    write(name, text);
    expect((await loadError(loadPolicy(dir))).code).toBe(ErrorCodes.POLICY_INVALID);
  });

  it('keeps YAML dates as the written text', async () => {
    write('sigstore-policy.yml', 'version: 1\ndefault: { require: provenance }\nrules:\n  - packages: [x]\n    require: none\n    expires: 2027-06-30\n');
    expect((await loadPolicy(dir))?.model.rules[0].expires).toBe('2027-06-30');
  });

  it('carries shadowed-rule warnings on a valid policy', async () => {
    write('sigstore-policy.yml', 'version: 1\ndefault: { require: none }\nrules:\n  - { packages: ["*"], require: publish }\n  - { packages: [x], require: provenance }\n');
    const policy = await loadPolicy(dir);
    expect(policy?.warnings.map((w) => [w.severity, w.path])).toEqual([['warning', 'rules[1]']]);
  });
});

describe('extends', () => {
  const BASELINE = [
    'version: 1',
    'mode: enforce',
    'default: { require: publish }',
    'rules:',
    '  - packages: ["@acme/*"]',
    '    require: provenance',
    '    identity: { repository: github.com/acme/* }',
    '  - packages: [left-pad]',
    '    require: none',
    '    reason: upstream has no provenance',
    'sources:',
    '  git: [{ package: "@acme/*", repository: "https://github.com/acme/*" }]',
    '',
  ].join('\n');
  const local = (...lines: string[]) => ['version: 1', 'extends: ./org/baseline.yml', ...lines, ''].join('\n');

  beforeEach(() => {
    write('org/baseline.yml', BASELINE);
  });

  it('loads the baseline and accepts a tightening', async () => {
    write('sigstore-policy.yml', local('default: { require: provenance }', 'rules:', '  - packages: ["@acme/x"]', '    require: provenance', '    identity: { repository: github.com/acme/x, ref: "refs/tags/v*" }', '  - { packages: [left-pad], require: none, reason: same as the baseline }', 'sources: { git: [{ package: "@acme/tools", repository: "github:acme/tools" }] }'));
    const policy = await loadPolicy(dir);
    expect(policy?.baseline?.filepath).toBe(path.join(dir, 'org/baseline.yml'));
    expect(policy?.baseline?.model.rules).toHaveLength(2);
    const git = (name: string, repository = 'acme/tools') => evaluateSource(policy, { name, protocol: 'github:', reference: repository }).decision;
    expect([git('@acme/tools'), git('@acme/other'), git('lodash'), git('@acme/tools', 'evil/tools')]).toEqual(['allow', 'deny', 'deny', 'deny']);
  });

  it.each([
    ['a looser mode', ['mode: warn', 'default: { require: publish }'], 'mode'],
    ['a looser default', ['default: { require: none }'], 'default.require'],
    ['a looser rule', ['default: { require: publish }', 'rules:', '  - { packages: ["@acme/x"], require: publish }'], 'rules[0].require'],
    ['a rule mode looser than the baseline', ['default: { require: publish }', 'rules:', '  - { packages: ["@acme/*"], require: provenance, mode: warn }'], 'rules[0].mode'],
    ['a new exception', ['default: { require: publish }', 'rules:', '  - { packages: [lodash], require: none }'], 'rules[0].require'],
    ['a verify: skip the baseline lacks', ['default: { require: publish }', 'rules:', '  - { packages: [left-pad], verify: skip, reason: r, expires: 2027-01-01 }'], 'rules[0].verify'],
    ['a source the baseline does not allow', ['default: { require: publish }', 'sources: { exec: [gen] }'], 'sources.exec[0]'],
    ['a git repository the baseline does not allow', ['default: { require: publish }', 'sources: { git: [{ package: "@acme/x", repository: "github:evil/x" }] }'], 'sources.git[0]'],
    ['allowing loosening overrides', ['allowLooseningOverrides: true', 'default: { require: publish }'], 'allowLooseningOverrides'],
  ])('refuses %s', async (_title, lines, errorPath) => {
    const file = write('sigstore-policy.yml', local(...lines));
    const check = await validatePolicyFile(file);
    expect(check.policy).toBeUndefined();
    const errors = check.problems.filter((p) => p.severity === 'error');
    expect(errors.map((e) => e.path)).toContain(errorPath);
    expect(errors.find((e) => e.path === errorPath)).toMatchObject({ file, expected: expect.stringContaining('may only tighten') });
    expect((await loadError(loadPolicy(dir))).code).toBe(ErrorCodes.POLICY_INVALID);
  });

  it('reports problems of the baseline file itself, and a missing baseline', async () => {
    write('org/baseline.yml', 'version: 1\ndefault: { require: sometimes }\n');
    write('sigstore-policy.yml', local('default: { require: provenance }'));
    const check = await validatePolicyFile(path.join(dir, 'sigstore-policy.yml'));
    expect(check.problems).toMatchObject([{ file: path.join(dir, 'org/baseline.yml'), path: 'default.require' }]);
    rmSync(path.join(dir, 'org/baseline.yml'));
    expect((await validatePolicyFile(path.join(dir, 'sigstore-policy.yml'))).problems[0]).toMatchObject({ file: path.join(dir, 'org/baseline.yml'), found: 'no such file' });
  });

  it('refuses an extends cycle', async () => {
    write('a.yml', 'version: 1\nextends: ./b.yml\ndefault: { require: none }\n');
    write('b.yml', 'version: 1\nextends: ./a.yml\ndefault: { require: none }\n');
    const check = await validatePolicyFile(path.join(dir, 'a.yml'));
    expect(check.policy).toBeUndefined();
    expect(check.problems[0].expected).toContain('without a cycle');
  });

  it('evaluates both policies and keeps the stricter verdict, naming the baseline', async () => {
    write('sigstore-policy.yml', local('default: { require: publish }', 'rules:', '  - packages: ["@acme/*"]', '    require: provenance', '    identity: { ref: "refs/tags/v*" }'));
    const policy = (await loadPolicy(dir))!;
    const foreign = verifiedOutcome(githubIdentity({ sourceRepositoryUri: 'https://github.com/evil/x' }));
    const verdict = evaluate(policy, { name: '@acme/x', version: '1.0.0' }, foreign);
    expect(verdict).toMatchObject({ decision: 'deny', mismatches: [{ field: 'identity.repository' }] });
    expect(verdict.rule?.description).toBe('rules[0] (@acme/*) of baseline.yml');
    expect(evaluate(policy, { name: '@acme/x', version: '1.0.0' }, verifiedOutcome(githubIdentity())).decision).toBe('allow');
  });
});
