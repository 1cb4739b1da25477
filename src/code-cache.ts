/**
 * V8's code cache for the code the plugin compiles from a string (its lazy
 * part, scripts/lazy-split.ts): without it every install compiles that code
 * again. The cache is bytecode, which V8 runs without checking it, so a file
 * is taken only under this user's record key (src/install/record-files.ts,
 * kept outside every Yarn and CI cache folder), for this very source, Node
 * version and architecture; anything else is a miss. A cache is written when
 * the process exits, with every function the process compiled by then.
 * The code compiled here cannot `import()` (below): it imports files
 * through importFile, which this module, compiled by Node with the plugin
 * file, can.
 */
import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { pathToFileURL } from 'url';
import { Script } from 'vm';
import { userRecordKey } from './install/record-files';

/** A CommonJS module body as a function of its module's variables. */
export type ModuleFunction = (module: { exports: unknown }, exports: unknown, require: (request: string) => unknown, filename: string | undefined, dirname: string | undefined) => void;

/** What became of a cache file: taken, none yet, refused (not made under this key for this source), or refused by V8 (another V8 or its flags). */
export type CodeCacheState = 'used' | 'missing' | 'invalid' | 'rejected';

const MAC_BYTES = 32;
/** One byte after the MAC: whether the process that wrote the cache ran an install (its cache holds the install's functions). */
export const INSTALL_FLAG = 1;

/** `$XDG_CACHE_HOME/yarn-plugin-sigstore/code` (default `~/.cache`). */
export function codeCacheFolder(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'yarn-plugin-sigstore', 'code');
}

/** The file of one source for this Node: older ones of the same name and Node are removed when it is written. */
export const codeCacheFile = (folder: string, name: string, digest: string) => join(folder, `${filePrefix(name)}${digest.slice(0, 32)}.bin`);
const filePrefix = (name: string) => `${name}-${process.version}-${process.arch}-`;

export const sourceDigest = (source: string) => createHash('sha256').update(source).digest('hex');

/** The script V8 compiles: the source as the body of a CommonJS module function. */
export const moduleScript = (source: string) => `(function (module, exports, require, __filename, __dirname) {${source}\n})`;

/** The MAC binds the bytecode to the source it was made from: V8 itself checks only the source's length. */
function macOf(key: Buffer, digest: string, flags: number, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(`yarn-plugin-sigstore code cache v1\0${digest}\0${process.version}\0${process.arch}\0`).update(Uint8Array.of(flags)).update(data).digest();
}

/** A cache file's bytes: the MAC, the flags byte, V8's data. */
export const sealCodeCache = (key: Buffer, digest: string, flags: number, data: Uint8Array): Buffer => Buffer.concat([macOf(key, digest, flags, data), Uint8Array.of(flags), data]);

interface Compiled {
  run: ModuleFunction;
  state: CodeCacheState;
  /** Writes the cache if this process should (see `wantsWrite`); called on exit. */
  save(): void;
}

let installRan = false;

/** Called when an install starts: a cache written without one is then written again, with the install's functions. */
export function noteInstall(): void {
  installRan = true;
}

/**
 * Compiles a CommonJS module body (`source`, named `name` in stack traces)
 * with the code cache of `folder`. Never throws for the cache: a cache that
 * cannot be read or written only costs the next process a compilation.
 */
export function compileWithCodeCache(source: string, name: string, folder = codeCacheFolder()): Compiled {
  const digest = sourceDigest(source);
  const path = codeCacheFile(folder, name, digest);
  const key = userRecordKey();
  let cached: Buffer | undefined;
  let cachedFlags = 0;
  let state: CodeCacheState = 'missing';
  if (key) {
    try {
      const file = readFileSync(path);
      const flags = file[MAC_BYTES];
      const data = file.subarray(MAC_BYTES + 1);
      if (flags !== undefined && data.length > 0 && timingSafeEqual(file.subarray(0, MAC_BYTES), macOf(key, digest, flags, data))) {
        cached = data;
        cachedFlags = flags;
      } else state = 'invalid';
    } catch {
      // No file yet (or unreadable): a miss.
    }
  }
  const script = new Script(moduleScript(source), { filename: `${name}.js`, cachedData: cached });
  if (cached) state = script.cachedDataRejected ? 'rejected' : 'used';
  const run = script.runInThisContext() as ModuleFunction;
  const wantsWrite = () => state !== 'used' || (installRan && (cachedFlags & INSTALL_FLAG) === 0);
  const save = () => {
    if (!key || !wantsWrite()) return;
    const flags = installRan ? INSTALL_FLAG : 0;
    const data = script.createCachedData();
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      for (const entry of readdirSync(folder)) if (entry.startsWith(filePrefix(name)) && join(folder, entry) !== path) rmSync(join(folder, entry), { force: true });
      writeFileSync(temporary, sealCodeCache(key, digest, flags, data), { mode: 0o600 });
      renameSync(temporary, path);
      state = 'used';
      cachedFlags = flags;
    } catch {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // Left for the next write to replace.
      }
    }
  };
  return { run, get state() { return state; }, save };
}

/** The lazy part's compiler: its cache is written when the process exits (every function compiled by then). */
export function compileLazySource(source: string, name: string): ModuleFunction {
  const compiled = compileWithCodeCache(source, name);
  process.once('exit', () => compiled.save());
  return compiled.run;
}

/**
 * `import()` of a file, as Node does it (ESM or CommonJS by its extension and
 * package type): for a JavaScript policy. The lazy part runs in a vm.Script,
 * where Node 20 answers a dynamic import with "A dynamic import callback was
 * not specified" unless an experimental option is given; this module belongs
 * to the load-time part (it compiles the lazy part), so its `import()` has
 * Node's loader.
 */
export function importFile(path: string): Promise<{ default?: unknown }> {
  return import(pathToFileURL(path).href);
}
