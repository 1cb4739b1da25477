/**
 * `npm run build`: bundles the plugin as `builder build plugin` does (same
 * esbuild settings, banner and footer, Yarn's own libraries left to the
 * plugin's `require`), plus what the builder cannot do:
 *
 * - `iconv-lite` is replaced by a stub that throws when required (STUBBED):
 *   an optional dependency of minipass-fetch (under tuf-js) for non-UTF-8
 *   bodies only (0.47 MiB compiled by every install that verifies).
 *   `make-fetch-happen` (tuf-js's default fetcher, which the plugin never
 *   uses) becomes a function that throws when called (STUBBED_CALLS): tuf-js
 *   requires it at load, and with it cacache, glob and proxy agents (0.36 MiB,
 *   ~30 ms evaluated by every install that loads the trust material).
 *
 * - The code behind dynamic `import()`s (verification core, TUF client and its
 *   fetcher, sources, policy loader, the commands' heavy code) is embedded as
 *   ONE string and evaluated on the first `import()` that needs it. Every Yarn
 *   command that loads plugins (`yarn run`, `yarn config get`) parses the
 *   whole file, and V8 pays ~18 ms to pre-parse 1.4 MiB of functions that a
 *   command which installs nothing never calls; the same bytes as a string
 *   literal cost ~4 ms. A Yarn plugin must stay one file, so the split is
 *   inside it (scripts/lazy-split.ts):
 *     1. the load-time part is built once with every `import()` stubbed, to
 *        learn which modules it contains;
 *     2. the lazy part (CommonJS, entry: the `import()` targets) is built with
 *        every load-time module external under a private name, so that it uses
 *        the load-time part's own instances (one `SigstorePluginError` class,
 *        one session state), never copies;
 *     3. the load-time part is built again, now with the lazy string and the
 *        map of the modules it shares.
 *   The build fails if a module ends up in both parts.
 *
 * The worker threads (WORKERS in scripts/workers.ts: verification, packuments,
 * folder scans) are bundled first, each on its own, and embedded as strings
 * (`__SIGSTORE_VERIFY_WORKER__`, `__SIGSTORE_PACKUMENT_WORKER__`,
 * `__SIGSTORE_SCAN_WORKER__` in the source): a Yarn plugin is one file,
 * and a worker needs its code. These strings and the lazy part are declared at
 * the top of the file, outside the factory, so that V8 scans them once, not
 * again for each function that it compiles around them.
 *
 * `--metafile` also writes bundles/@yarnpkg/plugin-sigstore.meta.json (the
 * load-time part) and plugin-sigstore.lazy.meta.json (the lazy part).
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { getDynamicLibs } from '@yarnpkg/cli';
import { buildSplit } from './lazy-split';
import { buildWorkers, WORKERS } from './workers';

const ROOT = resolve(__dirname, '..');
const NAME = '@yarnpkg/plugin-sigstore';
const OUTPUT = join(ROOT, 'bundles', `${NAME}.js`);
/** The oldest Node the bundle must run on: the builder uses its own engines field (Node 18.12). */
const TARGET = 'node18.12';

/** What Yarn's plugin runtime provides (the builder's own test, which its package does not export). */
const isDynamicLib = (request: string) => getDynamicLibs().has(request) || /^@yarnpkg\/plugin-/.test(request);

