/**
 * The zip digest the binding starts from (src/install/bind.ts archiveDigest):
 * the archive index's when the file identity is the recorded one, else the
 * one the package manager just computed of the file, else hashed here. An
 * identity may stand for a computed digest only for a file that had not
 * changed since 2 s before the computing call began.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archiveDigest, fileIdentity } from '../../src/install/bind';
import type { ArchiveEntry, Store } from '../../src/install/store';

const folder = mkdtempSync(join(os.tmpdir(), 'sigstore-bind-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A store whose archive index holds `entry` (or nothing). */
const storeWith = (entry?: ArchiveEntry) => ({ lookup: async () => entry }) as unknown as Store;
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

describe('archiveDigest', () => {
  it("takes the digest the package manager computed without reading the file again", async () => {
    const zipPath = join(folder, 'gone.zip');
    // No file at the path: reading it would throw.
    const digest = await archiveDigest(storeWith(), 'hash', zipPath, '1:2:3:4:5', { sha512: 'ab'.repeat(64), sinceNs: nowNs() });
    expect(digest.sha512).toBe('ab'.repeat(64));
  });

  it('lets the identity stand for a computed digest only when the file is older than 2 s before the call', async () => {
    const zipPath = join(folder, 'young.zip');
    writeFileSync(zipPath, 'zip bytes');
    const current = fileIdentity(zipPath)!;
    const sha512 = createHash('sha512').update('zip bytes').digest('hex');
    // Written just now: a change within the racy window would go unseen.
    expect((await archiveDigest(storeWith(), 'hash', zipPath, current, { sha512, sinceNs: nowNs() })).identity).toBeUndefined();
    // The same file, seen by a call that began 3 s after it was written.
    const later = await archiveDigest(storeWith(), 'hash', zipPath, current, { sha512, sinceNs: nowNs() + 3_000_000_000n });
    expect(later).toMatchObject({ sha512, observed: current, identity: current });
  });

  it('hashes the file itself when nothing computed its digest', async () => {
    const zipPath = join(folder, 'hashed.zip');
    writeFileSync(zipPath, 'other bytes');
    const digest = await archiveDigest(storeWith(), 'hash', zipPath, fileIdentity(zipPath)!);
    expect(digest.sha512).toBe(createHash('sha512').update('other bytes').digest('hex'));
  });

  it("prefers the archive index's digest when the identity is the recorded one", async () => {
    const entry = { identity: '7:7:7:7:7', zipSha512: 'cd'.repeat(64) } as ArchiveEntry;
    const digest = await archiveDigest(storeWith(entry), 'hash', join(folder, 'gone.zip'), '7:7:7:7:7', { sha512: 'ab'.repeat(64), sinceNs: nowNs() });
    expect(digest).toMatchObject({ sha512: 'cd'.repeat(64), identity: '7:7:7:7:7', entry });
  });
});
