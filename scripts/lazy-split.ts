/**
 * The esbuild plugins that split the plugin bundle into a load-time part and
 * a lazy part embedded as a string (see the header of build-plugin.ts for why).
 *
 * - `deferDynamicImports` (load-time build): every `import()` of a bundled
 *   module (and every static import of a few large packages) becomes a stub
 *   that asks the runtime for that module's exports.
 * - `shareLoadTimeModules` (lazy build): every import of a module that the
 *   load-time part already contains becomes `require("sigstore-shared:<key>")`,
 *   answered by the runtime with the load-time part's own instance, so no
 *   module exists twice (one `SigstorePluginError` class, one session state).
 * - `lazyRuntime`: the runtime, generated from the set of shared modules. It
 *   evaluates the lazy string once, on the first `import()` that needs it,
 *   compiled by the `compiler` module when one is given (the plugin's keeps
 *   V8's code cache, src/code-cache.ts), else by `new Function`.
 */
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { build, type BuildOptions, type Metafile, type OnResolveArgs, type Plugin, type PluginBuild } from 'esbuild';

/**
 * The variable that holds the lazy part, declared at the top of the file, out
 * of every function: V8 scans a function's text again each time it compiles
 * it, and the factory and the runtime's lazy initialiser are compiled on load.
 */
export const LAZY_SOURCE = '__sigstoreLazySource';

/** The private request prefix under which the lazy part asks for load-time modules. */
export const SHARED_PREFIX = 'sigstore-shared:';
const RUNTIME = 'sigstore-lazy-runtime';
const STUB_NAMESPACE = 'sigstore-lazy';
const DEFERRED_NAMESPACE = 'sigstore-deferred';
/** Marks the nested `build.resolve` so the plugin does not answer itself. */
const NESTED = Symbol('nested-resolve');

/** A module's key: its path relative to the build's working directory, as the metafile names it. */
export const moduleKey = (root: string, path: string) => relative(root, path).split('\\').join('/');

/** How esbuild (and the other plugins) would resolve the request without this plugin. */
function resolveAsUsual(build: PluginBuild, args: OnResolveArgs) {
  return build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { [NESTED]: true } });
}

/** The real files of a build (the metafile keys without a namespace). */
export function bundledFiles(metafile: Metafile): Map<string, Metafile['inputs'][string]> {
  return new Map(Object.entries(metafile.inputs).filter(([key]) => !/^[\w-]+:/.test(key)));
}

/** The package name of a bare request; undefined for a relative or absolute path. */
const packageOf = (request: string) => request.match(/^((?:@[^/.][^/]*\/)?[^/.][^/]*)/)?.[1];

/**
 * Load-time build: `import()` of a bundled module returns the lazy part's
 * namespace of it; a static import of one of `deferredPackages` (large, and
 * only called at install time) gets an object whose exports load the lazy
 * part on first use. Their names come from requiring the package here: a
 * CommonJS package declares none. `targets` collects the deferred keys.
 */
export function deferDynamicImports(root: string, targets: Set<string>, deferredPackages: readonly string[] = []): Plugin {
  return {
    name: 'defer-dynamic-imports',
    setup(build) {
      build.onResolve({ filter: /()/ }, async (args) => {
        const deferredStatic = args.kind === 'import-statement' && deferredPackages.includes(packageOf(args.path) ?? '');
        if ((args.kind !== 'dynamic-import' && !deferredStatic) || args.pluginData?.[NESTED]) return undefined;
        const resolved = await resolveAsUsual(build, args);
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external || resolved.namespace !== 'file') return resolved;
        const key = moduleKey(root, resolved.path);
        targets.add(key);
        return { path: key, namespace: deferredStatic ? DEFERRED_NAMESPACE : STUB_NAMESPACE };
      });
      const stub = (exports: string) => ({ contents: `module.exports = require(${JSON.stringify(RUNTIME)}).${exports};`, loader: 'js' as const });
      build.onLoad({ filter: /()/, namespace: STUB_NAMESPACE }, (args) => stub(`lazyModule(${JSON.stringify(args.path)})`));
      build.onLoad({ filter: /()/, namespace: DEFERRED_NAMESPACE }, (args) => {
        const names = Object.keys(createRequire(`${root}/`)(`${root}/${args.path}`));
        return stub(`deferredExports(${JSON.stringify(args.path)}, ${JSON.stringify(names)})`);
      });
    },
  };
}

