/**
 * Install bench: the real pinned Yarn on a large generated registry served on
 * 127.0.0.1 (testkit/large-registry.ts, injected latency per request), without
 * the plugin vs with it, in one run, same registry, same lockfile, same cache
 * state, sides alternated, median of BENCH_RUNS runs:
 *   cold: empty cache and global folder, committed lockfile (a fresh CI machine);
 *   warm, restored: the cache's files rewritten (new inodes, as a CI cache
 *     restore makes them), lockfile unchanged, node_modules removed;
 *   warm: the same again, cache unchanged since the last install (a
 *     persistent cache, a developer machine);
 *   warm with `sigstoreRecheckAttestations: true`;
 *   `yarn sigstore verify` alone on the warm cache;
 *   plugin load cost on `yarn config get` and `yarn run` (no install).
 * Peak RSS through GNU time. Writes its section of bench/results.md.
 *
 * Environment: BENCH_PACKAGES (1000), BENCH_RUNS (5), BENCH_LATENCY_MS (20),
 * BENCH_LOAD_RUNS (21), BENCH_NO_BUILD=1 to reuse the built bundle.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../testkit/fixtures';
import { largeRegistry, serveLargeRegistry, type LargeRegistry } from '../testkit/large-registry';
import { PLUGIN_BUNDLE, PLUGIN_RELATIVE_PATH, YARN_BIN } from '../testkit/yarn';

type Side = 'plain' | 'plugin';

interface Measure {
  seconds: number;
  rssMb: number;
}

interface Settings {
  packages: number;
  runs: number;
  latencyMs: number;
  loadRuns: number;
}

const RESULTS = join(REPO_ROOT, 'bench', 'results.md');

function settingsFromEnv(): Settings {
  const number = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    return Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return { packages: number('BENCH_PACKAGES', 1000), runs: Math.max(1, number('BENCH_RUNS', 5)), latencyMs: number('BENCH_LATENCY_MS', 20), loadRuns: Math.max(1, number('BENCH_LOAD_RUNS', 21)) };
}

/** One project per side; both share nothing but the registry and the committed lockfile. */
export class BenchProject {
  readonly cwd: string;
  readonly globalFolder: string;

