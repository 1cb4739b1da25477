/**
 * `npm run demo` minus the build (the test run builds the bundle first):
 * the demo script runs as a child process and must pass on real provenance,
 * be blocked by the mismatched policy, and exit 0, with every process it
 * starts (Yarn included) refused any socket beyond 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/fixtures';

/** Runs the demo with every process it starts (Yarn included) unable to open a socket beyond 127.0.0.1. */
function runDemo(networkLog: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, NODE_OPTIONS: `--require ${join(REPO_ROOT, 'test/e2e/no-network.cjs')}`, SIGSTORE_NO_NETWORK_LOG: networkLog };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/demo.ts')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('passes on real provenance, is blocked by a policy naming another repository, exits 0, and stays on the loopback', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'sigstore-demo-net-'));
    const networkLog = join(logDir, 'attempts.log');
    const { code, stdout, stderr } = await runDemo(networkLog);
    const attempts = existsSync(networkLog) ? readFileSync(networkLog, 'utf8') : '';
    rmSync(logDir, { recursive: true, force: true });
    expect(attempts).toBe('');
    expect(stderr).not.toContain('DEMO FAILED');
    expect(stdout).toContain('sigstore: 2 verified, 0 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(stdout).toContain('built from  https://github.com/ramonpetgrave64/gundam-visor (refs/tags/v1.0.1)');
    expect(stdout).toContain('built from  https://github.com/trishankatdatadog/supreme-goggles (refs/tags/v1.0.5)');
    expect(stdout).toContain('PASS: the install succeeded and both packages were verified against the policy.');
    expect(stdout).toContain(
      'gundam-visor@npm:1.0.1: sigstore [POLICY_DENIED] gundam-visor@1.0.1: denied by rules[0] (gundam-visor): identity.repository expected https://github.com/someone-else/gundam-visor, found https://github.com/ramonpetgrave64/gundam-visor; a changed signer may be an attack: review the change, and if this signer is expected: yarn sigstore policy trust gundam-visor',
    );
    expect(stdout).toContain('BLOCKED as expected');
    expect(stdout).toContain('DEMO OK');
    expect(stdout).not.toContain('UNEXPECTED');
    expect(code).toBe(0);
  });
});
