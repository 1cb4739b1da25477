/**
 * Linker output folders scanned off Yarn's main thread. A warm install on a
 * developer's machine finds node_modules in place: one lstat per entry, tens
 * of thousands of them, on the thread Yarn's own fetch and link steps run on,
 * while the second core is idle. The scan runs on a worker thread
 * (scan-worker.ts, embedded as `__SIGSTORE_SCAN_WORKER__`) started with the
 * install, whose steps before linking write nothing into these folders.
 * Small folders, or where the bundle carries no worker (tests running the
 * sources), or once the worker failed, are scanned here: a scan is never
 * skipped.
 */
import { WorkerThread } from '../install/worker-thread';
import { scanFolder, type ScanRequest } from './scan';
import type { TreeChanges } from './tree';

declare const __SIGSTORE_SCAN_WORKER__: string | undefined;

class ScanThread extends WorkerThread<ScanRequest, TreeChanges> {
  constructor(source: string) {
    super(source, 'the folder-scan worker');
  }

  scan(request: ScanRequest): Promise<TreeChanges> {
    return this.send(request.folder, request);
  }
}

/**
 * Below this many entries (as the last scan of the folders counted them) a
 * scan costs the main thread less than starting a worker does (~7-10 µs an
 * entry in this thread; a worker takes 30-40 ms of CPU to start, and on a
 * busy machine some of it from this thread).
 */
export const WORKER_MIN_ENTRIES = 5_000;

/**
 * Scans each folder, on one worker thread when the bundle carries it and the
 * folders are large (`expectedEntries`), else in this thread; a worker
 * failure scans here again.
 */
export function scanFolders(requests: ScanRequest[], expectedEntries: number, source = typeof __SIGSTORE_SCAN_WORKER__ === 'string' ? __SIGSTORE_SCAN_WORKER__ : undefined): Promise<TreeChanges>[] {
  const thread = source && expectedEntries >= WORKER_MIN_ENTRIES && requests.length > 0 ? new ScanThread(source) : undefined;
  return requests.map((request) => (thread ? thread.scan(request).catch(() => scanFolder(request)) : Promise.resolve().then(() => scanFolder(request))));
}