/** Lazy build: modules of the load-time part (`loadTime` keys) are required from it, never bundled again. `used` collects them. */
export function shareLoadTimeModules(root: string, loadTime: ReadonlySet<string>, used: Set<string>): Plugin {
  return {
    name: 'share-load-time-modules',
    setup(build) {
      build.onResolve({ filter: /()/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData?.[NESTED]) return undefined;
        const resolved = await resolveAsUsual(build, args);
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external || resolved.namespace !== 'file') return resolved;
        const key = moduleKey(root, resolved.path);
        if (!loadTime.has(key)) return resolved;
        used.add(key);
        return { path: SHARED_PREFIX + key, external: true };
      });
    },
  };
}

/**
 * The lazy build's entry: for each deferred module, by key, a function that
 * requires it. Each module is initialised when first asked for, as in one
 * bundle: `yarn sigstore policy check` does not start the TUF client.
 */
export function lazyEntry(root: string, targets: Iterable<string>): string {
  // Sorted: `targets` fills in the order esbuild resolves imports, which varies from run to run; the bundle must not.
  const map = [...targets].sort().map((key) => `${JSON.stringify(key)}: () => require(${JSON.stringify(`${root}/${key}`)})`);
  return `module.exports.modules = { ${map.join(', ')} };\n`;
}

/**
 * The runtime. `shared` maps each load-time module the lazy part uses to its
 * format there: an ES module is handed over as its namespace, a CommonJS one
 * as its `module.exports` (what a `require` of it returns). The lazy code is
 * the variable LAZY_SOURCE, declared by the bundle's banner.
 */
