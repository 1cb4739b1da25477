/**
 * "Unsigned" remembered, end to end with the real Yarn and the built bundle:
 * a warm install of an unchanged lockfile asks the registry nothing for a
 * package it already found unsigned, still judges it by the current policy,
 * asks again once the answer is older than `sigstoreUnsignedMaxAgeDays`
 * (time moved on disk, in the user's own MAC'd record store and the
 * project's archive index, which both keep the answer; never slept),
 * and offline works from what is cached or fails saying nothing was cached.
 * Also: the summary's counts add up to the packages announced, and
 * sigstore.lock is the same whatever the cache and the platform.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecord, writeRecord } from '../../src/install/record-files';
import { publishPackage } from '../../testkit/publish';
import type { TestRegistry } from '../../testkit/registry';
import { githubIdentity, type MockSigstore } from '../../testkit/signer';
import type { YarnProject } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SIGNED = [
  { name: 'uc-signed-a', version: '1.0.0' },
  { name: '@uc/signed-b', version: '2.0.0' },
];
const UNSIGNED = [
  { name: 'uc-plain-a', version: '1.0.0' },
  { name: '@uc/plain-b', version: '3.1.0' },
  { name: 'uc-plain-c', version: '0.2.0' },
];
/** A package whose optional dependencies are one platform package for this OS and one for another. */
const PARENT = { name: 'uc-native', version: '1.0.0' };
const OTHER_OS = process.platform === 'aix' ? 'sunos' : 'aix';
const PLATFORM = [
  { name: 'uc-native-here', version: '1.0.0', os: process.platform },
  { name: 'uc-native-elsewhere', version: '1.0.0', os: OTHER_OS },
];
const DAY_MS = 86_400_000;

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;

function policy(unsignedRequire = 'none'): string {
  return [
    'version: 1',
    'mode: enforce',
    'default: { require: provenance }',
    'rules:',
    '  - packages: ["uc-signed-*", "@uc/signed-*", "uc-native-*"]',
    '    require: provenance',
    '    identity:',
    `      issuer: ${ISSUER}`,
    '      repository: https://github.com/acme/*',
    '  - packages: ["uc-plain-*", "@uc/plain-*", "uc-native"]',
    `    require: ${unsignedRequire}`,
    '    reason: no provenance upstream',
    '',
  ].join('\n');
}

const dependencies = (list: Array<{ name: string; version: string }>) => Object.fromEntries(list.map((pkg) => [pkg.name, pkg.version]));

function resetInstall(p: YarnProject): void {
  rmSync(join(p.cwd, 'node_modules'), { recursive: true, force: true });
  rmSync(join(p.cwd, '.yarn/install-state.gz'), { force: true });
}

/** Attestation-endpoint and packument requests, as `name:kind`, sorted. */
function attestationRequests(): string[] {
  return registry.requests
    .filter((request) => request.kind === 'attestations' || request.kind === 'packument')
    .map((request) => `${request.name}:${request.kind}`)
    .sort();
}

/** The one request a registry package found unsigned costs (neither pinned as signed nor required to be signed): its packument. */
const askedFor = (list: Array<{ name: string }>) => list.map((pkg) => `${pkg.name}:packument`).sort();

async function warmInstall(p: YarnProject, env: Record<string, string> = {}) {
  resetInstall(p);
  registry.clearRequests();
  return p.install(env);
}

/**
 * Edits one of the plugin's MAC'd files as this user's plugin would (the key
 * is the user's own, under the HOME the test gives Yarn): how a test moves time on.
 */
async function editRecordFile<T>(p: YarnProject, file: string, edit: (body: T) => void): Promise<void> {
  const saved = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = saved || join(p.cwd, '.config');
  try {
    const body = await readRecord<T>(file);
    if (!body) throw new Error(`no readable record file at ${file}`);
    edit(body);
    if (!(await writeRecord(file, body))) throw new Error(`could not write ${file}`);
  } finally {
    if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = saved;
  }
}

type StoreBody = Record<string, Record<string, { value: any; usedAt: number }>>;

const editRecords = (p: YarnProject, edit: (body: StoreBody) => void) => editRecordFile(p, join(p.cwd, '.yarn-global/sigstore/records.json'), edit);

