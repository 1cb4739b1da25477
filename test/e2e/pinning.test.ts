/**
 * Identity pinning end to end: the real pinned Yarn, the built plugin, a
 * loopback registry serving packages signed through a mock Sigstore from
 * several repositories (or not at all). Zero-config: every signed package is
 * verified and pinned in sigstore.lock.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishPackage } from '../../testkit/publish';
import type { TestRegistry } from '../../testkit/registry';
import { githubIdentity, type MockSigstore } from '../../testkit/signer';
import type { YarnProject } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const LOCK = 'sigstore.lock';
const ACME = githubIdentity({ repository: 'acme/pin-a', repositoryId: '501', ownerId: '500' });
const FORK = githubIdentity({ repository: 'mallory/pin-a', repositoryId: '901', ownerId: '900' });

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;

function project(dependencies: Record<string, string>, policy?: string): Promise<YarnProject> {
  return kit.project({ dependencies, policy });
}

function setDependencies(p: YarnProject, dependencies: Record<string, string>): void {
  p.write('package.json', JSON.stringify({ name: 'e2e-project', private: true, dependencies }, null, 2));
}

async function installOk(p: YarnProject, args: string[] = ['install']): Promise<string> {
  const result = await p.run(args);
  expect(result.code, result.output).toBe(0);
  return result.output;
}

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-pin-trust-' });
  ({ registry, mock } = kit);
  await publishPackage(registry, mock, { name: 'pin-a', version: '1.0.0' }, { identity: ACME });
  await publishPackage(registry, mock, { name: 'pin-a', version: '1.1.0' }, { identity: FORK });
  await publishPackage(registry, mock, { name: 'pin-a', version: '1.2.0' }, { signed: false });
  await publishPackage(registry, mock, { name: 'pin-b', version: '1.0.0' }, { identity: githubIdentity({ repository: 'acme/pin-b' }) });
  await publishPackage(registry, mock, { name: 'pin-c', version: '1.0.0' }, { identity: githubIdentity({ repository: 'acme/pin-c' }) });
  await publishPackage(registry, mock, { name: 'pin-none', version: '1.0.0' }, { signed: false });
});

afterAll(() => kit?.close());

describe('sigstore.lock', () => {
  it('pins every signed package on first install, stays byte-identical, refuses a fork and a lost provenance until `pin update`', async () => {
    const p = await project({ 'pin-a': '1.0.0', 'pin-b': '1.0.0', 'pin-none': '1.0.0' });
    const first = await installOk(p);
    expect(first).toContain('sigstore: pinned pin-a to https://github.com/acme/pin-a .github/workflows/release.yml github-hosted');
    expect(first).toContain('sigstore: pinned pin-b to https://github.com/acme/pin-b');
    const lock = p.read(LOCK)!;
    expect(lock).toContain('"pin-a":\n  provenance: true\n  issuer: "https://token.actions.githubusercontent.com"\n  repository: "https://github.com/acme/pin-a"\n  repositoryId: "501"\n  ownerId: "500"');
    expect(lock).toContain('"pin-none":\n  provenance: false\n  versions:');
    expect(lock.indexOf('"pin-a":')).toBeLessThan(lock.indexOf('"pin-b":'));

    const second = await installOk(p);
    expect(second).not.toContain('sigstore: pinned');
    expect(p.read(LOCK)).toBe(lock);
    await installOk(p, ['install', '--immutable']);
    expect(p.read(LOCK)).toBe(lock);

    // A new version signed from another repository: both identities shown, nothing written.
    setDependencies(p, { 'pin-a': '1.1.0', 'pin-b': '1.0.0', 'pin-none': '1.0.0' });
    const fork = await p.install();
    expect(fork.code).not.toBe(0);
    expect(fork.output).toContain('PIN_IDENTITY_CHANGED');
    expect(fork.output).toContain('pin-a@1.1.0');
    expect(fork.output).toContain('repository: pinned https://github.com/acme/pin-a, found https://github.com/mallory/pin-a');
    expect(fork.output).toContain('ownerId: pinned 500, found 900');
    expect(p.read(LOCK)).toBe(lock);
    expect(JSON.parse(p.read('node_modules/pin-a/package.json')!).version).toBe('1.0.0');

    // A new version without provenance: no-downgrade.
    setDependencies(p, { 'pin-a': '1.2.0', 'pin-b': '1.0.0', 'pin-none': '1.0.0' });
    const unsigned = await p.install();
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.output).toContain('PIN_PROVENANCE_LOST');
    expect(unsigned.output).toContain('pin-a@1.2.0');
    expect(p.read(LOCK)).toBe(lock);

    // Accepted on purpose: the reason is recorded, and the next install re-pins.
    const missingReason = await p.run(['sigstore', 'pin', 'update', 'pin-a', '--reason', ' ']);
    expect(missingReason.code).not.toBe(0);
    expect(missingReason.output).toContain('PIN_UPDATE_INVALID');
    await installOk(p, ['sigstore', 'pin', 'update', 'pin-a', '--reason', 'upstream dropped provenance, ACME-7']);
    expect(p.read(LOCK)).toContain('  reason: "upstream dropped provenance, ACME-7"\n  pendingUpdate: true');
    const updated = await installOk(p);
    expect(updated).toContain('sigstore: pinned pin-a to no provenance (reason: upstream dropped provenance, ACME-7)');
    const after = p.read(LOCK)!;
    expect(after).toContain('"pin-a":\n  provenance: false\n  reason: "upstream dropped provenance, ACME-7"\n  versions:\n    "1.2.0": {');
    expect(after).not.toContain('pendingUpdate');
    const pinA = after.slice(after.indexOf('"pin-a":'), after.indexOf('"pin-b":'));
    expect(pinA).not.toContain('"1.0.0"');
    expect(JSON.parse(p.read('node_modules/pin-a/package.json')!).version).toBe('1.2.0');

    // A pending update is a change of the lock: --immutable CI refuses it and writes nothing.
    await installOk(p, ['sigstore', 'pin', 'update', 'pin-b', '--reason', 'audit ACME-9']);
    const pendingLock = p.read(LOCK);
    const pending = await p.run(['install', '--immutable']);
    expect(pending.code).not.toBe(0);
    expect(pending.output).toContain('PIN_LOCK_STALE');
    expect(p.read(LOCK)).toBe(pendingLock);
  });

  it('--immutable fails on a missing pin and writes nothing', async () => {
    const p = await project({ 'pin-b': '1.0.0' });
    await installOk(p);
    rmSync(join(p.cwd, LOCK));
    const result = await p.run(['install', '--immutable']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('PIN_MISSING');
    expect(result.output).toContain('pin-b@1.0.0');
    expect(p.exists(LOCK)).toBe(false);
  });

  it('resolves a git conflict of two branches adding neighbouring packages into the union of both pins', async () => {
    const p = await project({ 'pin-a': '1.0.0' });
    await installOk(p);
    const base = p.read(LOCK)!;
    const yarnLock = p.read('yarn.lock')!;
    const branch = async (name: string) => {
      setDependencies(p, { 'pin-a': '1.0.0', [name]: '1.0.0' });
      p.write('yarn.lock', yarnLock);
      p.write(LOCK, base);
      await installOk(p);
      return p.read(LOCK)!;
    };
    const ours = await branch('pin-b');
    const theirs = await branch('pin-c');
    const files = { ours: join(p.cwd, 'ours.lock'), base: join(p.cwd, 'base.lock'), theirs: join(p.cwd, 'theirs.lock') };
    writeFileSync(files.ours, ours);
    writeFileSync(files.base, base);
    writeFileSync(files.theirs, theirs);
    // git merge-file exits with the number of conflicts (hunks may split a block around shared lines).
    const merged = await promisify(execFile)('git', ['merge-file', '-p', files.ours, files.base, files.theirs]).catch((error) => error);
    expect(merged.code).toBeGreaterThanOrEqual(1);
    expect(merged.stdout).toContain('<<<<<<<');
    p.write(LOCK, merged.stdout);
    setDependencies(p, { 'pin-a': '1.0.0', 'pin-b': '1.0.0', 'pin-c': '1.0.0' });
    await installOk(p);
    const resolved = p.read(LOCK)!;
    expect(resolved).not.toContain('<<<<<<<');
    for (const name of ['pin-a', 'pin-b', 'pin-c']) expect(resolved).toContain(`"${name}":\n  provenance: true`);
    expect(resolved).toContain('https://github.com/acme/pin-b');
    expect(resolved).toContain('https://github.com/acme/pin-c');
    await installOk(p, ['install', '--immutable']);
    expect(p.read(LOCK)).toBe(resolved);
  });

  it('a rule with `pin: false` neither checks nor records; in warn mode a changed signer warns and the pin stays', async () => {
    const unpinned = await project({ 'pin-a': '1.0.0', 'pin-b': '1.0.0' }, 'version: 1\ndefault: { require: none }\nrules:\n  - packages: ["pin-a"]\n    require: none\n    pin: false\n');
    await installOk(unpinned);
    expect(unpinned.read(LOCK)).not.toContain('"pin-a"');
    expect(unpinned.read(LOCK)).toContain('"pin-b"');
    setDependencies(unpinned, { 'pin-a': '1.1.0', 'pin-b': '1.0.0' });
    await installOk(unpinned);

    const warned = await project({ 'pin-a': '1.0.0' }, 'version: 1\nmode: warn\ndefault: { require: none }\n');
    await installOk(warned);
    const lock = warned.read(LOCK)!;
    setDependencies(warned, { 'pin-a': '1.1.0' });
    const output = await installOk(warned);
    expect(output).toContain('pin-a@1.1.0: signed by another identity than the one pinned in sigstore.lock');
    expect(output).toContain('(warn mode)');
    expect(warned.read(LOCK)).toBe(lock);
  });
});