export function lazyRuntime(root: string, shared: ReadonlyMap<string, 'esm' | 'cjs'>, compiler?: string): Plugin {
  const entries = [...shared].map(([key, format], index) => {
    const path = JSON.stringify(`${root}/${key}`);
    return format === 'esm'
      ? { importLine: `import * as s${index} from ${path};`, getter: `${JSON.stringify(key)}: () => asModule(s${index})` }
      : { importLine: '', getter: `${JSON.stringify(key)}: () => require(${path})` };
  });
  // A compiler module exports compileLazySource(source, name): the module function of the source.
  const compile = compiler
    ? { importLine: `import { compileLazySource } from ${JSON.stringify(compiler)};`, call: `compileLazySource(SOURCE, 'plugin-sigstore-lazy')` }
    : { importLine: '', call: `new Function('module', 'exports', 'require', '__filename', '__dirname', SOURCE + '\\n//# sourceURL=plugin-sigstore-lazy.js')` };
  const contents = `
${compile.importLine}
${entries.map((entry) => entry.importLine).join('\n')}
const SOURCE = typeof ${LAZY_SOURCE} === 'string' ? ${LAZY_SOURCE} : undefined;
const shared = { ${entries.map((entry) => entry.getter).join(', ')} };
const namespaces = new Map();
let lazy;
/* An ES namespace as a CommonJS exports object that esbuild's interop reads as one (named and default exports). */
function asModule(namespace) {
  let module = namespaces.get(namespace);
  if (module) return module;
  module = Object.defineProperty({}, '__esModule', { value: true });
  for (const name of Object.keys(namespace)) Object.defineProperty(module, name, { enumerable: true, get: () => namespace[name] });
  namespaces.set(namespace, module);
  return module;
}
function requireFromLazy(request) {
  if (!request.startsWith(${JSON.stringify(SHARED_PREFIX)})) return require(request);
  const get = shared[request.slice(${SHARED_PREFIX.length})];
  if (!get) throw new Error('yarn-plugin-sigstore: the lazy part asked for a module the plugin does not share: ' + request);
  return get();
}
export function lazyModule(key) {
  if (lazy === undefined) {
    if (SOURCE === undefined) throw new Error('yarn-plugin-sigstore: built without its lazy part');
    const module = { exports: {} };
    ${compile.call}(
      module, module.exports, requireFromLazy, typeof __filename === 'string' ? __filename : undefined, typeof __dirname === 'string' ? __dirname : undefined);
    lazy = module.exports.modules;
  }
  return lazy[key]();
}
/* A module imported statically but deferred: its exports read through to the lazy part on first use. */
export function deferredExports(key, names) {
  const exports = {};
  for (const name of names) Object.defineProperty(exports, name, { enumerable: true, get: () => lazyModule(key)[name] });
  return exports;
}
`;
  return {
    name: 'lazy-runtime',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${RUNTIME}$`) }, () => ({ path: RUNTIME, namespace: RUNTIME }));
      build.onLoad({ filter: /()/, namespace: RUNTIME }, () => ({ contents, loader: 'js', resolveDir: root }));
    },
  };
}

export interface SplitOptions {
  /** The build's working directory: module keys are relative to it. */
  root: string;
  /** Options of both parts (bundle, platform, target, minify, plugins for externals, define). */
  common: BuildOptions;
  /** The load-time part's own options: entryPoints, outfile, format, banner... Its `define` adds to the common one. */
  loadTime: BuildOptions;
  /** Declarations put first in the file, out of the banner's function (large strings, see LAZY_SOURCE). */
  prelude?: string[];
  /** A module of the load-time part exporting `compileLazySource(source, name)`, which compiles the lazy part (see lazyRuntime). */
  compiler?: string;
  /** Packages that load-time code imports statically but that are deferred too (see deferDynamicImports). */
  deferredPackages?: readonly string[];
}

export interface SplitResult {
  loadTime: Metafile;
  lazy: Metafile;
  /** The lazy part's code, in bytes, before it is quoted as a string. */
  lazyBytes: number;
  /** How many load-time modules the lazy part uses. */
  shared: number;
}

/**
 * Builds `loadTime.outfile` as the two parts: (1) the load-time part with
 * every deferred import stubbed, to learn its modules; (2) the lazy part,
 * those modules external; (3) the load-time part again, with the lazy part
 * declared before its banner. Fails if a module ends up in both parts.
 */
export async function buildSplit(options: SplitOptions): Promise<SplitResult> {
  const { root, common, prelude = [] } = options;
  const loadTimeBuild = (runtime: Plugin, targets: Set<string>, lazySource?: string) => {
    const declarations = [...prelude, ...(lazySource === undefined ? [] : [`var ${LAZY_SOURCE} = ${JSON.stringify(lazySource)};`])];
    const banner = [...declarations, options.loadTime.banner?.js ?? ''].join('\n');
    return build({
      ...common,
      ...options.loadTime,
      ...(lazySource === undefined ? { write: false } : {}),
      absWorkingDir: root,
      banner: { js: banner },
      metafile: true,
      plugins: [...(common.plugins ?? []), deferDynamicImports(root, targets, options.deferredPackages), runtime],
      define: { ...common.define, ...options.loadTime.define },
    });
  };
  const targets = new Set<string>();
  const first = await loadTimeBuild(lazyRuntime(root, new Map(), options.compiler), targets);
  const loadTimeFiles = bundledFiles(first.metafile!);
  const used = new Set<string>();
  const lazy = await build({
    ...common,
    absWorkingDir: root,
    stdin: { contents: lazyEntry(root, targets), resolveDir: root, loader: 'js', sourcefile: 'sigstore-lazy-entry.js' },
    write: false,
    metafile: true,
    format: 'cjs',
    plugins: [...(common.plugins ?? []), shareLoadTimeModules(root, new Set(loadTimeFiles.keys()), used)],
  });
  const lazySource = lazy.outputFiles![0].text;
  const shared = new Map([...used].sort().map((key) => [key, loadTimeFiles.get(key)!.format === 'esm' ? 'esm' : 'cjs'] as const));
  const final = await loadTimeBuild(lazyRuntime(root, shared, options.compiler), new Set(), lazySource);
  checkSplit(first.metafile!, final.metafile!, lazy.metafile!);
  return { loadTime: final.metafile!, lazy: lazy.metafile!, lazyBytes: lazySource.length, shared: shared.size };
}

/** Fails when a module is in both parts, or the final load-time part has modules the first build (and so the lazy build) did not know about. */
export function checkSplit(first: Metafile, final: Metafile, lazy: Metafile): void {
  const loadTime = bundledFiles(final);
  const expected = bundledFiles(first);
  const both = [...bundledFiles(lazy).keys()].filter((key) => loadTime.has(key));
  const grown = [...loadTime.keys()].filter((key) => !expected.has(key));
  if (both.length > 0 || grown.length > 0) {
    throw new Error(`the plugin split is broken: in both parts: ${both.join(', ') || 'none'}; new at load time: ${grown.join(', ') || 'none'}`);
  }
}
