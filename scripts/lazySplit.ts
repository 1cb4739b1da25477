/**
 * The esbuild plugins that split the plugin bundle into a load-time part and
 * a lazy part embedded as a string (see the header of build-plugin.ts for why).
 *
 * - `deferDynamicImports` (load-time build): every `import()` of a bundled
 *   module becomes a stub that asks the runtime for that module's namespace.
 * - `shareLoadTimeModules` (lazy build): every import of a module that the
 *   load-time part already contains becomes `require("sigstore-shared:<key>")`,
 *   answered by the runtime with the load-time part's own instance, so no
 *   module exists twice (one `SigstorePluginError` class, one session state).
 * - `lazyRuntime`: the runtime, generated from the set of shared modules. It
 *   evaluates the lazy string once, on the first `import()` that needs it.
 */
import { relative } from 'node:path';
import type { Metafile, OnResolveArgs, Plugin, PluginBuild } from 'esbuild';

/** The private request prefix under which the lazy part asks for load-time modules. */
export const SHARED_PREFIX = 'sigstore-shared:';
const RUNTIME = 'sigstore-lazy-runtime';
const STUB_NAMESPACE = 'sigstore-lazy';
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

/** Load-time build: `import()` of a bundled module returns the lazy part's namespace of it. `targets` collects their keys. */
export function deferDynamicImports(root: string, targets: Set<string>): Plugin {
  return {
    name: 'defer-dynamic-imports',
    setup(build) {
      build.onResolve({ filter: /()/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData?.[NESTED]) return undefined;
        const resolved = await resolveAsUsual(build, args);
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external || resolved.namespace !== 'file') return resolved;
        const key = moduleKey(root, resolved.path);
        targets.add(key);
        return { path: key, namespace: STUB_NAMESPACE };
      });
      build.onLoad({ filter: /()/, namespace: STUB_NAMESPACE }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(RUNTIME)}).lazyModule(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
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

/** The lazy build's entry: the namespaces of the dynamic-import targets, by key. */
export function lazyEntry(root: string, targets: Iterable<string>): string {
  const keys = [...targets];
  const imports = keys.map((key, index) => `import * as m${index} from ${JSON.stringify(`${root}/${key}`)};`);
  const map = keys.map((key, index) => `${JSON.stringify(key)}: m${index}`);
  return `${imports.join('\n')}\nexport const modules = { ${map.join(', ')} };\n`;
}

/**
 * The runtime. `shared` maps each load-time module the lazy part uses to its
 * format there: an ES module is handed over as its namespace, a CommonJS one
 * as its `module.exports` (what a `require` of it returns). Without `lazySource`
 * (the first load-time build, which only collects modules) it cannot load.
 */
export function lazyRuntime(root: string, shared: ReadonlyMap<string, 'esm' | 'cjs'>, lazySource: string | undefined): Plugin {
  const entries = [...shared].map(([key, format], index) => {
    const path = JSON.stringify(`${root}/${key}`);
    return format === 'esm'
      ? { importLine: `import * as s${index} from ${path};`, getter: `${JSON.stringify(key)}: () => asModule(s${index})` }
      : { importLine: '', getter: `${JSON.stringify(key)}: () => require(${path})` };
  });
  const contents = `
${entries.map((entry) => entry.importLine).join('\n')}
const SOURCE = ${lazySource === undefined ? 'undefined' : JSON.stringify(lazySource)};
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
    new Function('module', 'exports', 'require', '__filename', '__dirname', SOURCE + '\\n//# sourceURL=plugin-sigstore-lazy.js')(
      module, module.exports, requireFromLazy, typeof __filename === 'string' ? __filename : undefined, typeof __dirname === 'string' ? __dirname : undefined);
    lazy = module.exports.modules;
  }
  return asModule(lazy[key]);
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