  constructor(
    root: string,
    readonly side: Side,
    registryUrl: string,
    registry: LargeRegistry,
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
    ];
    if (side === 'plugin') {
      mkdirSync(join(this.cwd, '.yarn/plugins/@yarnpkg'), { recursive: true });
      copyFileSync(PLUGIN_BUNDLE, join(this.cwd, PLUGIN_RELATIVE_PATH));
      rc.push(`sigstoreTrustedRootPath: "${registry.trustedRootPath}"`, `sigstoreNpmKeysPath: "${registry.npmKeysPath}"`, 'plugins:', `  - path: ${PLUGIN_RELATIVE_PATH}`);
    }
    writeFileSync(join(this.cwd, '.yarnrc.yml'), rc.join('\n') + '\n');
    // A project of its own, not a workspace of the repository around .tmp/.
    writeFileSync(join(this.cwd, 'yarn.lock'), '');
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
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(YARN_|npm_|CI$|GITHUB_)/i.test(key)) env[key] = value;
    Object.assign(env, { HOME: this.cwd, YARN_GLOBAL_FOLDER: this.globalFolder, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', YARN_ENABLE_TELEMETRY: '0', YARN_ENABLE_PROGRESS_BARS: 'false', ...extraEnv });
    const started = process.hrtime.bigint();
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, process.execPath, ...nodeArgs, YARN_BIN, ...args], { cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('error', reject);
      child.on('close', (exit) => resolve({ code: exit, output }));
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`${this.side}: yarn ${args.join(' ')} exited ${code}\n${output.slice(-3000)}`);
    const rssKb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
    return { seconds, rssMb: rssKb / 1024 };
  }

  /** Cold: nothing cached anywhere, the committed lockfile only. */
  resetCold(lockfile: string): void {
    rmSync(this.globalFolder, { recursive: true, force: true });
    this.resetWarm(lockfile);
    rmSync(join(this.cwd, '.yarn/cache'), { recursive: true, force: true });
  }

  /**
   * A restored cache: every file of Yarn's cache rewritten (new inodes and
   * ctimes, as a CI cache restore makes them), then a wait until they are
   * older than the archive index's 2 s racy window, so that the install after
   * this one can vouch for them by identity.
   */
  async restoreCache(): Promise<void> {
    const cache = join(this.globalFolder, 'cache');
    cpSync(cache, `${cache}.restored`, { recursive: true });
    rmSync(cache, { recursive: true, force: true });
    renameSync(`${cache}.restored`, cache);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
  }

  /** Warm: Yarn's cache and the global folder kept; node_modules and install state gone (a CI job with a restored cache). */
  resetWarm(lockfile: string): void {
    rmSync(join(this.cwd, 'node_modules'), { recursive: true, force: true });
    rmSync(join(this.cwd, '.yarn/install-state.gz'), { force: true });
    writeFileSync(join(this.cwd, 'yarn.lock'), lockfile);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

type Scenario = 'cold' | 'warm-restored' | 'warm' | 'warm-recheck' | 'verify' | 'config get' | 'run';
type Samples = Record<Side, Partial<Record<Scenario, Measure[]>>>;

function record(samples: Samples, side: Side, scenario: Scenario, measure: Measure): void {
  (samples[side][scenario] ??= []).push(measure);
}

export async function runInstallBench(settings: Settings, log: (line: string) => void = console.log) {
  if (!process.env.BENCH_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const registry = await largeRegistry({ packages: settings.packages, log });
  log(`install bench: ${registry.packages.length} packages, ${(registry.totalTarballBytes / 1048576).toFixed(1)} MiB of tarballs, ${settings.latencyMs} ms latency per request${registry.generated ? ' (registry generated now)' : ' (registry from .tmp cache)'}`);
  const server = await serveLargeRegistry(registry, { latencyMs: settings.latencyMs });
  mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
  const root = mkdtempSync(join(REPO_ROOT, '.tmp', 'bench-install-'));
  try {
    const projects: Record<Side, BenchProject> = { plain: new BenchProject(root, 'plain', server.url, registry), plugin: new BenchProject(root, 'plugin', server.url, registry) };
    // The committed lockfile, resolved once without the plugin (the plugin does not change it).
    await projects.plain.yarn(['install']);
    const lockfile = readFileSync(join(projects.plain.cwd, 'yarn.lock'), 'utf8');
    const samples: Samples = { plain: {}, plugin: {} };
    for (let run = 0; run < settings.runs; run++) {
      const order: Side[] = run % 2 === 0 ? ['plain', 'plugin'] : ['plugin', 'plain'];
      for (const side of order) {
        projects[side].resetCold(lockfile);
        record(samples, side, 'cold', await projects[side].yarn(['install']));
      }
      // The cache restored (new inodes): every zip is hashed once, bound through the project's archive index.
      for (const side of order) {
        await projects[side].restoreCache();
        projects[side].resetWarm(lockfile);
        record(samples, side, 'warm-restored', await projects[side].yarn(['install']));
      }
      // Unchanged since the last install (the CI case with a persistent cache, and every developer install).
      for (const side of order) {
        projects[side].resetWarm(lockfile);
        record(samples, side, 'warm', await projects[side].yarn(['install']));
      }
      // The same, every attestation document fetched again and its verification looked up by the document's digest.
      for (const side of order) {
        projects[side].resetWarm(lockfile);
        record(samples, side, 'warm-recheck', await projects[side].yarn(['install'], [], side === 'plugin' ? { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' } : {}));
      }
      record(samples, 'plugin', 'verify', await projects.plugin.yarn(['sigstore', 'verify']));
      const last = (scenario: Scenario) => `${scenario} ${fmt(samples.plain[scenario]!.at(-1)!)} vs ${fmt(samples.plugin[scenario]!.at(-1)!)}`;
      log(`  run ${run + 1}/${settings.runs}: ${(['cold', 'warm-restored', 'warm', 'warm-recheck'] as const).map(last).join(', ')}, verify ${fmt(samples.plugin.verify!.at(-1)!)}`);
    }
    for (let run = 0; run < settings.loadRuns; run++) {
      const order: Side[] = run % 2 === 0 ? ['plain', 'plugin'] : ['plugin', 'plain'];
      for (const side of order) record(samples, side, 'config get', await projects[side].yarn(['config', 'get', 'enableTelemetry']));
      for (const side of order) record(samples, side, 'run', await projects[side].yarn(['run', 'noop']));
    }
    const cacheBytes = folderBytes(join(projects.plugin.globalFolder, 'sigstore'));
    return { registry, samples, cacheBytes, bundleBytes: statSync(PLUGIN_BUNDLE).size };
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

function folderBytes(path: string): number {
  if (!existsSync(path)) return 0;
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

const fmt = (measure: Measure) => `${measure.seconds.toFixed(2)}s`;

function summarizeScenario(samples: Samples, scenario: Scenario) {
  const plain = samples.plain[scenario];
  const plugin = samples.plugin[scenario]!;
  const pluginSeconds = median(plugin.map((m) => m.seconds));
  const pluginRss = median(plugin.map((m) => m.rssMb));
  if (!plain) return { plainSeconds: undefined, pluginSeconds, plainRss: undefined, pluginRss };
  return { plainSeconds: median(plain.map((m) => m.seconds)), pluginSeconds, plainRss: median(plain.map((m) => m.rssMb)), pluginRss };
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.versions.node}, load average ${os.loadavg()[0].toFixed(1)} at the end`;
}

export function renderInstallResults(settings: Settings, result: Awaited<ReturnType<typeof runInstallBench>>): string {
  const rows: string[] = [];
  const labels: Record<Scenario, string> = {
    cold: '`yarn install`, cold cache',
    'warm-restored': '`yarn install`, warm cache just restored (new inodes: every zip hashed once), same lockfile',
    warm: '`yarn install`, warm cache unchanged since the last install, same lockfile (the archive index)',
    'warm-recheck': '`yarn install`, warm unchanged cache, `sigstoreRecheckAttestations: true` (every document fetched again)',
    verify: '`yarn sigstore verify`, warm cache',
    'config get': '`yarn config get` (plugin load)',
    run: '`yarn run noop` (plugin load)',
  };
  for (const scenario of Object.keys(labels) as Scenario[]) {
    const s = summarizeScenario(result.samples, scenario);
    const overhead = s.plainSeconds === undefined ? '' : scenario === 'config get' || scenario === 'run' ? `+${((s.pluginSeconds - s.plainSeconds) * 1000).toFixed(0)} ms` : `${(((s.pluginSeconds - s.plainSeconds) / s.plainSeconds) * 100).toFixed(1)}%`;
    const secs = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(2)} s`);
    const rss = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(0)} MB`);
    rows.push(`| ${labels[scenario]} | ${secs(s.plainSeconds)} | ${secs(s.pluginSeconds)} | ${overhead} | ${rss(s.plainRss)} | ${rss(s.pluginRss)} |`);
  }
  return [
    `### ${result.registry.packages.length} packages, ${settings.latencyMs} ms latency, median of ${settings.runs} runs (load cost: ${settings.loadRuns})`,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}. Registry: ${result.registry.packages.length} packages, ${(result.registry.totalTarballBytes / 1048576).toFixed(1)} MiB of tarballs, ${Object.keys(result.registry.rootDependencies).length} direct dependencies, provenance + publish attestation each (mock Sigstore, fresh certificate per signature). Plugin bundle ${(result.bundleBytes / 1048576).toFixed(2)} MiB; the plugin's cache (\`<globalFolder>/sigstore\`) after the runs: ${(result.cacheBytes / 1048576).toFixed(1)} MiB.`,
    '',
    '| scenario | without plugin | with plugin | overhead | peak RSS without | peak RSS with |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
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
  const result = await runInstallBench(settings);
  const body = renderInstallResults(settings, result);
  console.log(body);
  writeInstallSection(body, `${settings.packages}`);
}
