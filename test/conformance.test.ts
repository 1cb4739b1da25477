/**
 * The 70 bundle-verify cases of the Sigstore conformance suite, run through
 * bin/sigstore-conformance as a child process, exactly as the upstream suite would.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const CASES = join(ROOT, 'fixtures', 'conformance', 'bundle-verify');
const CLIENT = join(ROOT, 'bin', 'sigstore-conformance');
const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const PARALLELISM = 3;

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function argsFor(name: string): string[] {
  const dir = join(CASES, name);
  const optional = (file: string) => (existsSync(join(dir, file)) ? join(dir, file) : undefined);
  const args = ['verify-bundle', '--bundle', join(dir, 'bundle.sigstore.json')];
  const key = optional('key.pub');
  if (key) args.push('--key', key);
  else {
    const identity = optional('identity');
    const issuer = optional('issuer');
    args.push('--certificate-identity', identity ? readFileSync(identity, 'utf8').trim() : DEFAULT_IDENTITY);
    args.push('--certificate-oidc-issuer', issuer ? readFileSync(issuer, 'utf8').trim() : DEFAULT_ISSUER);
  }
  const trustedRoot = optional('trusted_root.json');
  if (trustedRoot) args.push('--trusted-root', trustedRoot);
  args.push(optional('artifact') ?? join(CASES, 'a.txt'));
  return args;
}

function run(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENT, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function runAll(names: string[]): Promise<Map<string, Outcome>> {
  const results = new Map<string, Outcome>();
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) results.set(name, await run(argsFor(name)));
  };
  await Promise.all(Array.from({ length: PARALLELISM }, worker));
  return results;
}

const names = readdirSync(CASES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** Cases whose rejection must carry a specific code: the checks are told apart. */
const EXPECTED_CODES: Record<string, string> = {
  'trust-root-tlog-missing-validity-start_fail': 'TRUSTED_ROOT_INVALID',
  'bundle-unknown-version_fail': 'BUNDLE_MEDIA_TYPE_UNKNOWN',
  'bundle-empty-certificate-chain_fail': 'BUNDLE_MALFORMED',
  'invalid-ct-key_fail': 'CERTIFICATE_SCT',
  'bundle-from-wrong-instance_fail': 'CERTIFICATE_CHAIN',
  'intoto-expired-certificate_fail': 'CERTIFICATE_CHAIN',
  'set-invalid-signature_fail': 'TLOG_SET',
  'invalid-checkpoint-signature_fail': 'TLOG_CHECKPOINT',
  'inclusion-proof-corrupted-hash_fail': 'TLOG_INCLUSION_PROOF',
  'wrong-material_fail': 'SIGNATURE',
  'message-digest-mismatch_fail': 'TLOG_ENTRY_MISMATCH',
  'rekor2-no-timestamp_fail': 'TIMESTAMP',
  'managed-key-no-key_fail': 'KEY_UNKNOWN',
};

describe('Sigstore conformance: bundle-verify through bin/sigstore-conformance', () => {
  let results: Map<string, Outcome>;
  beforeAll(async () => {
    results = await runAll(names);
  }, 180_000);

  it('has all 70 cases', () => {
    expect(names).toHaveLength(70);
  });

  for (const name of names) {
    const mustFail = name.endsWith('_fail');
    it(`${name} ${mustFail ? 'fails' : 'verifies'}`, () => {
      const outcome = results.get(name)!;
      if (mustFail) {
        expect(outcome.status, outcome.stdout).not.toBe(0);
        // A coded error, never a crash.
        expect(outcome.stderr).toMatch(/^[A-Z_]+: /);
        if (EXPECTED_CODES[name]) expect(outcome.stderr.split(':')[0]).toBe(EXPECTED_CODES[name]);
      } else {
        expect(outcome.status, outcome.stderr).toBe(0);
        expect(outcome.stdout).toMatch(/^OK/);
      }
    });
  }

  it('rejects a verified bundle when the identity differs in any way (exact match, not a pattern)', async () => {
    const base = argsFor('happy-path-v0.3');
    const withIdentity = (identity: string) => base.map((arg, index) => (base[index - 1] === '--certificate-identity' ? identity : arg));
    const prefix = await run(withIdentity(DEFAULT_IDENTITY.slice(0, -4)));
    const regexLike = await run(withIdentity('.*'));
    expect(prefix.status).not.toBe(0);
    expect(regexLike.status).not.toBe(0);
    expect(prefix.stderr).toMatch(/^IDENTITY_MISMATCH: /);
  });

  it('accepts an artifact digest (sha256:HEX) for an in-toto bundle, and only the right one', async () => {
    const artifactDigest = createHash('sha256').update(readFileSync(join(CASES, 'a.txt'))).digest('hex');
    const base = argsFor('happy-path-intoto-in-dsse-v3').slice(0, -1);
    const right = await run([...base, `sha256:${artifactDigest}`]);
    const wrong = await run([...base, `sha256:${'0'.repeat(64)}`]);
    expect(right.status, right.stderr).toBe(0);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/^SUBJECT_DIGEST_MISMATCH: /);
  });
});
