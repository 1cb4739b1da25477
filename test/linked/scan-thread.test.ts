/**
 * Linked folders scanned on the folder-scan worker (built as the plugin embeds
 * it): the same changes as a scan in this thread, a worker that fails falls
 * back to scanning here (a scan is never skipped), and a shared content index
 * vouches only for its own files.
 */
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../../scripts/workers';
import { scanFolder, type ScanRequest } from '../../src/linked/scan';
import { scanFolders, WORKER_MIN_ENTRIES } from '../../src/linked/scan-thread';
import { fileTree } from '../../testkit/file-tree';

const tree = (files: string[]) => fileTree(files, 'linked-scan-');

const NODE_MODULES = ['.yarn-state.yml', 'a/index.js', 'a/node_modules/b/index.js', '@s/d/package.json'];
/** Folders as large as a worker is started for. */
const LARGE = WORKER_MIN_ENTRIES;
const DYING_WORKER = "require('worker_threads').parentPort.on('message', () => process.exit(3));";

let source: string;
beforeAll(async () => {
  source = await buildWorker('folder-scan worker');
});

describe('scanFolders', () => {
  it('the worker finds what a scan in this thread finds: every copy changed after the moment, none before it', async () => {
    const folder = tree(NODE_MODULES);
    // The state file is left out of the "changed" case: a folder whose state file changed is dropped whole.
    const copiesOnly = tree(NODE_MODULES.slice(1));
    const requests: ScanRequest[] = [
      { folder: copiesOnly, layout: 'node_modules', sinceMs: 0 },
      { folder, layout: 'node_modules', sinceMs: Date.now() + 60_000 },
      { folder, layout: 'node_modules', sinceMs: 0 },
    ];
    const scanned = await Promise.all(scanFolders(requests, LARGE, source));
    expect(scanned).toEqual(requests.map(scanFolder));
    expect(scanned.map(({ copies, whole }) => ({ copies: copies.map((copy) => copy.slice(copy.lastIndexOf('linked-scan-')).replace(/^linked-scan-\w+\/?/, '')), whole }))).toEqual([
      { copies: ['@s/d', 'a'], whole: false },
      { copies: [], whole: false },
      { copies: ['@s/d', 'a'], whole: true },
    ]);
  });

  it("the worker's answer is the one taken (no second scan here)", async () => {
    const answering = "const { parentPort } = require('worker_threads'); parentPort.on('message', ({ id }) => parentPort.postMessage({ id, result: { copies: ['from the worker'], whole: false } }));";
    const request: ScanRequest = { folder: tree(NODE_MODULES.slice(1)), layout: 'node_modules', sinceMs: 0 };
    expect(await Promise.all(scanFolders([request], LARGE, answering))).toEqual([{ copies: ['from the worker'], whole: false }]);
    // Folders the last scan found small are scanned here: no worker is started for them.
    expect(await Promise.all(scanFolders([request], LARGE - 1, answering))).toEqual([scanFolder(request)]);
  });

  it('a worker that fails, or none in the bundle: the folder is scanned in this thread, with the same result', async () => {
    const request: ScanRequest = { folder: tree(NODE_MODULES.slice(1)), layout: 'node_modules', sinceMs: 0 };
    const expected = scanFolder(request);
    expect(expected.copies).toHaveLength(2);
    expect(await Promise.all(scanFolders([request, request], LARGE, DYING_WORKER))).toEqual([expected, expected]);
    expect(await Promise.all(scanFolders([request], LARGE, undefined))).toEqual([expected]);
  });

  it("a folder the scan cannot read fails the scan, on the worker as here (its error, never an empty result)", async () => {
    const request: ScanRequest = { folder: join(tree([]), 'missing'), layout: 'node_modules', sinceMs: 0 };
    await expect(scanFolders([request], LARGE, source)[0]).rejects.toThrow(/ENOENT/);
  });

  it("a shared index vouches for a newer file only when it is the index's own file for that content", async () => {
    const index = tree([]);
    const content = 'module.exports = 1;\n';
    const sha1 = createHash('sha1').update(content).digest('hex');
    const indexed = join(index, sha1.slice(0, 2), `${sha1}.dat`);
    mkdirSync(dirname(indexed), { recursive: true });
    writeFileSync(indexed, content);
    // In the copies layout each entry is a copy: here one file, hard linked from the index, newer than the moment.
    const folder = tree([]);
    linkSync(indexed, join(folder, 'index.js'));
    const request: ScanRequest = { folder, layout: 'copies', sinceMs: 0, sharedIndex: index };
    const copiesOf = async (scan: ScanRequest) => (await Promise.all(scanFolders([scan], LARGE, source)))[0].copies;
    expect(await copiesOf(request)).toEqual([]);
    expect(await copiesOf({ ...request, sharedIndex: undefined })).toEqual([join(folder, 'index.js')]);
    writeFileSync(join(folder, 'index.js'), 'module.exports = 2;\n');
    expect(await copiesOf(request)).toEqual([join(folder, 'index.js')]);
  });
});
