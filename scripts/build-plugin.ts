/**
 * `npm run build`: bundles the plugin as `builder build plugin` does (same
 * esbuild settings, banner and footer, Yarn's own libraries left to the
 * plugin's `require`), plus one thing the builder cannot do: cosmiconfig's
 * TypeScript loader is replaced by a stub. It would pull the whole
 * `typescript` compiler (3.4 MiB of a 3.8 MiB bundle, ~90 ms parsed on every
 * Yarn command) for policy files the plugin does not search for anyway
 * (POLICY_FILE_NAMES has no `.ts`).
 *
 * The verification worker (src/yarn/verifyWorker.ts) is bundled first, on its
 * own, and embedded as the string `__SIGSTORE_VERIFY_WORKER__`: a Yarn plugin
 * is one file, and a worker needs its code.
 *
 * `--metafile` also writes bundles/@yarnpkg/plugin-sigstore.meta.json.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { getDynamicLibs } from '@yarnpkg/cli';

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

/** `typescript` (only cosmiconfig's `.ts` loader asks for it): a stub that refuses, never the compiler. */
const noTypescript: Plugin = {
  name: 'no-typescript',
  setup(build) {
    build.onResolve({ filter: /^typescript$/ }, () => ({ path: 'typescript', namespace: 'no-typescript' }));
    build.onLoad({ filter: /.*/, namespace: 'no-typescript' }, () => ({
      contents: 'throw new Error("yarn-plugin-sigstore does not load TypeScript policy files: use YAML, JSON or JavaScript");',
      loader: 'js',
    }));
  },
};

/** Settings both bundles share. */
const COMMON: BuildOptions = {
  bundle: true,
  resolveExtensions: ['.tsx', '.ts', '.jsx', '.mjs', '.js', '.css', '.json'],
  logLevel: 'warning',
  platform: 'node',
  minify: true,
  target: TARGET,
  // Yarn's plugin runtime does not resolve `node:` built-ins.
  supported: { 'node-colon-prefix-import': false, 'node-colon-prefix-require': false },
};

/** The worker's code: Node built-ins only, everything else inside. */
async function buildWorker(): Promise<string> {
  const result = await build({ ...COMMON, entryPoints: [join(ROOT, 'src', 'yarn', 'verifyWorker.ts')], format: 'cjs', write: false, plugins: [noTypescript] });
  return result.outputFiles![0].text;
}

async function main(): Promise<void> {
  const metafile = process.argv.includes('--metafile');
  mkdirSync(dirname(OUTPUT), { recursive: true });
  const worker = await buildWorker();
  const result = await build({
    ...COMMON,
    banner: { js: ['/* eslint-disable */', '//prettier-ignore', 'module.exports = {', `name: ${JSON.stringify(NAME)},`, 'factory: function (require) {'].join('\n') },
    globalName: 'plugin',
    footer: { js: ['return plugin;', '}', '};'].join('\n') },
    entryPoints: [join(ROOT, 'src', 'index.ts')],
    outfile: OUTPUT,
    metafile,
    format: 'iife',
    plugins: [yarnProvided, noTypescript],
    define: { __SIGSTORE_VERIFY_WORKER__: JSON.stringify(worker) },
  });
  if (metafile && result.metafile) writeFileSync(OUTPUT.replace(/\.js$/, '.meta.json'), JSON.stringify(result.metafile));
  console.log(`built ${OUTPUT} (${(statSync(OUTPUT).size / 1048576).toFixed(2)} MiB, of which the verification worker ${(worker.length / 1048576).toFixed(2)} MiB)`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
