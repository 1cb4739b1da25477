/**
 * Install bench: the real pinned Yarn on a large generated registry served on
 * 127.0.0.1 (testkit/large-registry.ts: injected latency per request, kept-alive
 * connections as a real registry keeps them), without the plugin vs with it,
 * in one run, same registry, same lockfile, same cache state. The two sides
 * alternate within each round (which goes first alternates too), and every
 * overhead is the median of the per-round ratios (plugin / plain), with their
 * range: the machine's drift cancels within a pair, not across medians.
 *   cold: empty cache and global folder, committed lockfile (a fresh CI machine);
 *   warm, CI cache restore: only `.yarn/cache` restored (rewritten: new inodes,
 *     as a cache restore makes them), the global folder empty, no node_modules;
 *   warm, CI cache restore with the plugin's store and a CI record key:
 *     `.yarn/cache` AND `<globalFolder>/sigstore` restored (new inodes), as
 *     written by a job with the same `SIGSTORE_RECORD_KEY` (an untimed install
 *     just before), the rest of the global folder and the per-user key gone;
 *   warm, unchanged cache: the same cache and global folder as the last
 *     install, no node_modules (a persistent CI cache, a developer machine);
 *   full matrix only: warm with `sigstoreRecheckAttestations: true`, and
 *     `yarn sigstore verify` alone.
 * The plugin's load cost on commands that do not install: load.ts.
 * Trees: all packages signed, and 20% signed (the shape of a real tree).
 * Wall time, and CPU time (user + system of Yarn and its children, which a
 * loaded machine inflates less) and peak RSS through GNU time. Writes its
 * sections of bench/results.md.
 *
 * `npm run bench` runs the quick preset (300 packages, both shapes, 3 rounds,
 * a few minutes); `npm run bench -- --full` (or BENCH_FULL=1) the full matrix
 * (300 and 1,000 packages, both shapes, 5 rounds, the extra scenarios).
 * Environment overrides: BENCH_PACKAGES (e.g. "300,1000"), BENCH_SIGNED
 * (shares, e.g. "1,0.2"), BENCH_RUNS, BENCH_LATENCY_MS (20),
 * BENCH_NO_BUILD=1 to reuse the built bundle, BENCH_ROOT for where the
 * projects live (e.g. /dev/shm: see benchRoot).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../testkit/fixtures';
import { largeRegistry, serveLargeRegistry, type LargeRegistry } from '../testkit/large-registry';
import { cleanEnvironment, PLUGIN_BUNDLE, PLUGIN_RELATIVE_PATH, YARN_BIN } from '../testkit/yarn';

export type Side = 'plain' | 'plugin';

export interface Measure {
  seconds: number;
  /** User + system CPU of Yarn and its children: what a loaded machine inflates less than wall time. */
  cpuSeconds: number;
  rssMb: number;
  /** Requests the registry answered during the command. */
  requests?: number;
}

interface Tree {
  packages: number;
  /** Share of the packages that are signed. */
  signedShare: number;
}

export interface Settings {
  trees: Tree[];
  runs: number;
  latencyMs: number;
  /** Warm with recheck, and `yarn sigstore verify`. */
  extras: boolean;
}

const RESULTS = join(REPO_ROOT, 'bench', 'results.md');

export function settingsFromEnv(full = process.argv.includes('--full') || process.env.BENCH_FULL === '1'): Settings {
  const number = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  const list = (name: string, fallback: number[]) => (process.env[name] ? process.env[name]!.split(',').map(Number).filter((value) => Number.isFinite(value) && value > 0) : fallback);
  const packages = list('BENCH_PACKAGES', full ? [300, 1000] : [300]);
  const shares = list('BENCH_SIGNED', [1, 0.2]);
  return {
    trees: packages.flatMap((count) => shares.map((signedShare) => ({ packages: count, signedShare }))),
    runs: Math.max(1, number('BENCH_RUNS', full ? 5 : 3)),
    latencyMs: number('BENCH_LATENCY_MS', 20),
    extras: full,
  };
}

/** What a bench project installs: its direct dependencies, and the trust material to pin (none: the plugin's defaults). */
export interface BenchTree {
  rootDependencies: Record<string, string>;
  trustedRootPath?: string;
  npmKeysPath?: string;
  /** More `.yarnrc.yml` lines for the plugin side. */
  pluginSettings?: string[];
}

/** One project per side; both share nothing but the registry and the committed lockfile. */
export class BenchProject {
  readonly cwd: string;
  readonly globalFolder: string;

