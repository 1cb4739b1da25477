/**
 * The two-part plugin build (scripts/lazy-split.ts) on a small project shaped
 * like the plugin: a load-time entry, a module both parts use (an error class
 * checked by `instanceof`, a state object), a module reached only by `import()`
 * and a package imported statically but deferred. The output is loaded the way
 * Yarn loads a plugin (`require`, then `factory(require)`).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSplit, checkSplit, LAZY_SOURCE, lazyEntry, type SplitResult } from '../../scripts/lazy-split';

const FILES: Record<string, string> = {
  'errors.js': 'export class AppError extends Error {}\nexport const loads = { heavy: 0 };\n',
  'heavy.js': "import { AppError, loads } from './errors';\nloads.heavy++;\nexport const MARK = 'HEAVY_MODULE_MARK';\nexport function fail() { throw new AppError('from the lazy part'); }\n",
  'entry.js': [
    "import { AppError, loads } from './errors';",
    "import { parse } from 'bigpkg';",
    'export { AppError, loads };',
    'export const parseBig = (text) => parse(text);',
    "export async function runHeavy() { const { fail } = await import('./heavy'); try { fail(); } catch (error) { return error; } }",
    "export const heavyMark = async () => (await import('./heavy')).MARK;",
  ].join('\n'),
  'node_modules/bigpkg/package.json': '{"name":"bigpkg","main":"index.js"}',
  'node_modules/bigpkg/index.js': "globalThis.__splitTestBigLoads = (globalThis.__splitTestBigLoads || 0) + 1;\nexports.parse = (text) => 'parsed:' + text;\nexports.BIG_MARK = 'BIGPKG_MODULE_MARK';\n",
};

interface Exports {
  AppError: new (message: string) => Error;
  loads: { heavy: number };
  parseBig(text: string): string;
  runHeavy(): Promise<unknown>;
  heavyMark(): Promise<string>;
}

const counters = globalThis as { __splitTestBigLoads?: number };
let root: string;
let outfile: string;
let split: SplitResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lazy-split-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  outfile = join(root, 'out', 'plugin.js');
  split = await buildSplit({
    root,
    common: { bundle: true, platform: 'node', logLevel: 'silent', minify: true },
    loadTime: {
      entryPoints: [join(root, 'entry.js')],
      outfile,
      format: 'iife',
      globalName: 'plugin',
      banner: { js: 'module.exports = { factory: function (require) {' },
      footer: { js: 'return plugin; } };' },
    },
    deferredPackages: ['bigpkg'],
  });
  delete counters.__splitTestBigLoads; // the build required the package to learn its export names
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

function loadPlugin(): Exports {
  const file = createRequire(outfile)(outfile) as { factory: (require: NodeRequire) => Exports };
  return file.factory(createRequire(outfile));
}

describe('the two-part build', () => {
  it('puts the deferred modules in the lazy part only, and the shared module in the load-time part only', () => {
    const loadTime = Object.keys(split.loadTime.inputs);
    const lazy = Object.keys(split.lazy.inputs);
    expect(loadTime).toContain('errors.js');
    expect(lazy).not.toContain('errors.js');
    expect(lazy).toEqual(expect.arrayContaining(['heavy.js', 'node_modules/bigpkg/index.js']));
    expect(loadTime).not.toContain('heavy.js');
    expect(loadTime).not.toContain('node_modules/bigpkg/index.js');
    expect(split.shared).toBe(1);

    const text = readFileSync(outfile, 'utf8');
    const declaration = text.split('\n').find((line) => line.startsWith(`var ${LAZY_SOURCE} = `));
    expect(declaration).toBeDefined();
    expect(declaration).toContain('HEAVY_MODULE_MARK');
    expect(text.replace(declaration!, '')).not.toContain('HEAVY_MODULE_MARK');
    expect(text.replace(declaration!, '')).not.toContain('BIGPKG_MODULE_MARK');
    // Declared before the factory, not inside it.
    expect(text.indexOf(declaration!)).toBeLessThan(text.indexOf('factory: function'));
  });

  it('evaluates nothing deferred at load, then each deferred module once, sharing the load-time instances', async () => {
    const plugin = loadPlugin();
    expect(plugin.loads.heavy).toBe(0);
    expect(counters.__splitTestBigLoads).toBeUndefined();

    const error = await plugin.runHeavy();
    expect(error).toBeInstanceOf(plugin.AppError);
    expect((error as Error).message).toBe('from the lazy part');
    expect(plugin.loads.heavy).toBe(1);
    expect(await plugin.heavyMark()).toBe('HEAVY_MODULE_MARK');
    await plugin.runHeavy();
    expect(plugin.loads.heavy).toBe(1);
    expect(counters.__splitTestBigLoads).toBeUndefined();

    expect(plugin.parseBig('x')).toBe('parsed:x');
    expect(plugin.parseBig('y')).toBe('parsed:y');
    expect(counters.__splitTestBigLoads).toBe(1);
  });
});

describe('checkSplit', () => {
  const metafile = (...files: string[]) => ({ inputs: Object.fromEntries(files.map((file) => [file, { bytes: 1, imports: [] }])), outputs: {} });

  it('accepts disjoint parts and ignores the generated stubs', () => {
    expect(() => checkSplit(metafile('a.js', 'sigstore-lazy:b.js'), metafile('a.js', 'sigstore-lazy:b.js'), metafile('b.js'))).not.toThrow();
  });

  it('fails when a module is in both parts', () => {
    expect(() => checkSplit(metafile('a.js'), metafile('a.js'), metafile('a.js', 'b.js'))).toThrow(/in both parts: a\.js/);
  });

  it('fails when the final load-time part has a module the lazy build did not know of', () => {
    expect(() => checkSplit(metafile('a.js'), metafile('a.js', 'c.js'), metafile('b.js'))).toThrow(/new at load time: c\.js/);
  });
});

describe('lazyEntry', () => {
  it('is the same whatever order esbuild resolved the deferred modules in (a reproducible build)', () => {
    expect(lazyEntry('/r', ['src/b.ts', 'src/a.ts', 'node_modules/c/index.js'])).toBe(lazyEntry('/r', ['node_modules/c/index.js', 'src/a.ts', 'src/b.ts']));
  });
});
