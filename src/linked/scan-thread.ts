/**
 * Linker output folders scanned off Yarn's main thread. A warm install on a
 * developer's machine finds node_modules in place: one lstat per entry, tens
 * of thousands of them, on the thread Yarn's own fetch and link steps run on,
 * while the second core is idle. The scan runs on a worker thread
 * (scan-worker.ts, embedded as `__SIGSTORE_SCAN_WORKER__`) started with the
 * fetch step, which writes nothing into these folders. Where the bundle
 * carries no worker (tests running the sources), or the worker failed, the
 * folder is scanned here: a scan is never skipped.
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

/** Scans each folder on one worker thread when the bundle carries it, else in this thread; a worker failure scans here again. */
export function scanFolders(requests: ScanRequest[], source = typeof __SIGSTORE_SCAN_WORKER__ === 'string' ? __SIGSTORE_SCAN_WORKER__ : undefined): Promise<TreeChanges>[] {
  const thread = source && requests.length > 0 ? new ScanThread(source) : undefined;
  return requests.map((request) => (thread ? thread.scan(request).catch(() => scanFolder(request)) : Promise.resolve().then(() => scanFolder(request))));
}
