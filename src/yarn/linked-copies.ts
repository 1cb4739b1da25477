/**
 * Linked copies are trusted only if this machine made them. Yarn does not
 * extract a package again when its linked copy looks installed (PnP: an
 * unplugged folder holding `.ready`; node-modules: a package
 * `node_modules/.yarn-state.yml` lists; pnpm: files already in the store are
 * never overwritten), so a committed or cache-restored copy with an edited
 * script or build output would run although the gate verified the zips.
 *
 * Before the link step, each output folder of the active linker is compared
 * with this user's MAC'd record of it (written after the previous link step:
 * the folder's identity and the moment it was linked; always under the
 * per-user key, never SIGSTORE_RECORD_KEY: it vouches for this machine's
 * folders and its clock): without a record, the
 * whole folder goes; with one, every copy holding an entry changed since goes.
 * Yarn then extracts what is missing again from the verified zips and builds
 * it (the build state of what was removed is dropped). The folders are
 * scanned from the start of the install, whose steps before linking write
 * nothing into them (large ones on a worker thread: src/linked/scan-thread.ts);
 * what the scan found is acted on first thing in the link step, before
 * anything is read.
 */
import { Project, type InstallOptions, type Report } from '@yarnpkg/core';
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import { createHash } from 'crypto';
import { lstatSync, readdirSync, rmSync } from 'fs';
import { join, relative } from 'path';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { scanFolders } from '../linked/scan-thread';
import { holdsHardlinks, type TreeChanges, type TreeLayout } from '../linked/tree';
import { reportError } from './errors';
import { readRecord, writeRecord } from '../install/record-files';
import { patchOnce } from './state';

interface LinkedRoot {
  path: string;
  layout: TreeLayout;
}

interface LinkedRecord {
  /** Epoch ms after the link step (builds included) ended: later ctimes are someone else's. */
  linkedAtMs: number;
  /** Output folder -> `dev:ino`: a folder replaced whole is another folder. */
  roots: Record<string, string>;
  /** Entries the scan before that link step met: where the next scan runs (src/linked/scan-thread.ts). */
  entries?: number;
}

/** A linker output folder as the scan found it: its identity then, and what changed in it (absent when no record vouches for it). */
interface ScannedRoot extends LinkedRoot {
  identity: string;
  changes?: Promise<TreeChanges>;
}

/** The scan of each project's linked folders, started with its install. */
const scans = new WeakMap<Project, Promise<ScannedRoot[]>>();

export function installLinkStepHooks(): void {
  // The scan starts with the install: neither resolution nor the fetch step writes into the linked folders.
  patchOnce('install', () => {
    const install = Project.prototype.install;
    Project.prototype.install = function (this: Project, options) {
      // `--mode=update-lockfile` links nothing: a scan would only keep the process alive.
      if (options.mode !== 'update-lockfile') {
        const scan = scanLinkedRoots(this);
        // Awaited by the link step; an install that fails before it must not end on an unhandled rejection.
        scan.catch(() => undefined);
        scans.set(this, scan);
      }
      return install.call(this, options);
    };
  });
  patchOnce('linkEverything', () => {
    const linkEverything = Project.prototype.linkEverything;
    Project.prototype.linkEverything = async function (this: Project, options: InstallOptions) {
      useLocalHardlinks(this, options.report);
      const scanned = scans.get(this) ?? scanLinkedRoots(this);
      scans.delete(this);
      const entries = await distrustForeignCopies(this, options.report, await scanned);
      await linkEverything.call(this, options);
      const linkedAtMs = Date.now() + 1;
      const roots = Object.fromEntries(linkedRoots(this).flatMap((root) => identityOf(root.path).map((id) => [root.path, id])));
      await writeRecord(recordFile(this), { linkedAtMs, roots, entries } satisfies LinkedRecord, { machine: true });
    };
  });
}

/** Each linked folder that exists, with its scan when this machine's record vouches for the folder itself. */
async function scanLinkedRoots(project: Project): Promise<ScannedRoot[]> {
  const present: ScannedRoot[] = linkedRoots(project).flatMap((root) => identityOf(root.path).map((identity) => ({ ...root, identity })));
  if (present.length === 0) return [];
  const record = await readRecord<LinkedRecord>(recordFile(project), { machine: true });
  if (typeof record?.linkedAtMs !== 'number') return present;
  const { linkedAtMs, roots, entries } = record;
  const vouched = present.filter((root) => roots?.[root.path] === root.identity);
  const sharedIndex = project.configuration.get('nodeLinker') === 'pnpm' ? indexOf(project) : undefined;
  const changes = scanFolders(
    vouched.map((root) => ({ folder: root.path, layout: root.layout, sinceMs: linkedAtMs, sharedIndex })),
    typeof entries === 'number' ? entries : 0,
  );
  vouched.forEach((root, i) => {
    root.changes = changes[i];
    root.changes.catch(() => undefined);
  });
  return present;
}