/** Splits a bare request into its package name, as the builder does; null for a file path. */
const BARE_REQUEST = /^(?![a-zA-Z]:[\\/]|\\\\|\.{0,2}(?:\/|$))((?:@[^/]+\/)?[^/]+)\/*(.*|)$/;

/** Yarn's libraries, clipanion, typanion and the built-in plugins come from the plugin's `require`. */
const yarnProvided: Plugin = {
  name: 'yarn-provided',
  setup(build) {
    build.onResolve({ filter: /()/ }, (args) => {
      const match = args.path.match(BARE_REQUEST);
      if (match === null || match[1] === NAME || !isDynamicLib(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/** Packages replaced by a module that throws when required: what the plugin never needs, at a cost on every load. */
const STUBBED: Record<string, string> = {
  // minipass-fetch (under tuf-js) requires it in a try/catch, for `textConverted()` only (non-UTF-8 bodies); TUF metadata is JSON. 0.47 MiB.
  'iconv-lite': 'yarn-plugin-sigstore does not bundle iconv-lite',
};

/**
 * Packages replaced by a function that throws when called: required at the top
 * of a module the plugin needs, yet only used by code it never runs.
 */
const STUBBED_CALLS: Record<string, string> = {
  // tuf-js's DefaultFetcher, which the plugin replaces with its own (src/trust/tuf-fetch.ts). With it went cacache, glob, minipass,
  // @npmcli/agent and socks: 0.36 MiB of the lazy part, and ~30 ms of module evaluation on every install that loads the trust material.
  'make-fetch-happen': 'yarn-plugin-sigstore does not bundle make-fetch-happen: tuf-js must be given a fetcher',
};

const escaped = (names: string[]) => names.map((name) => name.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')).join('|');

const stubbed: Plugin = {
  name: 'stubbed-packages',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${escaped([...Object.keys(STUBBED), ...Object.keys(STUBBED_CALLS)])})$`) }, (args) => ({ path: args.path, namespace: 'stubbed' }));
    build.onLoad({ filter: /.*/, namespace: 'stubbed' }, (args) => {
      const message = JSON.stringify(STUBBED[args.path] ?? STUBBED_CALLS[args.path]);
      return { contents: args.path in STUBBED ? `throw new Error(${message});` : `module.exports = function () { throw new Error(${message}); };`, loader: 'js' };
    });
  },
};

/**
 * Imported statically by load-time code, yet only called at install time:
 * deferred too. `yaml` (0.11 MiB, ~4 ms to evaluate on every command) reads
 * the pin lock (src/pins/parse.ts); `picomatch` (62 KiB) matches
 * `unsafeHttpWhitelist` when a request is made (src/yarn/transport.ts).
 */
const DEFERRED_PACKAGES = ['yaml', 'picomatch'];

/** Settings all bundles share. */
const COMMON: BuildOptions = {
  bundle: true,
  resolveExtensions: ['.tsx', '.ts', '.jsx', '.mjs', '.js', '.css', '.json'],
  logLevel: 'warning',
  platform: 'node',
  // SIGSTORE_BUILD_READABLE=1 keeps names, for CPU profiles (`node --cpu-prof`); never for a release.
  minify: process.env.SIGSTORE_BUILD_READABLE !== '1',
  target: TARGET,
  // Yarn's plugin runtime does not resolve `node:` built-ins.
  supported: { 'node-colon-prefix-import': false, 'node-colon-prefix-require': false },
};

async function main(): Promise<void> {
  const metafile = process.argv.includes('--metafile');
  mkdirSync(dirname(OUTPUT), { recursive: true });
  const workers = await buildWorkers(COMMON, [stubbed]);
  const split = await buildSplit({
    root: ROOT,
    common: { ...COMMON, plugins: [yarnProvided, stubbed], define: Object.fromEntries(WORKERS.map(({ define }, i) => [define, JSON.stringify(workers[i])])) },
    loadTime: {
      banner: { js: ['/* eslint-disable */', '//prettier-ignore', 'module.exports = {', `name: ${JSON.stringify(NAME)},`, 'factory: function (require) {'].join('\n') },
      globalName: 'plugin',
      footer: { js: ['return plugin;', '}', '};'].join('\n') },
      entryPoints: [join(ROOT, 'src', 'index.ts')],
      outfile: OUTPUT,
      format: 'iife',
      // Declared out of the factory, as the lazy part (see LAZY_SOURCE).
      define: Object.fromEntries(WORKERS.map(({ define, variable }) => [define, variable])),
    },
    prelude: WORKERS.map(({ variable }, i) => `var ${variable} = ${JSON.stringify(workers[i])};`),
    deferredPackages: DEFERRED_PACKAGES,
    compiler: join(ROOT, 'src', 'code-cache.ts'),
  });
  if (metafile) {
    writeFileSync(OUTPUT.replace(/\.js$/, '.meta.json'), JSON.stringify(split.loadTime));
    writeFileSync(OUTPUT.replace(/\.js$/, '.lazy.meta.json'), JSON.stringify(split.lazy));
  }
  const mib = (bytes: number) => (bytes / 1048576).toFixed(2);
  const total = statSync(OUTPUT).size;
  const workerBytes = workers.reduce((sum, worker) => sum + worker.length, 0);
  const workerSizes = WORKERS.map(({ name }, i) => `${name} ${mib(workers[i].length)} MiB`).join(', ');
  console.log(`built ${OUTPUT} (${mib(total)} MiB: ${mib(total - split.lazyBytes - workerBytes)} MiB of code parsed at load, lazy part ${mib(split.lazyBytes)} MiB and workers (${workerSizes}) as strings; ${split.shared} modules shared)`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