/** The project's archive index (one file: the test's project is the only one under its global folder). */
function editIndex(p: YarnProject, edit: (entries: Record<string, { name: string; unsigned?: { checkedAt: number } }>) => void): Promise<void> {
  const folder = join(p.cwd, '.yarn-global/sigstore/projects');
  const [file, ...others] = readdirSync(folder);
  if (!file || others.length > 0) throw new Error(`expected one archive index in ${folder}`);
  return editRecordFile(p, join(folder, file), edit);
}

/** Moves every remembered "no attestations" answer `days` back in time, where the plugin keeps it: the record store and the archive index. */
async function ageUnsignedAnswers(p: YarnProject, days: number): Promise<void> {
  await editRecords(p, (body) => {
    for (const stored of Object.values(body.unsigned)) stored.value.checkedAt -= days * DAY_MS;
  });
  await editIndex(p, (entries) => {
    for (const entry of Object.values(entries)) if (entry.unsigned) entry.unsigned.checkedAt -= days * DAY_MS;
  });
}

/** The remembered "no attestations" answers of the store, by package name. */
function unsignedAnswers(body: Record<string, Record<string, { value: any }>>): string[] {
  return Object.values(body.unsigned ?? {}).map((stored) => stored.value.name).sort();
}

const summaryEvent = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .find((event) => event.type === 'sigstore-summary');

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-e2e-unsigned-' });
  ({ registry, mock } = kit);
  for (const pkg of SIGNED) await publishPackage(registry, mock, pkg, { identity: githubIdentity({ repository: `acme/${pkg.name.replace(/\W/g, '')}` }) });
  for (const pkg of UNSIGNED) await publishPackage(registry, mock, pkg, { signed: false });
  for (const pkg of PLATFORM) {
    await publishPackage(registry, mock, { name: pkg.name, version: pkg.version, extra: { os: [pkg.os] } }, { identity: githubIdentity({ repository: 'acme/native' }) });
  }
  await publishPackage(registry, mock, { ...PARENT, extra: { optionalDependencies: dependencies(PLATFORM) } }, { signed: false });
});

afterAll(() => kit?.close());

describe('a warm install remembers "unsigned"', () => {
  it('asks nothing for packages found unsigned, yet judges them by the current policy', async () => {
    const p = await kit.project({ dependencies: dependencies([...SIGNED, ...UNSIGNED]), policy: policy() });
    registry.clearRequests();
    const cold = await p.install();
    expect(cold.code, cold.output).toBe(0);
    expect(cold.output).toContain('sigstore: 2 verified, 3 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(attestationRequests()).toEqual(expect.arrayContaining(askedFor(UNSIGNED)));

    const warm = await warmInstall(p);
    expect(warm.code, warm.output).toBe(0);
    expect(warm.output).toContain('sigstore: 2 verified, 3 allowed unsigned by rule, 0 warnings, 0 failures');
    expect(attestationRequests()).toEqual([]);
    const sources = p.evidence().packages.filter((entry: { name: string }) => UNSIGNED.some((pkg) => pkg.name === entry.name)).map((entry: { source: string }) => entry.source);
    expect(sources).toHaveLength(3);
    for (const source of sources) expect(source).toMatch(/^remembered answer \(user global folder\): no attestations as of \d{4}-/);

    // Only the request is skipped: a policy that now wants provenance denies them, still without asking.
    p.write('sigstore-policy.yml', policy('provenance'));
    const denied = await warmInstall(p);
    expect(denied.code).not.toBe(0);
    expect(denied.output).toMatch(/uc-plain-a@1\.0\.0: denied by .*require expected provenance, found no attestation/);
    expect(attestationRequests()).toEqual([]);
    expect(p.exists('node_modules/uc-plain-a')).toBe(false);
  });

  it('asks again once the answer is older than sigstoreUnsignedMaxAgeDays, and remembers the new answer', async () => {
    const p = await kit.project({ dependencies: dependencies([...SIGNED, ...UNSIGNED]), policy: policy(), yarnrc: 'sigstoreUnsignedMaxAgeDays: 7' });
    expect((await p.install()).code).toBe(0);
    let answers: string[] = [];
    let indexed: string[] = [];
    await editRecords(p, (body) => void (answers = unsignedAnswers(body)));
    await editIndex(p, (entries) => void (indexed = Object.values(entries).flatMap((entry) => (entry.unsigned ? [entry.name] : [])).sort()));
    expect(answers).toEqual(UNSIGNED.map((pkg) => pkg.name).sort());
    expect(indexed).toEqual(answers);
    await ageUnsignedAnswers(p, 8);

    const stale = await warmInstall(p);
    expect(stale.code, stale.output).toBe(0);
    // Exactly the unsigned packages are asked again, once each; the signed ones keep their verified results.
    expect(attestationRequests()).toEqual(askedFor(UNSIGNED));

    const fresh = await warmInstall(p);
    expect(fresh.code).toBe(0);
    expect(attestationRequests()).toEqual([]);

    // The same 8-day-old answers stand under a 30-day bound, and are asked for every time under 0.
    await ageUnsignedAnswers(p, 8);
    p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace('sigstoreUnsignedMaxAgeDays: 7', 'sigstoreUnsignedMaxAgeDays: 30'));
    expect((await warmInstall(p)).code).toBe(0);
    expect(attestationRequests()).toEqual([]);
    p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace('sigstoreUnsignedMaxAgeDays: 30', 'sigstoreUnsignedMaxAgeDays: 0'));
    expect((await warmInstall(p)).code).toBe(0);
    expect(attestationRequests()).toEqual(askedFor(UNSIGNED));
  });
});

