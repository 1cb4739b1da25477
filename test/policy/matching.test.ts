/** Glob and package selector semantics: anchored, `*` never crosses `/`, explicit case rules. */
import { describe, expect, it } from 'vitest';
import { compileGlob, matchGlob, matchUriGlob, parseSelector } from '../../src/policy';
import { pick as pickFrom, prng } from '../../testkit/mutate';

const random = prng(20261125);
const pick = <T>(items: readonly T[]): T => pickFrom(random, items);
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._';
function word(min = 1, max = 12): string {
  const length = min + Math.floor(random() * (max - min + 1));
  return Array.from({ length }, () => pick([...ALPHABET])).join('');
}
const lowerWord = () => word().toLowerCase().replace(/^[._]/, 'a');
const ROUNDS = 500;

describe('identity globs', () => {
  it('matches the issue examples', () => {
    const acme = 'https://github.com/acme/*';
    expect(matchUriGlob(acme, 'https://github.com/acme/x')).toBe(true);
    expect(matchUriGlob(acme, 'https://github.com/acme-evil/x')).toBe(false);
    expect(matchUriGlob(acme, 'https://github.com/acme/x/../../evil')).toBe(false);
    expect(matchUriGlob(acme, 'https://github.com/acme/x/')).toBe(false);
    expect(matchUriGlob(acme, 'https://github.com/acme/x/.github/workflows/a.yml@refs/heads/main')).toBe(false);
    expect(matchUriGlob('https://github.com/acme/repo', 'https://github.com/acme/repo/extra')).toBe(false);
    expect(matchUriGlob('https://github.com/acme/repo', 'https://github.com/acme/repox')).toBe(false);
    expect(matchUriGlob('https://github.com/acme/repo', 'xhttps://github.com/acme/repo')).toBe(false);
    expect(matchUriGlob('https://github.com/Acme/Repo', 'https://github.com/acme/repo')).toBe(true);
    expect(matchUriGlob('https://github.com/acme/repo', 'https://GitHub.com/ACME/REPO')).toBe(true);
  });

  it('treats dots and regular-expression characters literally', () => {
    expect(matchGlob('.github/workflows/release.yml', '.github/workflows/releaseXyml')).toBe(false);
    expect(matchGlob('.github/workflows/release.yml', 'xgithub/workflows/release.yml')).toBe(false);
    expect(matchGlob('refs/tags/v1.?', 'refs/tags/v1.2')).toBe(false);
    expect(matchGlob('refs/tags/v1.?', 'refs/tags/v1.?')).toBe(true);
    expect(matchGlob('a{b,c}', 'ab')).toBe(false);
    expect(matchGlob('[ab]', 'a')).toBe(false);
  });

  it('compares paths and refs case-sensitively, also under github.com', () => {
    expect(matchGlob('refs/tags/v*', 'refs/Tags/v1')).toBe(false);
    expect(matchUriGlob('https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v*', 'https://github.com/ACME/repo/.github/workflows/Release.yml@refs/tags/v1')).toBe(false);
    expect(matchUriGlob('https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v*', 'https://github.com/ACME/Repo/.github/workflows/release.yml@refs/tags/v1')).toBe(true);
    // Only GitHub owner/repository names fold case; other hosts compare exactly.
    expect(matchUriGlob('https://gitlab.com/acme/repo', 'https://gitlab.com/Acme/repo')).toBe(false);
  });

  it('lets `**` cross `/` only when written', () => {
    expect(matchGlob('refs/*', 'refs/tags/v1')).toBe(false);
    expect(matchGlob('refs/**', 'refs/tags/v1')).toBe(true);
  });

  it('property: `prefix/*` matches prefix/<segment> and nothing with another `/` or any text around it', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const owner = lowerWord();
      const repository = word();
      const pattern = `https://github.com/${owner}/*`;
      expect(matchUriGlob(pattern, `https://github.com/${owner}/${repository}`)).toBe(true);
      expect(matchUriGlob(pattern, `https://github.com/${owner.toUpperCase()}/${repository}`)).toBe(true);
      expect(matchUriGlob(pattern, `https://github.com/${owner}/${repository}/${word()}`)).toBe(false);
      expect(matchUriGlob(pattern, `https://github.com/${owner}${pick(['-', '.', '_', 'x'])}${word()}/${repository}`)).toBe(false);
      expect(matchUriGlob(pattern, `${pick(['x', ' ', 'http://evil/'])}https://github.com/${owner}/${repository}`)).toBe(false);
    }
  });

  it('property: a glob without `*` matches exactly its own text', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const text = `${word()}/${word()}.${word(1, 3)}`;
      const other = `${word()}/${word()}.${word(1, 3)}`;
      expect(matchGlob(text, text)).toBe(true);
      expect(matchGlob(text, other)).toBe(other === text);
      expect(matchGlob(text, `${text}${word()}`)).toBe(false);
      expect(matchGlob(text, `${word()}${text}`)).toBe(false);
    }
  });

  it('property: a glob without `*`, compared as text, answers as its compiled RegExp does (versions, specials, `{version}` literal or replaced)', () => {
    const literal = () => `${pick(['', 'https://github.com/', 'refs/tags/v'])}${word()}${pick(['', '{version}', '.+?^$()|[]\\', '/'])}${word(0, 4)}`;
    for (let i = 0; i < ROUNDS; i++) {
      const pattern = literal();
      const version = pick([undefined, '', '1.2.3', `${word(1, 3)}.*`, '{version}']);
      const exact = pattern.split('{version}').join(version ?? '{version}');
      for (const value of [exact, pattern, literal(), `${exact}x`, exact.toUpperCase()]) {
        expect(matchGlob(pattern, value, { version })).toBe(compileGlob(pattern, { version }).test(value));
      }
      expect(matchGlob(pattern, exact, { version })).toBe(true);
    }
  });

  it('compiles every glob into an anchored expression', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const source = compileGlob(`${word()}*${word()}`).source;
      expect(source.startsWith('^') && source.endsWith('$')).toBe(true);
    }
  });
});

