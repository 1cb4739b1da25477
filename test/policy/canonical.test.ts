/**
 * The policy reader for the layout `policy init` writes (src/policy/canonical.ts):
 * whatever it accepts, the YAML reader reads to the very same document, and
 * whatever it declines goes to the YAML reader (which the loader then uses).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCanonicalPolicy } from '../../src/policy/canonical';
import { allowUnsigned } from '../../src/policy/edit';
import { parseStrictYaml } from '../../src/strict-yaml';
import { draftPolicy, type DraftEntry } from '../../src/yarn/commands/policy-draft';
import { REPO_ROOT } from '../../testkit/fixtures';

const yamlRead = (text: string) => parseStrictYaml(text, { uniqueKeys: true });

const identity = (repository: string) => ({
  issuer: 'https://token.actions.githubusercontent.com',
  sourceRepositoryUri: `https://github.com/${repository}`,
  sourceRepositoryIdentifier: '100000001',
  sourceRepositoryOwnerIdentifier: '200000002',
  buildConfigUri: `https://github.com/${repository}/.github/workflows/release.yml@refs/tags/v1.0.0`,
  sourceRepositoryRef: 'refs/tags/v1.0.0',
  runnerEnvironment: 'github-hosted',
});

/** What `policy init` writes for a tree of signed, publish-only and unsigned packages with tarball and git sources. */
function initPolicy(): string {
  const entries: DraftEntry[] = [
    ...['alpha', '@scope/beta', 'gamma'].map((name) => ({ name, version: '1.0.0', kind: 'provenance' as const, identity: identity(`acme/${name.replace(/^@scope\//, '')}`) as never })),
    { name: 'published-only', version: '3.0.0', kind: 'publish' },
    { name: 'plain', version: '1.0.0', kind: 'unsigned' },
    { name: 'other-plain', version: '2.0.0', kind: 'unsigned' },
  ];
  const sources = new Map([
    ['tarball', new Map([['some-tool', new Set(['https://example.com/some-tool-1.0.0.tgz'])]])],
    ['git', new Map([['a-git', new Set(['https://github.com/acme/a-git.git#commit=0123456789abcdef0123456789abcdef01234567'])]])],
  ]) as Parameters<typeof draftPolicy>[0]['sources'];
  return draftPolicy({ entries, sources, reviewBy: '2030-01-31', generatedAt: '2029-11-02' });
}

function policyFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    return statSync(path).isDirectory() ? policyFiles(path) : /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

