/**
 * Which copy a changed entry belongs to, in each layout. The moment is 0 (every
 * entry is newer) and `vouch` clears all but the entry a case changes, so the
 * mapping is tested without depending on the clock.
 */
import { linkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedCopies, holdsHardlinks, type TreeLayout } from '../../src/linked/tree';
import { fileTree } from '../../testkit/file-tree';

const tree = (files: string[]) => fileTree(files, 'linked-tree-');

const NODE_MODULES = ['.yarn-state.yml', '.bin/tool', '.cache/x/y.js', '.eslintcache', 'a/index.js', 'a/node_modules/b/index.js', 'a/node_modules/@s/c/lib/c.js', 'a/node_modules/.yarn-state.yml', '@s/d/package.json'];

/** The copies reported when only `changed` (relative to the root) is newer than the moment. */
function changedWhenOnly(layout: TreeLayout, files: string[], changed: string) {
  const root = tree(files);
  const result = changedCopies(root, layout, { ms: 0, vouch: (path) => path !== join(root, changed) });
  return { whole: result.whole, copies: result.copies.map((copy) => copy.slice(root.length + 1)) };
}

describe('changedCopies', () => {
  it.each([
    ['a/index.js', ['a']],
    ['a', ['a']],
    ['a/node_modules/b/index.js', ['a/node_modules/b']],
    ['a/node_modules/@s/c/lib/c.js', ['a/node_modules/@s/c']],
    ['@s/d/package.json', ['@s/d']],
    ['.bin/tool', ['.bin']],
    // The package folders' parents (node_modules, a scope) and tools' caches are not copies.
    ['a/node_modules', []],
    ['@s', []],
    ['.cache/x/y.js', []],
    // A tool's file is not Yarn's state file, nor is a nested file of that name.
    ['.eslintcache', []],
    ['a/node_modules/.yarn-state.yml', []],
  ])('node_modules: a change to %s is a change of %j', (changed, copies) => {
    expect(changedWhenOnly('node_modules', NODE_MODULES, changed)).toEqual({ whole: false, copies });
  });

  it("node_modules: a change to Yarn's state file vouches for nothing", () => {
    expect(changedWhenOnly('node_modules', NODE_MODULES, '.yarn-state.yml').whole).toBe(true);
  });

  it('node_modules: a symlink is judged by itself, never followed', () => {
    const root = tree(['a/index.js']);
    const outside = tree(['evil.js']);
    symlinkSync(outside, join(root, 'link'));
    expect(changedCopies(root, 'node_modules', { ms: 0, vouch: (path) => path !== join(outside, 'evil.js') }).copies).toEqual([]);
    expect(changedCopies(root, 'node_modules', { ms: 0, vouch: (path) => path !== join(root, 'link') }).copies).toEqual([join(root, 'link')]);
  });

  it('copies: each entry below the folder is one copy', () => {
    const files = ['pkg-npm-1.0.0-abc/node_modules/pkg/index.js', 'other-npm-2.0.0-def/node_modules/other/index.js'];
    expect(changedWhenOnly('copies', files, 'pkg-npm-1.0.0-abc/node_modules/pkg/index.js')).toEqual({ whole: false, copies: ['pkg-npm-1.0.0-abc'] });
  });

  it('nothing newer than the moment: nothing changed', () => {
    const root = tree(NODE_MODULES);
    expect(changedCopies(root, 'node_modules', { ms: Number.MAX_SAFE_INTEGER })).toMatchObject({ whole: false, copies: [] });
  });

  it('counts one entry per lstat: 16 for this tree (the state file, .bin and its file, each package folder and file, each nested node_modules looked for; .cache never)', () => {
    const root = tree(NODE_MODULES);
    expect(changedCopies(root, 'node_modules', { ms: Number.MAX_SAFE_INTEGER }).entries).toBe(16);
    expect(changedCopies(tree([...NODE_MODULES, '.cache/more/files.js', 'a/more.js']), 'node_modules', { ms: Number.MAX_SAFE_INTEGER }).entries).toBe(17);
  });
});

describe('holdsHardlinks', () => {
  it('finds a file with another hard link, and only then', () => {
    const root = tree(['copy/a.js', 'index/a.dat']);
    expect(holdsHardlinks(join(root, 'copy'))).toBe(false);
    linkSync(join(root, 'index/a.dat'), join(root, 'copy/b.js'));
    expect(holdsHardlinks(join(root, 'copy'))).toBe(true);
  });
});
