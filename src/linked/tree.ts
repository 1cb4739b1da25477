/**
 * Which package copies in a linker's output folder changed since a moment:
 * every entry is lstat'ed (never followed) and one whose ctime is later
 * counts. ctime cannot be set from user space, and git, tar and cache
 * restores all leave new ctimes on what they write, so a copy that was
 * committed, restored or edited after that moment shows. The walk stops at a
 * copy's first changed entry (the whole copy is discarded anyway).
 * Knows nothing of Yarn: the caller says how the folder is laid out.
 */
import { lstatSync, readdirSync, type Dirent, type Stats } from 'fs';
import { resolve, sep } from 'path';

/**
 * `copies`: every entry below the folder is one package's copy (PnP's unplugged
 * folder, the pnpm linker's store). `node_modules`: package folders (`name`,
 * `@scope/name`) nested through their own `node_modules`; `.bin` folders are
 * copies of their own; the top folder's state file is the linker's record of
 * what the copies are; other dot entries are tools' caches and files (no
 * package is named with a dot), not copies.
 */
export type TreeLayout = 'copies' | 'node_modules';

/** The node-modules linker's record of what it linked, in the top `node_modules` (Yarn's NodeModulesLinker). */
export const NODE_MODULES_STATE_FILE = '.yarn-state.yml';

export interface TreeChanges {
  /** Absolute paths of the copies that changed (each removed whole, nested copies with it). */
  copies: string[];
  /** The folder's state file changed: nothing in it can be vouched for. */
  whole: boolean;
  /** Entries lstat'ed: the folder's size as the next scan will meet it (src/linked/scan-thread.ts decides by it where to scan). */
  entries: number;
}

/**
 * The moment, and who may vouch for an entry with a later ctime: a file hard
 * linked from a shared store changes ctime whenever another project links it.
 */
export interface Since {
  ms: number;
  vouch?: (path: string, stats: Stats) => boolean;
}

/** A directory entry's path: `parent` is normalized (changedCopies resolves the folder once) and `name` a readdir name, so path.join's normalization would only repeat itself on every entry. */
const below = (parent: string, name: string): string => (parent.endsWith(sep) ? parent + name : parent + sep + name);

const newer = (path: string, stats: Stats, since: Since): boolean => stats.ctimeMs > since.ms && !since.vouch?.(path, stats);

function changedSince(path: string, since: Since, changes: TreeChanges): boolean {
  changes.entries++;
  return newer(path, lstatSync(path), since);
}

/** Whether anything in `path` (itself included) changed; `skip` names a child folder left out (a package's own node_modules). One lstat per entry. */
function anyChanged(path: string, since: Since, changes: TreeChanges, skip?: string): boolean {
  changes.entries++;
  const stats = lstatSync(path);
  if (newer(path, stats, since)) return true;
  if (!stats.isDirectory()) return false;
  for (const entry of readdirSync(path)) if (entry !== skip && anyChanged(below(path, entry), since, changes)) return true;
  return false;
}

export function changedCopies(folder: string, layout: TreeLayout, since: Since): TreeChanges {
  const changes: TreeChanges = { copies: [], whole: false, entries: 0 };
  const root = resolve(folder);
  if (layout === 'copies') {
    for (const entry of readdirSync(root)) if (anyChanged(below(root, entry), since, changes)) changes.copies.push(below(root, entry));
  } else {
    walkNodeModules(root, since, changes, true);
  }
  return changes;
}

function walkNodeModules(folder: string, since: Since, changes: TreeChanges, top = false): void {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = below(folder, entry.name);
    if (entry.name === '.bin') {
      if (anyChanged(path, since, changes)) changes.copies.push(path);
    } else if (entry.name.startsWith('.')) {
      // Tools keep caches here (.cache, .vite, .eslintcache): only the linker's own state file says what the copies are.
      if (top && entry.name === NODE_MODULES_STATE_FILE && changedSince(path, since, changes)) changes.whole = true;
    } else if (entry.name.startsWith('@') && entry.isDirectory()) {
      for (const scoped of readdirSync(path, { withFileTypes: true })) walkPackage(below(path, scoped.name), scoped, since, changes);
    } else {
      walkPackage(path, entry, since, changes);
    }
  }
}

function walkPackage(path: string, entry: Dirent, since: Since, changes: TreeChanges): void {
  if (anyChanged(path, since, changes, 'node_modules')) {
    changes.copies.push(path);
    return;
  }
  if (!entry.isDirectory()) return;
  const nested = below(path, 'node_modules');
  changes.entries++;
  const stats = lstatSync(nested, { throwIfNoEntry: false });
  if (stats?.isDirectory()) walkNodeModules(nested, since, changes);
  else if (stats && newer(nested, stats, since)) changes.copies.push(path);
}

/** Whether a file below `path` has other hard links (an in-place edit of it changed them too). */
export function holdsHardlinks(path: string): boolean {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (!stats) return false;
  if (!stats.isDirectory()) return stats.isFile() && stats.nlink > 1;
  return readdirSync(path).some((entry) => holdsHardlinks(below(path, entry)));
}
