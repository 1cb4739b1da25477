/**
 * The opt-in CI record key (SIGSTORE_RECORD_KEY), end to end with the real
 * Yarn: a CI job that restores Yarn's cache AND the plugin's store
 * (`<globalFolder>/sigstore`) on a fresh runner (new inodes, no per-user key)
 * gets its verified results back with the same key, and asks the registry
 * nothing for them; under another key, or without one, the restored store
 * counts for nothing; a forged zip is still refused; a weak key is a coded
 * error; the key is never printed and never reaches a script.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearInstallOutput, expectRefused, forgedTarball, forgedZipOf, plantForgedCache, policyOf, provenanceRule, publishSigned, repositoryOf, startAttackKit, type AttackKit, type Staged } from '../../testkit/attack-harness';
import { publishPackage } from '../../testkit/publish';
import { githubIdentity } from '../../testkit/signer';
import { buildPackageTarball } from '../../testkit/tarball';
import { jsonEvents, type YarnProject } from '../../testkit/yarn';

const VARIABLE = 'SIGSTORE_RECORD_KEY';
const KEY = randomBytes(32).toString('hex');
/** What a script sees of the variable: its postinstall writes this into the marker folder, `yarn run` prints it. */
const PROBE = `node -e "const fs = require('fs'); fs.mkdirSync(process.env.SIGSTORE_TEST_MARKER_DIR, { recursive: true }); fs.writeFileSync(require('path').join(process.env.SIGSTORE_TEST_MARKER_DIR, 'record-key-seen'), String(process.env.${VARIABLE}))"`;
const PROBE_PACKAGE = { name: 'ck-probe', version: '1.0.0' };
const PLAIN = { name: 'ck-plain', version: '1.0.0' };

let kit: AttackKit;
let signed: Staged[];
let p: YarnProject;
/** The cache the first job saved: Yarn's zips and the plugin's store, written under KEY. */
let saved: string;

const globalFolder = () => join(p.cwd, '.yarn-global');
const served = (kinds: string[]) => kit.registry.requests.filter((request) => kinds.includes(request.kind));
const SOURCES = ['attestations', 'packument', 'tarball'];

/** A CI job's cache step saving Yarn's cache and the plugin's store. */
function saveCache(): string {
  const folder = mkdtempSync(join(tmpdir(), 'sigstore-ci-cache-'));
  for (const part of ['cache', 'sigstore']) cpSync(join(globalFolder(), part), join(folder, part), { recursive: true });
  return folder;
}

/** A fresh runner whose cache step restored `folder`: every file written anew (new inodes), no per-user key, nothing linked. */
function restoreOnFreshRunner(folder: string): void {
  rmSync(globalFolder(), { recursive: true, force: true });
  rmSync(join(p.cwd, '.config'), { recursive: true, force: true });
  rmSync(join(p.cwd, '.yarn/install-state.gz'), { force: true });
  clearInstallOutput(p);
  for (const part of ['cache', 'sigstore']) cpSync(join(folder, part), join(globalFolder(), part), { recursive: true });
  kit.registry.clearRequests();
}

const SUMMARY = 'sigstore: 3 verified, 1 allowed unsigned by rule, 0 warnings, 0 failures';

beforeAll(async () => {
  kit = await startAttackKit();
  signed = [await publishSigned(kit, { name: 'ck-a', version: '1.0.0' }), await publishSigned(kit, { name: '@ck/b', version: '2.1.0' })];
  await publishPackage(kit.registry, kit.mock, { ...PROBE_PACKAGE, scripts: { postinstall: PROBE } }, { identity: githubIdentity({ repository: repositoryOf(PROBE_PACKAGE.name) }) });
  kit.registry.addVersion({ ...PLAIN, tarball: buildPackageTarball(PLAIN) });
  const allowPlain = [`  - packages: ["${PLAIN.name}"]`, '    require: none', '    reason: no provenance upstream'].join('\n');
  p = await kit.project({
    manifest: {
      name: 'ci-key-app',
      private: true,
      scripts: { 'show-key': `node -e "process.stdout.write('seen:' + process.env.${VARIABLE})"` },
      dependencies: Object.fromEntries([...signed, PROBE_PACKAGE, PLAIN].map((pkg) => [pkg.name, pkg.version])),
    },
    policy: policyOf([...[...signed, PROBE_PACKAGE].map((pkg) => provenanceRule(pkg.name)), allowPlain]),
  });
  // The job that saved the cache: a cold install with the key.
  const cold = await p.install({ [VARIABLE]: KEY });
  expect(cold.code, cold.output).toBe(0);
  expect(cold.output).toContain(SUMMARY);
  saved = saveCache();
});

afterAll(async () => {
  if (saved) rmSync(saved, { recursive: true, force: true });
  await kit?.close();
});

