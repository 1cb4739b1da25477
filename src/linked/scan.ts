/**
 * One linker output folder's scan as data (what a worker thread is handed):
 * the folder, its layout, the moment copies must not have changed since, and
 * the shared content index whose own files may vouch for a newer ctime.
 */
import { createHash } from 'crypto';
import { lstatSync, readFileSync, type Stats } from 'fs';
import { join } from 'path';
import { changedCopies, type TreeChanges, type TreeLayout } from './tree';

export interface ScanRequest {
  folder: string;
  layout: TreeLayout;
  /** Epoch ms of the end of the link step that made the copies. */
  sinceMs: number;
  /** A content index whose files the copies are hard links of (the pnpm linker's store). */
  sharedIndex?: string;
}

export function scanFolder({ folder, layout, sinceMs, sharedIndex }: ScanRequest): TreeChanges {
  return changedCopies(folder, layout, { ms: sinceMs, vouch: sharedIndex === undefined ? undefined : indexVouch(sharedIndex) });
}

/**
 * A file hard linked from a shared index changes ctime whenever another
 * project links it. It still counts when it is the index's own file for its
 * content: the index names that file by the content's sha1 (and mode), so an
 * edit in place no longer matches its name, and a replaced file is another inode.
 */
function indexVouch(index: string): (path: string, stats: Stats) => boolean {
  return (path, stats) => {
    if (!stats.isFile() || stats.nlink < 2) return false;
    const sha1 = createHash('sha1').update(readFileSync(path)).digest('hex');
    const mode = stats.mode & 0o777;
    const indexed = lstatSync(join(index, sha1.slice(0, 2), `${sha1}${mode === 0o644 ? '' : mode.toString(8)}.dat`), { throwIfNoEntry: false });
    return indexed?.dev === stats.dev && indexed.ino === stats.ino;
  };
}