/**
 * `nmMode: hardlinks-global` links every file from a store in Yarn's global
 * folder that other projects' installs share (and touch: their ctimes move)
 * and that nothing binds to the verified zips; this install uses
 * hardlinks-local instead, and says so.
 */
function useLocalHardlinks(project: Project, report: Report): void {
  if (project.configuration.get('nodeLinker') !== 'node-modules' || project.configuration.get('nmMode') !== 'hardlinks-global') return;
  project.configuration.values.set('nmMode', 'hardlinks-local');
  report.reportWarning(0, 'sigstore: nmMode hardlinks-global links files from a store in the global folder that is not bound to the verified archives: this install uses hardlinks-local');
}

const globalFolderOf = (project: Project): string => npath.fromPortablePath(project.configuration.get('globalFolder') as PortablePath);

function recordFile(project: Project): string {
  return join(globalFolderOf(project), 'sigstore', 'linked', `${createHash('sha256').update(npath.fromPortablePath(project.cwd)).digest('hex')}.json`);
}

/** The folders the active linker writes copies into. */
function linkedRoots(project: Project): LinkedRoot[] {
  const folder = (setting: string): string => npath.fromPortablePath(project.configuration.get(setting) as PortablePath);
  switch (project.configuration.get('nodeLinker')) {
    case 'pnp':
      return [{ path: folder('pnpUnpluggedFolder'), layout: 'copies' }];
    case 'pnpm':
      return [{ path: folder('pnpmStoreFolder'), layout: 'copies' }];
    case 'node-modules':
      return project.workspaces.map((workspace) => ({ path: npath.fromPortablePath(ppath.join(workspace.cwd, 'node_modules' as PortablePath)), layout: 'node_modules' }));
    default:
      return [];
  }
}

const identityOf = (path: string): string[] => {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  return stats?.isDirectory() ? [`${stats.dev}:${stats.ino}`] : [];
};

/** Acts on the scan: removes what this machine did not link. Returns the entries scanned (undefined when nothing was). */
async function distrustForeignCopies(project: Project, report: Report, scanned: ScannedRoot[]): Promise<number | undefined> {
  const shown = (path: string) => relative(npath.fromPortablePath(project.cwd), path) || '.';
  const pnpm = project.configuration.get('nodeLinker') === 'pnpm';
  let resetBuilds = false;
  let dropIndex = false;
  let entries: number | undefined;
  for (const root of linkedRoots(project)) {
    const [identity] = identityOf(root.path);
    if (identity === undefined) continue;
    // A folder that appeared or was replaced since the scan started is another folder: nothing vouches for it.
    const scan = scanned.find((candidate) => candidate.path === root.path && candidate.identity === identity)?.changes;
    const changes = scan ? await scan : { copies: [], whole: true, entries: 0 };
    if (scan) entries = (entries ?? 0) + changes.entries;
    if (changes.whole) {
      const why = scan ? 'its state file changed since this machine linked it' : `this machine has no record of linking it with this linker: a commit, a cache restore, another linker's output, or the first install with this plugin`;
      report.reportWarning(0, `sigstore: ${shown(root.path)} was not linked by this machine (${why}): its content is removed and every package is extracted again from the verified archives`);
      for (const entry of readdirSync(root.path)) removeCopy(join(root.path, entry), shown);
      resetBuilds = true;
      dropIndex ||= pnpm;
      continue;
    }
    for (const copy of changes.copies) {
      report.reportWarning(0, `sigstore: ${shown(copy)} changed since this machine linked it: removed, extracted again from the verified archive`);
      // Yarn drops the build state of a package whose copy is missing (PnP, node-modules), but not of the nested copies removed with it, nor in the pnpm store.
      if (pnpm || identityOf(join(copy, 'node_modules')).length > 0) resetBuilds = true;
      // A pnpm copy's files are hard links into Yarn's shared index: an edit in place changed the index too, and Yarn would link it again as it is.
      dropIndex ||= pnpm && holdsHardlinks(copy);
      removeCopy(copy, shown);
    }
  }
  if (resetBuilds) project.storedBuildState.clear();
  if (dropIndex) removeCopy(indexOf(project), (path) => path);
  return entries;
}

const indexOf = (project: Project): string => join(globalFolderOf(project), 'index');

function removeCopy(path: string, shown: (path: string) => string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (error) {
    const cause = (error as Error).message;
    throw reportError(new SigstorePluginError(ErrorCodes.LINKED_COPY_UNTRUSTED, `${shown(path)} was not linked by this machine (or changed since) and cannot be removed, so Yarn would use it as it is: ${cause}`, { cause: error }));
  }
}
