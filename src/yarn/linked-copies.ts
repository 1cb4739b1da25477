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
 * it (the build state of what was removed is dropped). Nothing is read before
 * this runs: it is the first thing the link step does.
 */
import { Project, type InstallOptions, type Report } from '@yarnpkg/core';
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import { createHash } from 'crypto';
import { lstatSync, readFileSync, readdirSync, rmSync, type Stats } from 'fs';
import { join, relative } from 'path';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { changedCopies, holdsHardlinks, type Since, type TreeLayout } from '../linked/tree';
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
}

export function installLinkStepHooks(): void {
  patchOnce('linkEverything', () => {
    const linkEverything = Project.prototype.linkEverything;
    Project.prototype.linkEverything = async function (this: Project, options: InstallOptions) {
      useLocalHardlinks(this, options.report);
      const record = recordFile(this);
      await distrustForeignCopies(this, options.report, await readRecord<LinkedRecord>(record, { machine: true }));
      await linkEverything.call(this, options);
      const linkedAtMs = Date.now() + 1;
      await writeRecord(record, { linkedAtMs, roots: Object.fromEntries(linkedRoots(this).flatMap((root) => identityOf(root.path).map((id) => [root.path, id]))) }, { machine: true });
    };
  });
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

async function distrustForeignCopies(project: Project, report: Report, record: LinkedRecord | undefined): Promise<void> {
  const shown = (path: string) => relative(npath.fromPortablePath(project.cwd), path) || '.';
  const pnpm = project.configuration.get('nodeLinker') === 'pnpm';
  let resetBuilds = false;
  let dropIndex = false;
  for (const root of linkedRoots(project)) {
    const [identity] = identityOf(root.path);
    if (identity === undefined) continue;
    const vouched = record?.roots?.[root.path] === identity && typeof record.linkedAtMs === 'number';
    const changes = vouched ? changedCopies(root.path, root.layout, since(project, record.linkedAtMs)) : { copies: [], whole: true };
    if (changes.whole) {
      const why = vouched ? 'its state file changed since this machine linked it' : 'this machine has no record of linking it';
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
}

const indexOf = (project: Project): string => join(globalFolderOf(project), 'index');

/**
 * The pnpm store's files are hard links into Yarn's index (the global folder's
 * `index`, shared by every project), so another project's install moves their
 * ctime. Such a file still counts when it is the index's own file for its
 * content: Yarn names that file by the content's sha1 (and mode), so an edit
 * in place no longer matches its name, and a replaced file is another inode.
 */
function since(project: Project, ms: number): Since {
  if (project.configuration.get('nodeLinker') !== 'pnpm') return { ms };
  const index = indexOf(project);
  const vouch = (path: string, stats: Stats): boolean => {
    if (!stats.isFile() || stats.nlink < 2) return false;
    const sha1 = createHash('sha1').update(readFileSync(path)).digest('hex');
    const mode = stats.mode & 0o777;
    const indexed = lstatSync(join(index, sha1.slice(0, 2), `${sha1}${mode === 0o644 ? '' : mode.toString(8)}.dat`), { throwIfNoEntry: false });
    return indexed?.dev === stats.dev && indexed.ino === stats.ino;
  };
  return { ms, vouch };
}

function removeCopy(path: string, shown: (path: string) => string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (error) {
    const cause = (error as Error).message;
    throw reportError(new SigstorePluginError(ErrorCodes.LINKED_COPY_UNTRUSTED, `${shown(path)} was not linked by this machine (or changed since) and cannot be removed, so Yarn would use it as it is: ${cause}`, { cause: error }));
  }
}