describe('offline', () => {
  for (const [label, env, why] of [
    ['enableNetwork: false', { YARN_ENABLE_NETWORK: 'false' }, 'enableNetwork is false for 127.0.0.1'],
    ['enableOfflineMode', { YARN_ENABLE_OFFLINE_MODE: 'true' }, 'enableOfflineMode is set'],
  ] as const) {
    it(`${label}: a warm install works from what is cached; a package with no cached answer fails saying so`, async () => {
      const p = await kit.project({ dependencies: dependencies([...SIGNED, ...UNSIGNED]), policy: policy() });
      expect((await p.install()).code).toBe(0);

      const offline = await warmInstall(p, env);
      expect(offline.code, offline.output).toBe(0);
      expect(offline.output).toContain('sigstore: 2 verified, 3 allowed unsigned by rule, 0 warnings, 0 failures');
      expect(registry.requests).toEqual([]);

      // Forget one package's answer (both places keep it): offline, nothing can be asked, and the install says exactly that.
      await editRecords(p, (body) => {
        for (const [key, stored] of Object.entries(body.unsigned)) if (stored.value.name === 'uc-plain-a') delete body.unsigned[key];
      });
      await editIndex(p, (entries) => {
        for (const entry of Object.values(entries)) if (entry.name === 'uc-plain-a') delete entry.unsigned;
      });
      const uncached = await warmInstall(p, env);
      expect(uncached.code).not.toBe(0);
      expect(uncached.output).toContain(`sigstore [SOURCE_OFFLINE] uc-plain-a@1.0.0: its attestations could not be had, so it cannot be judged (SOURCE_OFFLINE: uc-plain-a@1.0.0: no cached attestation answer for this package, and the network is disabled (${why})`);
      expect(uncached.output).not.toContain('exists but failed verification');
      expect(registry.requests).toEqual([]);
      expect(p.exists('node_modules/uc-plain-a')).toBe(false);

      // With no record at all, Yarn's cached zips cannot be bound to verified tarballs without downloading them again.
      rmSync(join(p.cwd, '.yarn-global/sigstore'), { recursive: true, force: true });
      const unbound = await warmInstall(p, env);
      expect(unbound.code).not.toBe(0);
      expect(unbound.output).toContain(`sigstore [SOURCE_OFFLINE] uc-signed-a@npm:1.0.0: no cached record binds its archive to a verified tarball, and the network is disabled (${why})`);
      expect(registry.requests).toEqual([]);
    });
  }
});

