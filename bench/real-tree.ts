/**
 * Real-tree bench: a real application's dependency tree installed from the npm
 * registry npm is configured with (through testkit/registry-forwarder.ts on
 * 127.0.0.1, which counts every request), without the plugin vs with it under
 * the policy `yarn sigstore policy init` writes for that tree. The same paired,
 * alternated rounds and scenarios as the install bench (install.ts): cold,
 * warm after a CI cache restore (Yarn's cache only, or with the plugin's store
 * and a CI record key), warm unchanged. The registry's real latency
 * and bandwidth are part of every figure, so rounds spread more than on the
 * loopback registry. This machine's registry serves neither attestations nor
 * registry signatures: every package takes the "unsigned" path, which is the
 * one most real packages take. Fails (never skips) when the registry cannot
 * be reached. BENCH_RUNS rounds (default 3).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../testkit/fixtures';
import { assertRegistryReachable, configuredNpmRegistry } from '../testkit/npm-registry';
import { JEST_BABEL_WEBPACK_TOOLCHAIN } from '../testkit/real-stacks';
import { startRegistryForwarder, type ForwardedKind, type ForwardedRequest } from '../testkit/registry-forwarder';
import { PLUGIN_BUNDLE } from '../testkit/yarn';
import { BenchProject, benchRoot, fileSystemOf, folderBytes, machine, pairRunner, pairWarmCiKey, pairWarmKept, pastRacyWindow, renderRows, SCENARIO_LABELS, TABLE_HEADER, writeInstallSection, type Pairs, type Side } from './install';

/**
 * The real-world suite's largest node-modules stack. This machine cannot reach
 * Sigstore's TUF repository: in the default trust mode every install of the
 * plugin side would try it, wait out a retry and fall back to the embedded
 * root (about 0.15 s). A user who reaches it makes no request while the cached
 * timestamp is valid; offline mode (cache, else the embedded root) is that.
 */
const TREE = { name: 'jest-babel-eslint-webpack', rootDependencies: JEST_BABEL_WEBPACK_TOOLCHAIN, pluginSettings: ['sigstoreTrustMode: offline'] };

/** Requests and MB by kind, e.g. "510 packuments (62.2 MB), 510 attestations (0 MB)". */
function describeRequests(requests: ForwardedRequest[]): string {
  const byKind = new Map<ForwardedKind, { count: number; bytes: number }>();
  for (const { kind, bytes } of requests) {
    const entry = byKind.get(kind) ?? { count: 0, bytes: 0 };
    byKind.set(kind, { count: entry.count + 1, bytes: entry.bytes + bytes });
  }
  if (byKind.size === 0) return 'none';
  return [...byKind].map(([kind, { count, bytes }]) => `${count} ${kind} (${(bytes / 1e6).toFixed(1)} MB)`).join(', ');
}

export async function main(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3) || 3);
  const upstream = configuredNpmRegistry();
  await assertRegistryReachable(upstream);
  if (!process.env.BENCH_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const forwarder = await startRegistryForwarder(upstream);
  const root = benchRoot('bench-real-tree-');
  const loadBefore = os.loadavg()[0];
  try {
    const projects: Record<Side, BenchProject> = { plain: new BenchProject(root, 'plain', forwarder.url, TREE), plugin: new BenchProject(root, 'plugin', forwarder.url, TREE) };
    await projects.plain.yarn(['install']);
    const lockfile = readFileSync(join(projects.plain.cwd, 'yarn.lock'), 'utf8');
    const packages = lockfile.split('\n').filter((line) => /^ {2}resolution: ".+@npm:[^"]+"$/.test(line)).length;
    // The plugin side under the policy a user commits for this tree.
    projects.plugin.resetCold(lockfile);
    await projects.plugin.yarn(['install']);
    await projects.plugin.yarn(['sigstore', 'policy', 'init']);
    console.log(`real-tree bench: ${TREE.name}, ${packages} registry packages from ${upstream}, ${runs} paired rounds`);

    const pairs: Pairs = {};
    const pair = pairRunner(projects, pairs, () => forwarder.requests.length);
    const pluginCold: string[] = [];
    /** The CI secret of this bench's CI jobs (plugin side only). */
    const ciKey = { SIGSTORE_RECORD_KEY: randomBytes(32).toString('hex') };
    for (let run = 0; run < runs; run++) {
      const first: Side = run % 2 === 0 ? 'plain' : 'plugin';
      const before = forwarder.requests.length;
      await pair('cold', first, (project) => project.resetCold(lockfile));
      // The plugin side's requests: the first or the last of the pair's, as it ran first or second.
      const both = forwarder.requests.slice(before);
      const own = pairs.cold!.at(-1)!.plugin.requests!;
      pluginCold.push(describeRequests(first === 'plugin' ? both.slice(0, own) : both.slice(both.length - own)));
      await pair('warm-ci', first, async (project) => {
        project.resetCiRestore(lockfile);
        await pastRacyWindow();
      });
      await pair('warm', first, (project) => project.resetWarm(lockfile));
      await pairWarmKept(pair, first, lockfile);
      await pairWarmCiKey(pair, first, lockfile, ciKey);
      const latest = (scenario: 'cold' | 'warm-ci' | 'warm-ci-key' | 'warm' | 'warm-kept') => `${scenario} ${pairs[scenario]!.at(-1)!.plain!.seconds.toFixed(1)}s vs ${pairs[scenario]!.at(-1)!.plugin.seconds.toFixed(1)}s`;
      console.log(`  run ${run + 1}/${runs}: ${latest('cold')}, ${latest('warm-ci')}, ${latest('warm-ci-key')}, ${latest('warm')}, ${latest('warm-kept')}`);
    }
    const body = [
      `### A real tree from the npm registry: ${TREE.name}, ${packages} packages, ${runs} paired rounds`,
      '',
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}, projects on ${fileSystemOf(root)}; load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after. Registry: ${upstream} through a counting forwarder on 127.0.0.1 (no attestations or registry signatures served: every package is unsigned); direct dependencies ${Object.entries(TREE.rootDependencies).map(([name, version]) => `${name}@${version}`).join(', ')}; the plugin side under the policy \`yarn sigstore policy init\` wrote, in trust mode \`offline\` (this machine cannot reach Sigstore's TUF repository). Plugin bundle ${(statSync(PLUGIN_BUNDLE).size / 1048576).toFixed(2)} MiB; the plugin's state after the runs: ${(folderBytes(join(projects.plugin.globalFolder, 'sigstore')) / 1048576).toFixed(1)} MiB. The plugin's requests in the last cold round: ${pluginCold.at(-1)}.`,
      '',
      TABLE_HEADER,
      ...renderRows(pairs, SCENARIO_LABELS),
      '',
    ].join('\n');
    console.log(body);
    writeInstallSection(body, 'real-tree');
  } finally {
    await forwarder.close();
    rmSync(root, { recursive: true, force: true });
  }
}
