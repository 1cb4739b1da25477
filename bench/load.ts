/**
 * Plugin-load bench: what the plugin costs a command that does not install
 * (`yarn config get`, `yarn run`). The wall time of a 0.5 s command spreads
 * by +-200 ms on this machine, far more than the 20 ms goal, so every run is
 * CPU-profiled inside the process instead (`node --cpu-prof`, 0.1 ms samples):
 * the plugin's share is every sample with one of the plugin's scripts on its
 * stack (its bundle, and the lazy and deferred parts it evaluates). The plain
 * side's profiled CPU is the same round's baseline; the sides alternate per
 * round. BENCH_LOAD_RUNS rounds (default 11).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../testkit/fixtures';
import { BenchProject, benchRoot, fileSystemOf, machine, median, writeInstallSection, type Side } from './install';

const COMMANDS: Array<{ label: string; args: string[] }> = [
  { label: '`yarn config get enableTelemetry`', args: ['config', 'get', 'enableTelemetry'] },
  { label: '`yarn run noop`', args: ['run', 'noop'] },
];

/** The plugin's scripts as V8 names them: its file, and the parts it evaluates under names of its own. */
const isPluginScript = (url: string, pluginUrl: string) => url === pluginUrl || /^(plugin-)?sigstore-/.test(url);

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { url: string; functionName: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** Busy CPU time of a profile (idle left out) and the part of it with the plugin on the stack, in ms. */
export function pluginShare(profile: CpuProfile, pluginUrl: string): { busyMs: number; pluginMs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inPlugin = new Map<number, boolean>();
  const pluginOnStack = (id: number): boolean => {
    const known = inPlugin.get(id);
    if (known !== undefined) return known;
    const above = parent.get(id);
    const answer = isPluginScript(byId.get(id)!.callFrame.url, pluginUrl) || (above !== undefined && pluginOnStack(above));
    inPlugin.set(id, answer);
    return answer;
  };
  let busy = 0;
  let plugin = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    busy += delta;
    if (pluginOnStack(id)) plugin += delta;
  });
  return { busyMs: busy / 1000, pluginMs: plugin / 1000 };
}

async function profiledRun(project: BenchProject, args: string[]): Promise<{ busyMs: number; pluginMs: number }> {
  const folder = mkdtempSync(join(os.tmpdir(), 'sigstore-load-profile-'));
  try {
    await project.yarn(args, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', folder]);
    const [file] = readdirSync(folder).filter((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${project.side}: yarn ${args.join(' ')} wrote no CPU profile`);
    return pluginShare(JSON.parse(readFileSync(join(folder, file), 'utf8')) as CpuProfile, pathToFileURL(project.pluginPath).href);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_LOAD_RUNS ?? 11) || 11);
  if (!process.env.BENCH_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const root = benchRoot('bench-load-');
  const loadBefore = os.loadavg()[0];
  try {
    // No dependency: nothing to fetch, the plugin's work is its load and its hooks.
    const projects: Record<Side, BenchProject> = {
      plain: new BenchProject(root, 'plain', 'http://127.0.0.1:9', { rootDependencies: {} }),
      plugin: new BenchProject(root, 'plugin', 'http://127.0.0.1:9', { rootDependencies: {} }),
    };
    for (const project of Object.values(projects)) await project.yarn(['install']);
    const rows: string[] = [];
    for (const { label, args } of COMMANDS) {
      const measured: Record<Side, Array<{ busyMs: number; pluginMs: number }>> = { plain: [], plugin: [] };
      for (let run = 0; run < runs; run++) {
        for (const side of run % 2 === 0 ? (['plain', 'plugin'] as const) : (['plugin', 'plain'] as const)) measured[side].push(await profiledRun(projects[side], args));
      }
      const plainBusy = median(measured.plain.map((m) => m.busyMs));
      const pluginBusy = median(measured.plugin.map((m) => m.busyMs));
      const own = measured.plugin.map((m) => m.pluginMs);
      const differences = measured.plugin.map((m, index) => m.busyMs - measured.plain[index].busyMs);
      rows.push(
        `| ${label} | ${plainBusy.toFixed(0)} ms | ${pluginBusy.toFixed(0)} ms | ${median(differences).toFixed(0)} ms (${Math.min(...differences).toFixed(0)} to ${Math.max(...differences).toFixed(0)}) | ${median(own).toFixed(1)} ms (${Math.min(...own).toFixed(1)} to ${Math.max(...own).toFixed(1)}) |`,
      );
      console.log(rows.at(-1));
    }
    const body = [
      `### Plugin load on commands that do not install, ${runs} paired rounds`,
      '',
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}, projects on ${fileSystemOf(root)}; load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after. A project without dependencies, installed once; each run CPU-profiled at 0.1 ms (idle left out).`,
      '',
      "| command | plain Yarn, busy CPU (median) | with plugin, busy CPU (median) | difference: median of paired differences (range) | the plugin's own code on the stack (median, range) |",
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
    ].join('\n');
    console.log(body);
    writeInstallSection(body, 'load');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