describe('SIGSTORE_RECORD_KEY: a CI job restoring the plugin store', () => {
  it('with the same key, installs from the restored cache and store without one attestation, packument or tarball request', async () => {
    restoreOnFreshRunner(saved);
    const warm = await p.install({ [VARIABLE]: KEY });
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toContain(SUMMARY);
    expect(served(SOURCES)).toEqual([]);
    const sources = p.evidence().packages.map((entry: { name: string; source?: string }) => [entry.name, entry.source]);
    expect(sources).toContainEqual([signed[0].name, 'verification cache (user global folder)']);
    expect(sources.find(([name]: string[]) => name === PLAIN.name)?.[1]).toMatch(/^remembered answer .*: no attestations/);
    expect(p.markerExists(signed[0].name, signed[0].version)).toBe(true);
  });

  it('never prints the key nor hands it to a script: install output, --json, the evidence file, a postinstall, yarn run', async () => {
    restoreOnFreshRunner(saved);
    const json = await p.run(['install', '--json'], { [VARIABLE]: KEY });
    expect(json.code, json.output).toBe(0);
    expect(jsonEvents(json.stdout).some((event) => event.type === 'sigstore-summary')).toBe(true);
    const run = await p.run(['run', 'show-key'], { [VARIABLE]: KEY });
    expect(run.stdout).toContain('seen:undefined');
    const printed = [json.output, run.output, p.read('.yarn/sigstore-evidence.json')!, readFileSync(join(p.markers, 'record-key-seen'), 'utf8')].join('\n');
    expect(readFileSync(join(p.markers, 'record-key-seen'), 'utf8')).toBe('undefined');
    for (const form of [KEY, Buffer.from(KEY, 'hex').toString('base64url'), KEY.slice(0, 16)]) expect(printed).not.toContain(form);
  });

  it('with another key, or without one (a job without the secret), the restored store counts for nothing: every package fetched and verified again', async () => {
    const jobs: Array<Record<string, string>> = [{ [VARIABLE]: randomBytes(32).toString('base64url') }, {}, { [VARIABLE]: '' }];
    for (const env of jobs) {
      restoreOnFreshRunner(saved);
      const result = await p.install(env);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain(SUMMARY);
      for (const pkg of [...signed, PROBE_PACKAGE]) {
        expect(served(['attestations']).filter((request) => request.name === pkg.name).length, `${pkg.name} attestations`).toBeGreaterThan(0);
        // The restored zip is bound to a verified tarball again: downloaded, verified, converted and compared.
        expect(served(['tarball']).filter((request) => request.name === pkg.name).length, `${pkg.name} tarball`).toBeGreaterThan(0);
      }
    }
  });

  it('a store written by a job without the secret, restored into a job with it, counts for nothing', async () => {
    restoreOnFreshRunner(saved);
    expect((await p.install()).code).toBe(0);
    const untrusted = saveCache();
    try {
      restoreOnFreshRunner(untrusted);
      const result = await p.install({ [VARIABLE]: KEY });
      expect(result.code, result.output).toBe(0);
      expect(served(['attestations']).map((request) => request.name)).toEqual(expect.arrayContaining([...signed, PROBE_PACKAGE].map((pkg) => pkg.name)));
      expect(served(['tarball']).length).toBeGreaterThanOrEqual(4);
    } finally {
      rmSync(untrusted, { recursive: true, force: true });
    }
  });

  it('a forged zip in the restored cache (yarn.lock edited to vouch for it), the store under the right key: re-downloaded, verified, refused', async () => {
    const [target] = signed;
    const forged = await forgedZipOf(kit, target, forgedTarball(target));
    const lockfile = p.read('yarn.lock')!;
    restoreOnFreshRunner(saved);
    plantForgedCache(p, join(globalFolder(), 'cache'), forged, target.name);
    try {
      const result = await p.install({ [VARIABLE]: KEY });
      expectRefused(p, result, 'CACHE_BINDING_MISSING', { warm: [target.name] });
      expect(served(['tarball']).filter((request) => request.name === target.name).length).toBeGreaterThan(0);
    } finally {
      p.write('yarn.lock', lockfile);
    }
  });

  it.each([
    ['too short', randomBytes(16).toString('hex')],
    ['a placeholder', '0'.repeat(64)],
    ['not hex nor base64', `${randomBytes(32).toString('hex')} pasted`],
  ])('a key that is %s fails install and verify with RECORD_KEY_INVALID before any request, without printing it', async (_label, value) => {
    restoreOnFreshRunner(saved);
    for (const args of [['install'], ['sigstore', 'verify', '--json']]) {
      const result = await p.run(args, { [VARIABLE]: value });
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).toContain(`RECORD_KEY_INVALID] ${VARIABLE} is set but is not a usable record key`);
      expect(result.output).not.toContain(value);
      expect(result.output).not.toContain(value.slice(0, 16));
    }
    expect(served(SOURCES)).toEqual([]);
    expect(p.exists('node_modules')).toBe(false);
  });
});