describe('truthful counts', () => {
  it('the summary adds up to the packages announced: platform packages not installed here are skipped, trust warnings counted', async () => {
    const p = await kit.project({ dependencies: dependencies([...SIGNED, ...UNSIGNED, PARENT]), policy: policy() });
    // A trust setting from the environment is a trust warning.
    const result = await p.run(['install', '--json'], { YARN_SIGSTORE_TRUSTED_ROOT_PATH: kit.trustedRootPath });
    expect(result.code, result.output).toBe(0);
    const events = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const announced = events.map((event) => /sigstore: verifying (\d+) registry packages/.exec(event.data ?? '')?.[1]).find(Boolean);
    // 2 signed, 3 unsigned, the parent, and its two platform packages.
    expect(Number(announced)).toBe(8);
    const summary = summaryEvent(result.stdout);
    expect(summary).toMatchObject({ outcome: 'completed', packages: 8, verified: 3, allowedUnsigned: 4, warnings: 0, failures: 0, skipped: 1, zeroConfig: false });
    expect(summary.verified + summary.allowedUnsigned + summary.warnings + summary.failures + summary.skipped).toBe(summary.packages);
    const trustWarnings = events.filter((event) => event.type === 'sigstore-warning' && event.about === 'trust');
    expect(trustWarnings.length).toBeGreaterThan(0);
    expect(trustWarnings[0].message).toContain('YARN_SIGSTORE_TRUSTED_ROOT_PATH');
    expect(summary.trustWarnings).toBe(trustWarnings.length);
    const packages = events.filter((event) => event.type === 'sigstore-package');
    expect(packages.find((event) => event.name === 'uc-native-elsewhere')).toMatchObject({ status: 'skipped', source: 'not installed on this platform' });

    const text = await warmInstall(p, { YARN_SIGSTORE_TRUSTED_ROOT_PATH: kit.trustedRootPath });
    expect(text.output).toContain(`sigstore: 3 verified, 4 allowed unsigned by rule, 0 warnings, 0 failures, 1 skipped (not installed on this platform); ${trustWarnings.length} trust warning`);
  });

  it('a first install prints one line for the unsigned packages it pins, not one per package', async () => {
    const p = await kit.project({ dependencies: dependencies([...SIGNED, ...UNSIGNED]), policy: policy() });
    const first = await p.install();
    expect(first.code).toBe(0);
    expect(first.output).toContain('sigstore: pinned 3 packages without provenance (their tarball integrity; listed in sigstore.lock and with --json)');
    expect(first.output).not.toContain('to no provenance');
    expect(first.output).toContain('sigstore: pinned uc-signed-a to https://github.com/acme/ucsigneda');
  });
});

describe('sigstore.lock is deterministic', () => {
  it('the same yarn.lock gives the same sigstore.lock, cold or warm, whichever platform packages this machine fetches', async () => {
    const deps = dependencies([...SIGNED, ...UNSIGNED, PARENT]);
    const first = await kit.project({ dependencies: deps, policy: policy() });
    expect((await first.install()).code).toBe(0);
    const lock = first.read('sigstore.lock')!;
    expect(lock).toContain('"uc-signed-a"');
    expect(lock).toContain('"uc-plain-a"');
    // Platform packages are never pinned: which of them a machine fetches depends on its platform.
    expect(lock).not.toContain('uc-native-');

    // Warm: the same project, its lock removed.
    rmSync(join(first.cwd, 'sigstore.lock'));
    expect((await warmInstall(first)).code).toBe(0);
    expect(first.read('sigstore.lock')).toBe(lock);

    // Cold: another project with the same yarn.lock and its own empty cache and record store.
    const cold = await kit.project({ dependencies: deps, policy: policy() });
    cpSync(join(first.cwd, 'yarn.lock'), join(cold.cwd, 'yarn.lock'));
    expect((await cold.install()).code).toBe(0);
    expect(cold.read('sigstore.lock')).toBe(lock);

    // Another platform: this machine also fetches the other OS's package (Yarn's supportedArchitectures).
    const everywhere = await kit.project({ dependencies: deps, policy: policy(), yarnrc: `supportedArchitectures:\n  os: ["current", "${OTHER_OS}"]` });
    cpSync(join(first.cwd, 'yarn.lock'), join(everywhere.cwd, 'yarn.lock'));
    const installed = await everywhere.install();
    expect(installed.code, installed.output).toBe(0);
    expect(everywhere.evidence().packages.find((entry: { name: string }) => entry.name === 'uc-native-elsewhere').status).toBe('verified');
    expect(everywhere.read('sigstore.lock')).toBe(lock);
    expect(everywhere.read('yarn.lock')).toBe(first.read('yarn.lock'));
  });
});
