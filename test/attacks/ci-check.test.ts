/**
 * The README's CI step, run as GitHub runs it (`bash -eo pipefail`), against
 * a repository that tries to fake it: the plugin not loaded (removed from
 * .yarnrc.yml, or YARN_RC_FILENAME pointing at another rc file) and a
 * package.json script named `sigstore` (and one named `plugin`) printing the
 * lines the step looks for. The step must fail; with the plugin loaded, the
 * plugin's own verdict decides whatever the scripts print.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/fixtures';
import { PLUGIN_RELATIVE_PATH, YARN_BIN, type YarnProject } from '../../testkit/yarn';
import { policyOf, projectFor, provenanceRule, publishSigned, startAttackKit, type AttackKit } from './harness';

/** The `run:` block of the README's "Verify Sigstore provenance" step, as written there. */
function readmeCiStep(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const match = /- name: Verify Sigstore provenance\n\s+run: \|\n((?:\s{10}.*\n)+)/.exec(readme);
  if (!match) throw new Error('README.md has no "Verify Sigstore provenance" step');
  return match[1].replace(/^ {10}/gm, '');
}

let kit: AttackKit;
let shims: string;
beforeAll(async () => {
  kit = await startAttackKit();
  // `yarn` on PATH is the pinned Yarn, as corepack would provide it.
  shims = mkdtempSync(join(tmpdir(), 'sigstore-ci-shims-'));
  writeFileSync(join(shims, 'yarn'), `#!/bin/sh\nexec "${process.execPath}" "${YARN_BIN}" "$@"\n`);
  chmodSync(join(shims, 'yarn'), 0o755);
});
afterAll(async () => {
  await kit?.close();
});

function runStep(p: YarnProject, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(YARN_|npm_|CI$|GITHUB_)/i.test(key)) base[key] = value;
  const stepEnv = { ...base, HOME: join(p.cwd, 'runner-home'), YARN_GLOBAL_FOLDER: join(p.cwd, '.yarn-global'), YARN_ENABLE_TELEMETRY: '0', SIGSTORE_TEST_MARKER_DIR: p.markers, PATH: `${shims}:${process.env.PATH}`, ...env };
  mkdirSync(stepEnv.HOME, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-eo', 'pipefail', '-c', readmeCiStep()], { cwd: p.cwd, env: stepEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** package.json scripts printing what the README's step looks for. */
function addSpoofingScripts(p: YarnProject): void {
  const manifest = JSON.parse(p.read('package.json')!);
  const summary = JSON.stringify({ type: 'sigstore-summary', outcome: 'completed', verified: 1, allowedUnsigned: 0, warnings: 0, failures: 0, otherSources: 0, local: 0, packages: 1 });
  const runtime = JSON.stringify({ name: '@yarnpkg/plugin-sigstore', builtin: false });
  manifest.scripts = { sigstore: `echo '${summary}'`, plugin: `echo '${runtime}'` };
  p.write('package.json', JSON.stringify(manifest, null, 2));
}

describe.concurrent("the README's CI step", () => {
  it('control: passes on a verified project with the plugin loaded', async () => {
    const staged = await publishSigned(kit, { name: 'ci-control', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expect((await p.install()).code).toBe(0);
    const step = await runStep(p);
    expect(step.code, step.output).toBe(0);
  });

  it('fails when the plugin is removed from .yarnrc.yml and a `sigstore` script prints a completed summary', async () => {
    const staged = await publishSigned(kit, { name: 'ci-removed', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expect((await p.install()).code).toBe(0);
    addSpoofingScripts(p);
    p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace(`plugins:\n  - path: ${PLUGIN_RELATIVE_PATH}\n`, ''));
    // The spoof itself works: the script answers `yarn sigstore verify --json` with the expected summary.
    const spoof = await p.run(['sigstore', 'verify', '--json']);
    expect(spoof.output).toContain('"outcome":"completed"');
    const step = await runStep(p);
    expect(step.code, step.output).not.toBe(0);
  });

  it('fails when YARN_RC_FILENAME points at an rc file without the plugin, with the spoofing scripts', async () => {
    const staged = await publishSigned(kit, { name: 'ci-rc-filename', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expect((await p.install()).code).toBe(0);
    addSpoofingScripts(p);
    p.write('ci.yml', p.read('.yarnrc.yml')!.replace(`plugins:\n  - path: ${PLUGIN_RELATIVE_PATH}\n`, ''));
    const step = await runStep(p, { YARN_RC_FILENAME: 'ci.yml' });
    expect(step.code, step.output).not.toBe(0);
  });

  it('with the plugin loaded, a `sigstore` script cannot answer for it: a package the policy now denies fails the step', async () => {
    const staged = await publishSigned(kit, { name: 'ci-denied', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expect((await p.install()).code).toBe(0);
    p.write('sigstore-policy.yml', policyOf([provenanceRule(staged.name, { repository: 'https://github.com/someone-else/ci-denied' })]));
    addSpoofingScripts(p);
    const step = await runStep(p);
    expect(step.code, step.output).not.toBe(0);
    expect(step.output).toContain('POLICY_DENIED');
  });
});
