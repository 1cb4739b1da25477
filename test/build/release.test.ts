/**
 * The release workflow (.github/workflows/release.yml) as far as this machine
 * allows: its "Build the release asset" step, read from the workflow and run
 * as GitHub runs it (`bash -eo pipefail`), in two copies of the sources at
 * different paths and depths. Each must leave the plugin file and a sha256
 * file that names it, both copies must give the same bytes (the build is
 * reproducible), and the file must be the plugin `yarn plugin import` names.
 * The steps that need GitHub (attestation, release upload) are checked for
 * what they publish and how their actions are pinned, and docs/release.md's
 * command for this plugin's own verifier is run on the asset, signed as the
 * workflow signs it (a test Sigstore standing in for the public one).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseArgs, verifyBundleCommand } from '../../src/cli/conformance';
import { REPO_ROOT } from '../../testkit/fixtures';
import { githubIdentity, MockSigstore, PREDICATE_SLSA_V1 } from '../../testkit/signer';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Workflow {
  on: { push: { tags: string[] } };
  jobs: Record<string, { permissions: Record<string, string>; steps: Step[] }>;
}

const WORKFLOW = parse(readFileSync(join(REPO_ROOT, '.github/workflows/release.yml'), 'utf8')) as Workflow;
const STEPS = Object.values(WORKFLOW.jobs).flatMap((job) => job.steps);
const step = (name: string): Step => {
  const found = STEPS.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`release.yml has no step named "${name}"`);
  return found;
};
const ASSET = 'release/plugin-sigstore.js';

/** What the build reads: the sources, the build scripts, the manifest and lockfile; node_modules as hard links (npm ci's part). */
function copySources(into: string): void {
  mkdirSync(into, { recursive: true });
  for (const entry of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(REPO_ROOT, entry), join(into, entry), { recursive: true });
  execFileSync('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(into, 'node_modules')]);
}

function runStep(run: string, cwd: string): Promise<{ code: number | null; output: string }> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^npm_/i.test(key)) env[key] = value;
  env.PATH = `${dirname(process.execPath)}:${env.PATH}`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-eo', 'pipefail', '-c', run], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

let scratch: string;
let builds: string[];
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'sigstore-release-'));
  builds = [join(scratch, 'a'), join(scratch, 'b', 'at', 'another', 'depth')];
  // One after the other: the machine is shared.
  for (const dir of builds) {
    copySources(dir);
    const result = await runStep(step('Build the release asset').run!, dir);
    expect(result.code, result.output).toBe(0);
  }
}, 600_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the release workflow's build step", () => {
  it('gives the same bytes from the same sources, built in two directories', () => {
    const [first, second] = builds.map((dir) => readFileSync(join(dir, ASSET)));
    expect(first.length).toBeGreaterThan(100_000);
    expect(first.equals(second)).toBe(true);
  });

  it('writes a sha256 file that names the asset and matches its bytes', () => {
    for (const dir of builds) {
      const digest = createHash('sha256').update(readFileSync(join(dir, ASSET))).digest('hex');
      expect(readFileSync(join(dir, `${ASSET}.sha256`), 'utf8')).toBe(`${digest}  plugin-sigstore.js\n`);
      // As a user checks it after downloading both files.
      expect(execFileSync('sha256sum', ['-c', 'plugin-sigstore.js.sha256'], { cwd: join(dir, 'release'), encoding: 'utf8' })).toBe('plugin-sigstore.js: OK\n');
    }
  });

  it('makes the plugin `yarn plugin import` names @yarnpkg/plugin-sigstore', () => {
    // What `yarn plugin import` does to name the file it saves in .yarn/plugins/.
    const module = { exports: {} as { name?: string; factory?: unknown } };
    runInNewContext(readFileSync(join(builds[0], ASSET), 'utf8'), { module, exports: module.exports });
    expect(module.exports.name).toBe('@yarnpkg/plugin-sigstore');
    expect(typeof module.exports.factory).toBe('function');
  });
});

describe('the release workflow', () => {
  it('runs on version tags, with the permissions signing and publishing need', () => {
    expect(WORKFLOW.on.push.tags).toEqual(['v*']);
    const [job] = Object.values(WORKFLOW.jobs);
    expect(job.permissions).toEqual({ contents: 'write', 'id-token': 'write', attestations: 'write' });
  });

  it('installs from the lockfile, attests the asset the build made, and publishes it with its sha256 and Sigstore bundle', () => {
    expect(step('Install dependencies').run!.trim()).toBe('npm ci');
    expect(step('Attest build provenance').uses).toMatch(/^actions\/attest-build-provenance@/);
    expect(step('Attest build provenance').with).toEqual({ 'subject-path': ASSET });
    const publish = step('Publish the release').run!;
    expect(publish).toContain('cp "$ATTESTATION" release/plugin-sigstore.js.sigstore.json');
    for (const file of [ASSET, `${ASSET}.sha256`, `${ASSET}.sigstore.json`]) expect(publish).toContain(`${file}`);
  });

  it("is what the README's install step imports: the asset it publishes, at the package's version", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const install = readme.split('\n').find((line) => line.startsWith('yarn plugin import https://'));
    expect(install).toBe(`yarn plugin import https://github.com/OWNER/yarn-plugin-sigstore/releases/download/v${version}/${ASSET.split('/').pop()}`);
  });

  it('pins every action by commit', () => {
    const unpinned = STEPS.filter((candidate) => candidate.uses !== undefined && !/@[0-9a-f]{40}$/.test(candidate.uses));
    expect(unpinned).toEqual([]);
  });
});