describe('package selectors', () => {
  it('`*` selects every package, scoped ones included', () => {
    const all = parseSelector('*');
    expect(all.test('@scope/pkg', '1.0.0')).toBe(true);
    expect(all.test('left-pad', '0.0.1')).toBe(true);
  });

  it('`@acme/*` selects exactly one scope', () => {
    const acme = parseSelector('@acme/*');
    expect(acme.test('@acme/x', '1.0.0')).toBe(true);
    expect(acme.test('@acme-evil/x', '1.0.0')).toBe(false);
    expect(acme.test('acme', '1.0.0')).toBe(false);
    expect(acme.test('@other/acme', '1.0.0')).toBe(false);
  });

  it('exact names are exact, and a range restricts versions (prereleases by numeric order)', () => {
    const leftPad = parseSelector('left-pad@<2');
    expect(leftPad.test('left-pad', '1.3.0')).toBe(true);
    expect(leftPad.test('left-pad', '1.9.0-beta.1')).toBe(true);
    expect(leftPad.test('left-pad', '2.0.0-beta.1')).toBe(false); // semver: `<2` is `<2.0.0-0`
    expect(leftPad.test('left-pad', '2.0.0')).toBe(false);
    expect(leftPad.test('left-pads', '1.0.0')).toBe(false);
    expect(leftPad.test('@x/left-pad', '1.0.0')).toBe(false);
    const scoped = parseSelector('@acme/tool@^1.2.0');
    expect(scoped.name).toBe('@acme/tool');
    expect(scoped.test('@acme/tool', '1.9.0')).toBe(true);
    expect(scoped.test('@acme/tool', '2.0.0')).toBe(false);
  });

  it('`*` inside a name never crosses the scope `/`', () => {
    const plugins = parseSelector('eslint-plugin-*');
    expect(plugins.test('eslint-plugin-react', '1.0.0')).toBe(true);
    expect(plugins.test('@evil/eslint-plugin-react', '1.0.0')).toBe(false);
  });

  it('property: `*` selects any generated name; `@s/*` only names in scope s', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const scope = lowerWord();
      const name = lowerWord();
      const version = `${Math.floor(random() * 20)}.${Math.floor(random() * 20)}.${Math.floor(random() * 20)}`;
      expect(parseSelector('*').test(`@${scope}/${name}`, version)).toBe(true);
      expect(parseSelector('*').test(name, version)).toBe(true);
      expect(parseSelector(`@${scope}/*`).test(`@${scope}/${name}`, version)).toBe(true);
      expect(parseSelector(`@${scope}/*`).test(name, version)).toBe(false);
      expect(parseSelector(`@${scope}/*`).test(`@${scope}x/${name}`, version)).toBe(false);
      expect(parseSelector(name).test(name, version)).toBe(true);
      expect(parseSelector(name).test(`@${scope}/${name}`, version)).toBe(false);
    }
  });
});

describe('compiled globs are shared', () => {
  it('gives the same RegExp for the same glob and options, and another one whenever an option differs', () => {
    const glob = 'refs/tags/v{version}';
    expect(compileGlob(glob, { version: '1.0.0' })).toBe(compileGlob(glob, { version: '1.0.0' }));
    expect(compileGlob(glob, { version: '1.0.0' })).not.toBe(compileGlob(glob, { version: '1.0.1' }));
    // No version: `{version}` is literal text; an empty version replaces it with nothing.
    expect(compileGlob(glob).test('refs/tags/v{version}')).toBe(true);
    expect(compileGlob(glob, { version: '' }).test('refs/tags/v')).toBe(true);
    expect(compileGlob(glob, { version: '' }).test('refs/tags/v{version}')).toBe(false);
    expect(compileGlob('Main', { ignoreCase: true }).test('main')).toBe(true);
    expect(compileGlob('Main').test('main')).toBe(false);
    // Without the placeholder the version changes nothing: one RegExp for all.
    expect(compileGlob('refs/tags/*', { version: '1.0.0' })).toBe(compileGlob('refs/tags/*', { version: '2.0.0' }));
    expect(compileGlob('refs/tags/*', { version: '1.0.0' })).toBe(compileGlob('refs/tags/*'));
    // A shared RegExp answers the same every time (no `g` flag, no lastIndex).
    const shared = compileGlob('a*');
    expect([shared.test('abc'), shared.test('abc'), compileGlob('a*').test('abc')]).toEqual([true, true, true]);
  });
});
