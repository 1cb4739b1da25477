/**
 * The plugin's worker threads, each bundled on its own (Node built-ins only,
 * everything else inside) and embedded in the plugin as a string by
 * scripts/build-plugin.ts; tests build them the same way to run the real
 * worker (test/install/packument-thread.test.ts).
 */
import { join, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const ROOT = resolve(__dirname, '..');

export const WORKERS = [
  // `define`: the name the source reads; `variable`: where the plugin file holds the code.
  { name: 'verification worker', entry: 'src/install/verify-worker.ts', define: '__SIGSTORE_VERIFY_WORKER__', variable: '__sigstoreVerifyWorkerSource' },
  { name: 'packument worker', entry: 'src/install/packument-worker.ts', define: '__SIGSTORE_PACKUMENT_WORKER__', variable: '__sigstorePackumentWorkerSource' },
  { name: 'folder-scan worker', entry: 'src/linked/scan-worker.ts', define: '__SIGSTORE_SCAN_WORKER__', variable: '__sigstoreScanWorkerSource' },
] as const;

export type WorkerName = (typeof WORKERS)[number]['name'];

/** One worker's code, as CommonJS for `new Worker(code, { eval: true })`. */
export async function buildWorker(name: WorkerName, common: BuildOptions = { bundle: true, platform: 'node', logLevel: 'warning' }, plugins: Plugin[] = []): Promise<string> {
  const { entry } = WORKERS.find((worker) => worker.name === name)!;
  const result = await build({ ...common, entryPoints: [join(ROOT, entry)], format: 'cjs', write: false, plugins });
  return result.outputFiles![0].text;
}

/** Every worker's code, in WORKERS' order. */
export function buildWorkers(common: BuildOptions, plugins: Plugin[]): Promise<string[]> {
  return Promise.all(WORKERS.map(({ name }) => buildWorker(name, common, plugins)));
}