/** docs/release.md's `bin/sigstore-conformance verify-bundle ...` command, as arguments. */
function documentedVerifyCommand(): string[] {
  const docs = readFileSync(join(REPO_ROOT, 'docs/release.md'), 'utf8');
  const line = docs.split('\n').find((candidate) => candidate.startsWith('bin/sigstore-conformance verify-bundle '));
  if (!line) throw new Error('docs/release.md has no bin/sigstore-conformance verify-bundle command');
  return line.trim().split(/\s+/).slice(1);
}

describe("the release asset, checked with this plugin's own verifier as docs/release.md says", () => {
  const bundleName = 'plugin-sigstore.js.sigstore.json';
  const committedPlugin = '.yarn/plugins/@yarnpkg/plugin-sigstore.cjs';
  let sigstore: MockSigstore;
  let files: Record<string, string>;

  /** The bundle actions/attest-build-provenance writes (one JSON line) for `subject`, signed by the release workflow at `tag`. */
  async function attest(subject: Buffer, repository: string, tag: string): Promise<string> {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'plugin-sigstore.js', digest: { sha256: createHash('sha256').update(subject).digest('hex') } }],
      predicateType: PREDICATE_SLSA_V1,
      predicate: { buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1' } },
    };
    const identity = githubIdentity({ repository, workflow: '.github/workflows/release.yml', ref: tag });
    return `${JSON.stringify(await sigstore.signProvenance(Buffer.from(JSON.stringify(statement)), identity, '0.3'))}\n`;
  }

  /** Runs the documented command with its file names mapped to this test's files. */
  function verify(overrides: Record<string, string> = {}): string {
    const paths: Record<string, string> = { ...files, ...overrides };
    const argv = documentedVerifyCommand().map((arg) => paths[arg] ?? arg);
    // The artifact stays last; the test Sigstore's root stands in for the embedded production one.
    return verifyBundleCommand(parseArgs([...argv.slice(0, -1), '--trusted-root', paths.trustedRoot, argv[argv.length - 1]]));
  }

  beforeAll(async () => {
    sigstore = await MockSigstore.create();
    const dir = join(scratch, 'check');
    mkdirSync(dir, { recursive: true });
    const asset = readFileSync(join(builds[0], ASSET));
    files = { [bundleName]: join(dir, bundleName), [committedPlugin]: join(dir, 'plugin-sigstore.cjs'), trustedRoot: join(dir, 'trusted_root.json') };
    writeFileSync(files[committedPlugin], asset);
    writeFileSync(files[bundleName], await attest(asset, 'OWNER/yarn-plugin-sigstore', 'refs/tags/v0.1.0'));
    writeFileSync(files.trustedRoot, JSON.stringify(sigstore.trustMaterial().trustedRoot));
  });

  it('passes on the asset the workflow attested, naming the workflow at the tag', () => {
    expect(verify()).toBe('OK https://github.com/OWNER/yarn-plugin-sigstore/.github/workflows/release.yml@refs/tags/v0.1.0');
  });

  it('fails on other bytes', () => {
    const altered = join(scratch, 'check', 'altered.cjs');
    writeFileSync(altered, Buffer.concat([readFileSync(files[committedPlugin]), Buffer.from('\n')]));
    expect(() => verify({ [committedPlugin]: altered })).toThrow(/SUBJECT_DIGEST_MISMATCH|no in-toto subject/);
  });

  it('fails on a bundle signed at another tag, or by another repository', async () => {
    const asset = readFileSync(files[committedPlugin]);
    for (const [repository, tag] of [['OWNER/yarn-plugin-sigstore', 'refs/tags/v0.0.9'], ['someone-else/yarn-plugin-sigstore', 'refs/tags/v0.1.0']]) {
      const other = join(scratch, 'check', `other-${tag.split('/').pop()}-${repository.split('/')[0]}.json`);
      writeFileSync(other, await attest(asset, repository, tag));
      expect(() => verify({ [bundleName]: other })).toThrow(/expected https:\/\/github.com\/OWNER\/yarn-plugin-sigstore\/.github\/workflows\/release.yml@refs\/tags\/v0.1.0/);
    }
  });
});
