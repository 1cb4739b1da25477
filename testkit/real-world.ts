/**
 * Real application stacks installed from the npm registry this machine's npm
 * is configured with, by the real pinned Yarn and the built plugin.
 *
 * One Yarn zip cache is shared by every stack of a run (a temp folder made by
 * `test/real-world/shared-cache.setup.ts`), so a package that two stacks use
 * is downloaded once. Everything else is per project: the global folder (Yarn's
 * metadata cache and the plugin's records and archive index), HOME (the
 * plugin's record key) and the install state.
 *
 * "An empty cache" (`forgetAllButZips`) is a fresh CI runner that restored
 * only Yarn's zip cache: the plugin has no record vouching for any zip, so it
 * judges every package again (downloading and binding what it must), while
 * Yarn does not download the zips again. That is the path a CI job with a
 * cache restore takes, and it keeps the suite quick.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createYarnProject, jsonEvents, type YarnProject, type YarnResult } from './yarn';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Yarn zip cache every real-world stack of this run shares. */
    realWorldYarnCache: string;
  }
}

export interface RealWorldStack {
  name: string;
  nodeLinker: 'pnp' | 'node-modules';
  /** The root package.json, top-level versions exact so the tree does not drift. */
  manifest: Record<string, unknown>;
  /** Workspace folder (relative) -> its package.json. */
  workspaces?: Record<string, Record<string, unknown>>;
}

/** The `sigstore-summary` event of `--json`: the outcome and the counts by status. */
export interface SigstoreSummary {
  outcome: string;
  allowedUnsigned: number;
  failures: number;
  [count: string]: unknown;
}

/** The shared zip cache of this run (provided by the real-world global setup). */
export function sharedYarnCache(): string {
  const folder = inject('realWorldYarnCache');
  if (!folder) throw new Error('no shared Yarn cache: the e2e project of vitest.config.ts must list test/real-world/shared-cache.setup.ts in globalSetup');
  return folder;
}

/** A project of `stack` (no lockfile yet) on `registryUrl`, with the built plugin, sharing `cacheFolder`. */
export async function createRealWorldProject(stack: RealWorldStack, registryUrl: string, cacheFolder: string): Promise<YarnProject> {
  const workspaces = Object.keys(stack.workspaces ?? {});
  const project = await createYarnProject({
    registryUrl,
    nodeLinker: stack.nodeLinker,
    manifest: { name: stack.name, private: true, ...(workspaces.length > 0 ? { workspaces } : {}), ...stack.manifest },
    // enableMirror off: the shared cache is the only copy (no second one per global folder).
    yarnrc: ['enableGlobalCache: false', 'enableMirror: false', `cacheFolder: "${cacheFolder}"`].join('\n'),
  });
  for (const [folder, manifest] of Object.entries(stack.workspaces ?? {})) {
    mkdirSync(join(project.cwd, folder), { recursive: true });
    writeFileSync(join(project.cwd, folder, 'package.json'), JSON.stringify(manifest, null, 2));
  }
  return project;
}

/**
 * Removes everything but yarn.lock, the committed files (policy, sigstore.lock)
 * and the shared zip cache: the global folder (metadata, the plugin's records
 * and archive index) and the install state and artefacts of every workspace.
 */
export function forgetAllButZips(project: YarnProject, stack: RealWorldStack): void {
  const remove = (relative: string) => rmSync(join(project.cwd, relative), { recursive: true, force: true });
  for (const entry of ['.yarn-global', '.pnp.cjs', '.pnp.loader.mjs', '.pnp.data.json', '.yarn/install-state.gz', '.yarn/build-state.yml', '.yarn/unplugged', '.yarn/sigstore-evidence.json', 'node_modules']) remove(entry);
  for (const folder of Object.keys(stack.workspaces ?? {})) remove(join(folder, 'node_modules'));
}

/** The one `sigstore-summary` event of a `--json` run. */
export function sigstoreSummary(result: YarnResult): SigstoreSummary {
  const summaries = jsonEvents(result.stdout).filter((event) => event.type === 'sigstore-summary');
  if (summaries.length !== 1) throw new Error(`expected one sigstore-summary event, found ${summaries.length}:\n${result.output}`);
  return summaries[0];
}

/** The counts alone (numbers by status), without the outcome or whether a policy applied. */
export function statusCounts(summary: SigstoreSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(summary).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

/** The registry packages yarn.lock resolves (`name@npm:version`; not workspaces, patches or other sources). */
export function registryPackagesInLockfile(project: YarnProject): number {
  return (project.read('yarn.lock') ?? '').split('\n').filter((line) => /^ {2}resolution: ".+@npm:[^"]+"$/.test(line)).length;
}

/** The registry packages a summary gives a verdict (platform packages not installed here are `skipped`). */
export function registryVerdicts(summary: SigstoreSummary): number {
  return ['verified', 'allowedUnsigned', 'warnings', 'failures', 'skipped'].reduce((sum, key) => sum + Number(summary[key] ?? 0), 0);
}

/** The lines of Yarn's output that name a failure of the plugin, for assertion messages. */
export function sigstoreFailures(result: YarnResult): string {
  return result.output
    .split('\n')
    .filter((line) => /sigstore \[[A-Z_]+\]|YN0001|Error/.test(line))
    .join('\n');
}
