/**
 * A CI step run in a staged project as a GitHub runner runs it: `yarn` on
 * PATH is the pinned Yarn (as corepack provides it), the test's own Yarn, npm,
 * CI and GitHub variables are left out, HOME and Yarn's global folder are the
 * project's own (a fresh runner).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { cleanEnvironment, YARN_BIN, type YarnProject } from './yarn';
import { projectFor, publishSigned, startAttackKit, type AttackKit } from './attack-harness';

/** A folder holding a `yarn` that runs the pinned Yarn, to put first on PATH. */
export function yarnShims(): string {
  const shims = mkdtempSync(join(tmpdir(), 'sigstore-ci-shims-'));
  writeFileSync(join(shims, 'yarn'), `#!/bin/sh\nexec "${process.execPath}" "${YARN_BIN}" "$@"\n`);
  chmodSync(join(shims, 'yarn'), 0o755);
  return shims;
}

/** Runs `bash <args>` in the project with the runner's environment plus `env`; stdout and stderr together. */
export function runBash(p: YarnProject, shims: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const stepEnv = { ...cleanEnvironment(), HOME: join(p.cwd, 'runner-home'), YARN_GLOBAL_FOLDER: join(p.cwd, '.yarn-global'), YARN_ENABLE_TELEMETRY: '0', SIGSTORE_TEST_MARKER_DIR: p.markers, PATH: `${shims}:${process.env.PATH}`, ...env };
  mkdirSync(stepEnv.HOME, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { cwd: p.cwd, env: stepEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The file's staging, set up before its tests: an attack kit (loopback registry, mock Sigstore) and the Yarn shims. */
export function ciStaging(): { kit: AttackKit; shims: string } {
  const staging = {} as { kit: AttackKit; shims: string };
  beforeAll(async () => {
    staging.kit = await startAttackKit();
    staging.shims = yarnShims();
  });
  afterAll(async () => {
    await staging.kit?.close();
  });
  return staging;
}

/** A signed package's project, installed (the install must pass), as a CI job checks it out. */
export async function installedProject(kit: AttackKit, name: string): Promise<YarnProject> {
  const p = await projectFor(kit, await publishSigned(kit, { name, version: '1.0.0' }));
  expect((await p.install()).code).toBe(0);
  return p;
}