describe('the policy reader for the layout policy init writes', () => {
  it('reads what policy init writes, as the YAML reader does', () => {
    const text = initPolicy();
    expect(text).toContain('{ package: "some-tool", url: "https://example.com/some-tool-1.0.0.tgz" }');
    const document = readCanonicalPolicy(text);
    expect(document).not.toBeNull();
    expect(document).toEqual(yamlRead(text));
  });

  it('still reads it after `policy allow` edits it (a new rule, and a package moved out of a rule)', () => {
    let text = initPolicy();
    for (const selector of ['brand-new', 'gamma']) {
      const edit = allowUnsigned(text, 'sigstore-policy.yml', { selector, reason: 'vendored, reviewed by hand', expires: '2030-01-31', today: '2029-11-03' }, new Date('2029-11-03T00:00:00Z'));
      expect(edit.changed).toBe(true);
      text = edit.text;
      expect(readCanonicalPolicy(text), text).toEqual(yamlRead(text));
    }
  });

  it.each(policyFiles(join(REPO_ROOT, 'policy-examples')))('reads %s as the YAML reader does, or leaves it to it', (file) => {
    const text = readFileSync(file, 'utf8');
    const document = readCanonicalPolicy(text);
    if (document !== null) expect(document).toEqual(yamlRead(text));
  });

  const base = 'version: 1\nmode: enforce\ndefault:\n  require: provenance\nrules:\n  - packages:\n      - "a"\n    require: none\n    reason: "why"\n';
  it('control: the base text of the cases below is read', () => {
    expect(readCanonicalPolicy(base)).toEqual(yamlRead(base));
  });

  // Each is YAML with the same or another meaning, or an error: never read here.
  const declined: Array<[label: string, text: string]> = [
    ['a tab before a key', base.replace('    require: none', '\t  require: none')],
    ['a carriage return (YAML ends a comment at it)', base.replace('version: 1\n', '# note\rmode: off\nversion: 1\n')],
    ['a line separator', base.replace('version: 1\n', '# note\u2028version: 1\n')],
    ['an escape in a quoted string', base.replace('"why"', '"wh\\x79"')],
    ['a single-quoted string', base.replace('"why"', "'why'")],
    ['a duplicate key', `${base}mode: off\n`],
    ['a duplicate key in a rule', base.replace('    require: none\n', '    require: provenance\n    require: none\n')],
    ['an anchor and an alias', base.replace('  require: provenance', '  require: &r provenance').replace('require: none', 'require: *r')],
    ['a tag', base.replace('require: none', 'require: !provenance none')],
    ['a block scalar', base.replace('reason: "why"', 'reason: |\n      why')],
    ['a flow list', base.replace('  - packages:\n      - "a"\n', '  - packages: ["a"]\n')],
    ['a sequence not indented under its key', base.replace('      - "a"', '    - "a"')],
    ['three spaces of indentation', base.replace('  require: provenance', '   require: provenance')],
    ['a key without a value', base.replace('reason: "why"', 'reason:')],
    ['a null', base.replace('"why"', 'null')],
    ['a plain scalar with a space', base.replace('require: none', 'require: none at all')],
    ['a merge key', `${base}<<: { mode: off }\n`],
    ['a document marker', `---\n${base}`],
    ['a byte order mark', `\ufeff${base}`],
    ['a key named __proto__', `${base}__proto__:\n  mode: off\n`],
    ['a hash inside a plain scalar', base.replace('require: none', 'require: none#x')],
    ['a top-level sequence', '- "a"\n'],
    ['nothing but comments', '# nothing\n'],
    ['a flow map with a plain value', base.replace('reason: "why"', 'reason: { text: why }')],
    ['non-ASCII content', base.replace('"why"', '"wh\u00ff"')],
  ];
  it.each(declined)('leaves %s to the YAML reader', (_label, text) => {
    expect(readCanonicalPolicy(text)).toBeNull();
  });

  it('leaves nesting deeper than 40 levels to the YAML reader (its own depth limit explains it)', () => {
    const nested = (depth: number) => Array.from({ length: depth }, (_, level) => `${'  '.repeat(level)}k:`).join('\n') + ` 1\n`;
    expect(readCanonicalPolicy(nested(40))).toEqual(yamlRead(nested(40)));
    expect(readCanonicalPolicy(nested(42))).toBeNull();
  });

  it('takes comments where YAML does: after a space outside quotes, not inside a string', () => {
    const text = base.replace('"why"', '"why # not a comment" # a comment "with quotes"').replace('mode: enforce', 'mode: enforce # was: off');
    expect(readCanonicalPolicy(text)).toEqual(yamlRead(text));
    expect((readCanonicalPolicy(text) as { rules: Array<{ reason: string }> }).rules[0].reason).toBe('why # not a comment');
  });

  it('reads every one-character change of a policy init policy as the YAML reader does, or leaves it to it (differential)', () => {
    const text = initPolicy();
    // Characters that mean something to YAML, and some that do not.
    const alphabet = [' ', '\n', '#', '"', "'", ':', '-', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '?', '%', '@', '`', '\\', '\t', 'a', 'Z', '0', '.'];
    let random = 20261207;
    const next = (limit: number) => {
      random = (random * 1103515245 + 12345) % 2147483648;
      return random % limit;
    };
    let accepted = 0;
    for (let round = 0; round < 4000; round++) {
      const at = next(text.length);
      const char = alphabet[next(alphabet.length)];
      const mutated = [text.slice(0, at) + char + text.slice(at + 1), text.slice(0, at) + char + text.slice(at), text.slice(0, at) + text.slice(at + 1)][next(3)];
      const document = readCanonicalPolicy(mutated);
      if (document === null) continue;
      accepted++;
      let expected: unknown;
      try {
        expected = yamlRead(mutated);
      } catch (error) {
        expect.fail(`accepted text the YAML reader refuses (${(error as Error).message}):\n${mutated}`);
      }
      expect(document, mutated).toEqual(expected);
    }
    // Most changes fall in comments, strings and names: still read here.
    expect(accepted).toBeGreaterThan(1000);
  });
});