  constructor(
    root: string,
    readonly side: Side,
    registryUrl: string,
    registry: BenchTree,
  ) {
    this.cwd = join(root, side);
    this.globalFolder = join(root, `${side}-global`);
    mkdirSync(this.cwd, { recursive: true });
    writeFileSync(join(this.cwd, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, scripts: { noop: 'exit 0' }, dependencies: registry.rootDependencies }, null, 2));
    const rc = [
      `npmRegistryServer: "${registryUrl}"`,
      'unsafeHttpWhitelist: ["127.0.0.1"]',
      'nodeLinker: node-modules',
      'enableTelemetry: false',
      'enableScripts: false',
      // The cache in the project (`.yarn/cache`), the plugin's own state in the global folder: a CI cache restore brings back the one, not the other.
      'enableGlobalCache: false',
    ];
    if (side === 'plugin') {
      mkdirSync(join(this.cwd, '.yarn/plugins/@yarnpkg'), { recursive: true });
      copyFileSync(PLUGIN_BUNDLE, this.pluginPath);
      if (registry.trustedRootPath) rc.push(`sigstoreTrustedRootPath: "${registry.trustedRootPath}"`);
      if (registry.npmKeysPath) rc.push(`sigstoreNpmKeysPath: "${registry.npmKeysPath}"`);
      rc.push(...(registry.pluginSettings ?? []));
      rc.push('plugins:', `  - path: ${PLUGIN_RELATIVE_PATH}`);
    }
    writeFileSync(join(this.cwd, '.yarnrc.yml'), rc.join('\n') + '\n');
    // A project of its own, not a workspace of the repository around .tmp/.
    writeFileSync(join(this.cwd, 'yarn.lock'), '');
  }

  /** The plugin file Yarn loads (plugin side). */
  get pluginPath(): string {
    return join(this.cwd, PLUGIN_RELATIVE_PATH);
  }

  /**
   * Runs Yarn; returns wall time and peak RSS. Fails the bench on a non-zero exit.
   * Dirty pages are flushed first (`sync`, not timed): otherwise the write-back
   * of the previous install's 20,000 files lands in this one's measurement,
   * which penalized whichever side ran second by up to 20%.
   */
  async yarn(args: string[], nodeArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<Measure> {
    execFileSync('sync');
    const timeFile = join(this.cwd, '.bench-time');
    const env = cleanEnvironment();
    Object.assign(env, { HOME: this.cwd, YARN_GLOBAL_FOLDER: this.globalFolder, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', YARN_ENABLE_TELEMETRY: '0', YARN_ENABLE_PROGRESS_BARS: 'false', ...extraEnv });
    const started = process.hrtime.bigint();
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, process.execPath, ...nodeArgs, YARN_BIN, ...args], { cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('error', reject);
      child.on('close', (exit) => resolve({ code: exit, output }));
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`${this.side}: yarn ${args.join(' ')} exited ${code}\n${output.slice(-3000)}`);
    const [rssKb, user, system] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { seconds, cpuSeconds: user + system, rssMb: rssKb / 1024 };
  }

  private get cache(): string {
    return join(this.cwd, '.yarn', 'cache');
  }

  /** Cold: nothing cached anywhere, the committed lockfile only. */
  resetCold(lockfile: string): void {
    rmSync(this.cache, { recursive: true, force: true });
    this.resetCiRestore(lockfile);
  }

  /**
   * A CI job whose cache step restored `.yarn/cache` only: every file of it
   * rewritten (new inodes and ctimes, as a restore makes them), the global
   * folder (Yarn's and the plugin's state) empty, no node_modules, and a
   * fresh runner's home (no compiled plugin, src/code-cache.ts).
   */
  resetCiRestore(lockfile: string): void {
    if (existsSync(this.cache)) {
      cpSync(this.cache, `${this.cache}.restored`, { recursive: true });
      rmSync(this.cache, { recursive: true, force: true });
      renameSync(`${this.cache}.restored`, this.cache);
    }
    rmSync(this.globalFolder, { recursive: true, force: true });
    rmSync(join(this.cwd, '.cache', 'yarn-plugin-sigstore'), { recursive: true, force: true });
    this.resetWarm(lockfile);
  }

  /**
   * A CI job whose cache step restored `.yarn/cache` and the plugin's store,
   * both saved by a job holding the same CI record key (`keyEnv`): for the
   * plugin, an untimed install with that key writes the store first. Then
   * both rewritten (new inodes), the rest of the global folder and the
   * per-user key (HOME is the project) gone, no node_modules.
   */
  async resetCiRestoreWithStore(lockfile: string, keyEnv: Record<string, string>): Promise<void> {
    const store = join(this.globalFolder, 'sigstore');
    const saved = `${this.globalFolder}-saved-store`;
    if (this.side === 'plugin') {
      this.resetWarm(lockfile);
      await this.yarn(['install'], [], keyEnv);
      cpSync(store, saved, { recursive: true });
    }
    this.resetCiRestore(lockfile);
    if (existsSync(saved)) {
      mkdirSync(this.globalFolder, { recursive: true });
      renameSync(saved, store);
    }
    rmSync(join(this.cwd, '.config', 'yarn-plugin-sigstore'), { recursive: true, force: true });
  }

  /** Warm: Yarn's cache and the global folder as the last install left them; node_modules and install state gone. */
  resetWarm(lockfile: string): void {
    rmSync(join(this.cwd, 'node_modules'), { recursive: true, force: true });
    rmSync(join(this.cwd, '.yarn/install-state.gz'), { force: true });
    this.resetKept(lockfile);
  }

  /** Nothing removed: node_modules and the install state stay as the last install left them. */
  resetKept(lockfile: string): void {
    writeFileSync(join(this.cwd, 'yarn.lock'), lockfile);
  }
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** Files just written are older than the archive index's 2 s racy window before the next install may vouch for them by identity. */
export const pastRacyWindow = () => new Promise((resolve) => setTimeout(resolve, 2_100));

export type Scenario = 'cold' | 'warm-ci' | 'warm-ci-key' | 'warm' | 'warm-kept' | 'warm-recheck' | 'verify';
/** Per scenario, one pair per round (plain undefined where the scenario has no plain side). */
export type Pairs = Partial<Record<Scenario, Array<{ plain?: Measure; plugin: Measure }>>>;

/**
 * Runs one scenario on both sides in turn, the given one first, and records the
 * pair; `requestCount` reads the registry's running count of answered requests.
 */
export function pairRunner(projects: Record<Side, BenchProject>, pairs: Pairs, requestCount: () => number) {
  return async (scenario: Scenario, first: Side, prepare: (project: BenchProject) => void | Promise<void>, env: Record<string, string> = {}, args = ['install']): Promise<void> => {
    const measured: Partial<Record<Side, Measure>> = {};
    for (const side of first === 'plain' ? (['plain', 'plugin'] as const) : (['plugin', 'plain'] as const)) {
      await prepare(projects[side]);
      const before = requestCount();
      measured[side] = { ...(await projects[side].yarn(args, [], side === 'plugin' ? env : {})), requests: requestCount() - before };
    }
    (pairs[scenario] ??= []).push({ plain: measured.plain, plugin: measured.plugin! });
  };
}

/**
 * A developer's re-install: `yarn install` again with node_modules and the
 * install state as the previous install left them (run right after `warm`).
 * The link step then has copies in place to check, which a CI job's fresh
 * checkout has not.
 */
export function pairWarmKept(pair: ReturnType<typeof pairRunner>, first: Side, lockfile: string): Promise<void> {
  return pair('warm-kept', first, (project) => project.resetKept(lockfile));
}

/**
 * The warm install after a CI cache restore with the plugin's store and a CI
 * record key. Last in a round: its store is under the CI key, which the
 * unkeyed warm scenarios could not read.
 */
export function pairWarmCiKey(pair: ReturnType<typeof pairRunner>, first: Side, lockfile: string, ciKey: Record<string, string>): Promise<void> {
  return pair(
    'warm-ci-key',
    first,
    async (project) => {
      await project.resetCiRestoreWithStore(lockfile, ciKey);
      await pastRacyWindow();
    },
    ciKey,
  );
}

export interface TreeResult {
  tree: Tree;
  registry: LargeRegistry;
  pairs: Pairs;
  cacheBytes: number;
  bundleBytes: number;
  loadBefore: number;
  loadAfter: number;
  /** The file system the projects were on. */
  fileSystem: string;
}

async function benchTree(settings: Settings, tree: Tree, log: (line: string) => void): Promise<TreeResult> {
  const registry = await largeRegistry({ packages: tree.packages, signedShare: tree.signedShare, log });
  const signed = registry.packages.filter((pkg) => pkg.signed).length;
  log(`install bench: ${registry.packages.length} packages (${signed} signed), ${(registry.totalTarballBytes / 1048576).toFixed(1)} MiB of tarballs, ${settings.latencyMs} ms latency per request${registry.generated ? ' (registry generated now)' : ' (registry from .tmp cache)'}`);
  const server = await serveLargeRegistry(registry, { latencyMs: settings.latencyMs });
  const root = benchRoot('bench-install-');
  const loadBefore = os.loadavg()[0];
  try {
    const projects: Record<Side, BenchProject> = { plain: new BenchProject(root, 'plain', server.url, registry), plugin: new BenchProject(root, 'plugin', server.url, registry) };
    // The committed lockfile, resolved once without the plugin (the plugin does not change it).
    await projects.plain.yarn(['install']);
    const lockfile = readFileSync(join(projects.plain.cwd, 'yarn.lock'), 'utf8');
    // The plugin side's sigstore.lock and the policy `policy init` writes, as a project commits them (untimed): every round installs with them.
    projects.plugin.resetCold(lockfile);
    await projects.plugin.yarn(['install']);
    await projects.plugin.yarn(['sigstore', 'policy', 'init']);
    const pairs: Pairs = {};
    /** The CI secret of this bench's CI jobs (plugin side only). */
    const ciKey = { SIGSTORE_RECORD_KEY: randomBytes(32).toString('hex') };
    const pair = pairRunner(projects, pairs, () => server.requests.length);
    for (let run = 0; run < settings.runs; run++) {
      const first: Side = run % 2 === 0 ? 'plain' : 'plugin';
      await pair('cold', first, (project) => project.resetCold(lockfile));
      await pair('warm-ci', first, async (project) => {
        project.resetCiRestore(lockfile);
        await pastRacyWindow();
      });
      await pair('warm', first, (project) => project.resetWarm(lockfile));
      await pairWarmKept(pair, first, lockfile);
      if (settings.extras) {
        await pair('warm-recheck', first, (project) => project.resetWarm(lockfile), { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' });
        (pairs.verify ??= []).push({ plugin: await projects.plugin.yarn(['sigstore', 'verify']) });
      }
      await pairWarmCiKey(pair, first, lockfile, ciKey);
      const last = (scenario: Scenario) => {
        const latest = pairs[scenario]!.at(-1)!;
        return `${scenario} ${fmt(latest.plain!)} vs ${fmt(latest.plugin)}`;
      };
      log(`  run ${run + 1}/${settings.runs}: ${(['cold', 'warm-ci', 'warm-ci-key', 'warm', 'warm-kept'] as const).map(last).join(', ')}`);
    }
    const cacheBytes = folderBytes(join(projects.plugin.globalFolder, 'sigstore'));
    return { tree, registry, pairs, cacheBytes, bundleBytes: statSync(PLUGIN_BUNDLE).size, loadBefore, loadAfter: os.loadavg()[0], fileSystem: fileSystemOf(root) };
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function runInstallBench(settings: Settings, log: (line: string) => void = console.log): Promise<TreeResult[]> {
  if (!process.env.BENCH_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const results: TreeResult[] = [];
  for (const tree of settings.trees) results.push(await benchTree(settings, tree, log));
  return results;
}

export function folderBytes(path: string): number {
  if (!existsSync(path)) return 0;
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

const fmt = (measure: Measure) => `${measure.seconds.toFixed(2)}s${measure.requests !== undefined ? ` (${measure.requests} requests)` : ''}`;

/**
 * A fresh folder for the bench's projects under BENCH_ROOT (default: the
 * repository's .tmp). On a disk, deleting and writing node_modules' 20,000
 * files moves the link step by a factor of two from round to round on this
 * machine (ext4 mounted with discard); BENCH_ROOT=/dev/shm takes the disk out
 * and leaves the work both sides do.
 */
export function benchRoot(prefix: string): string {
  const parent = process.env.BENCH_ROOT ?? join(REPO_ROOT, '.tmp');
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, prefix));
}

/** The file system a folder is on, as the section headers say it ("tmpfs", "ext2/ext3"). */
export function fileSystemOf(path: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', path], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.versions.node}`;
}

const percent = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;

/** What each scenario measures, in the tables' order. */
export const SCENARIO_LABELS: Record<Scenario, string> = {
  cold: '`yarn install`, cold (empty cache and global folder)',
  'warm-ci': '`yarn install`, warm after a CI cache restore (`.yarn/cache` restored, global folder empty)',
  'warm-ci-key': "`yarn install`, warm after a CI cache restore with the plugin's store and a CI record key (`.yarn/cache` and `<globalFolder>/sigstore` restored, `SIGSTORE_RECORD_KEY` set)",
  warm: '`yarn install`, warm, cache and global folder unchanged since the last install',
  'warm-kept': "`yarn install` again, node_modules and the install state kept too (a developer's re-install)",
  'warm-recheck': '`yarn install`, warm unchanged, `sigstoreRecheckAttestations: true`',
  verify: '`yarn sigstore verify`, warm',
};

/** The table's columns: both sides' medians, the paired overheads with their range, requests and peak RSS. */
export const TABLE_HEADER = [
  '| scenario | plain Yarn, wall (median) | with plugin, wall (median) | wall overhead: median of paired ratios (range) | CPU overhead (user + system): median of paired ratios (range) | registry requests plain / plugin | peak RSS plain | peak RSS plugin |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
].join('\n');

/** One table row per measured scenario, in the order of `labels`. */
export function renderRows(pairsByScenario: Pairs, labels: Partial<Record<Scenario, string>>): string[] {
  const rows: string[] = [];
  for (const scenario of Object.keys(labels) as Scenario[]) {
    const pairs = pairsByScenario[scenario];
    if (!pairs?.length) continue;
    const secs = (values: number[]) => (values.length ? `${median(values).toFixed(2)} s` : '-');
    const rss = (values: number[]) => (values.length ? `${median(values).toFixed(0)} MB` : '-');
    const requests = (measures: Measure[]) => (measures.length && measures[0].requests !== undefined ? String(median(measures.map((m) => m.requests!))) : '-');
    const plain = pairs.flatMap((entry) => (entry.plain ? [entry.plain] : []));
    const plugin = pairs.map((entry) => entry.plugin);
    /** The median of the paired ratios of one figure, with their range. */
    const paired = (figure: (measure: Measure) => number): string => {
      if (plain.length !== pairs.length) return '';
      const ratios = pairs.map((entry) => figure(entry.plugin) / figure(entry.plain!));
      return `${percent(median(ratios))} (${percent(Math.min(...ratios))} to ${percent(Math.max(...ratios))})`;
    };
    rows.push(
      `| ${labels[scenario]} | ${secs(plain.map((m) => m.seconds))} | ${secs(plugin.map((m) => m.seconds))} | ${paired((m) => m.seconds)} | ${paired((m) => m.cpuSeconds)} | ${requests(plain)} / ${requests(plugin)} | ${rss(plain.map((m) => m.rssMb))} | ${rss(plugin.map((m) => m.rssMb))} |`,
    );
  }
  return rows;
}

export function renderTree(settings: Settings, result: TreeResult): string {
  const rows = renderRows(result.pairs, SCENARIO_LABELS);
  const { registry, tree } = result;
  const signed = registry.packages.filter((pkg) => pkg.signed).length;
  return [
    `### ${registry.packages.length} packages, ${tree.signedShare === 1 ? 'all signed' : `${Math.round(tree.signedShare * 100)}% signed (${signed})`}, ${settings.latencyMs} ms latency, ${settings.runs} paired rounds`,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}, projects on ${result.fileSystem}; load average ${result.loadBefore.toFixed(1)} before, ${result.loadAfter.toFixed(1)} after. Registry: ${registry.packages.length} packages, ${(registry.totalTarballBytes / 1048576).toFixed(1)} MiB of tarballs, ${Object.keys(registry.rootDependencies).length} direct dependencies; a signed package has provenance + publish attestation (mock Sigstore, fresh certificate per signature); the plugin side under the policy \`yarn sigstore policy init\` wrote. Plugin bundle ${(result.bundleBytes / 1048576).toFixed(2)} MiB; the plugin's state (\`<globalFolder>/sigstore\`) after the runs: ${(result.cacheBytes / 1048576).toFixed(1)} MiB.`,
    '',
    TABLE_HEADER,
    ...rows,
    '',
  ].join('\n');
}

/** Replaces (or appends) the install section of bench/results.md, keeping every other section. */
export function writeInstallSection(body: string, key: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Bench results\n';
  const start = `<!-- install-bench:${key}:start -->`;
  const end = `<!-- install-bench:${key}:end -->`;
  const block = `${start}\n${body}${end}`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + block + current.slice(to + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, next);
}

export async function main(): Promise<void> {
  const settings = settingsFromEnv();
  for (const result of await runInstallBench(settings)) {
    const body = renderTree(settings, result);
    console.log(body);
    writeInstallSection(body, `${result.tree.packages}-${Math.round(result.tree.signedShare * 100)}`);
  }
}
