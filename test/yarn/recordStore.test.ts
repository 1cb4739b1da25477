/**
 * The user's record store: one HMAC'd file, merged on write, entries that
 * age out dropped, and a file not made with this user's key ignored whole.
 * XDG_CONFIG_HOME points the record key into a temporary folder.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordStore } from '../../src/yarn/recordStore';
import { ArchiveIndex, type ArchiveEntry } from '../../src/yarn/archiveIndex';
import { writeRecord } from '../../src/yarn/recordFiles';
import { RESULT_FORMAT, VerificationCache } from '../../src/yarn/verificationCache';
import type { PackageVerification } from '../../src/verify/types';

let folder: string;
const savedConfigHome = process.env.XDG_CONFIG_HOME;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'sigstore-records-'));
  process.env.XDG_CONFIG_HOME = join(folder, 'config');
});

afterAll(() => {
  if (savedConfigHome === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = savedConfigHome;
  rmSync(folder, { recursive: true, force: true });
});

const bodyOf = (file: string) => JSON.parse(JSON.parse(readFileSync(file, 'utf8')).body);

describe('RecordStore', () => {
  it('keeps what two installs wrote one after the other; verified results read back with Date times', async () => {
    const file = join(folder, 'merge.json');
    const first = new RecordStore(file);
    const second = new RecordStore(file);
    expect(await second.get('bindings', 'b')).toBeUndefined();
    first.put('bindings', 'a', { n: 1 });
    await first.flush();
    second.put('bindings', 'b', { n: 2 });
    const subject = { name: 'a', version: '1.0.0', sha512Hex: 'ab'.repeat(64) };
    const verification = { subject, provenanceCount: 0, publish: { kind: 'publish', keyId: 'k', verifiedTime: new Date('2025-01-02T03:04:05Z') } } as unknown as PackageVerification;
    new VerificationCache(second).write('v', verification);
    await second.flush();
    const third = new RecordStore(file);
    expect(await third.get('bindings', 'a')).toEqual({ n: 1 });
    expect(await third.get('bindings', 'b')).toEqual({ n: 2 });
    const read = await new VerificationCache(third).read('v', subject);
    expect(read?.publish?.verifiedTime).toEqual(new Date('2025-01-02T03:04:05Z'));
    expect(await new VerificationCache(third).read('v', { ...subject, version: '1.0.1' })).toBeUndefined();
  });

  it('drops entries unused for 90 days when it writes, and writes nothing when nothing changed', async () => {
    const file = join(folder, 'retention.json');
    const store = new RecordStore(file);
    store.put('bindings', 'old', { n: 1 });
    store.put('bindings', 'recent', { n: 2 });
    await store.flush();
    // Age one entry through a store written with this user's key (what an install 91 days later finds).
    const aged = new RecordStore(file);
    const body = bodyOf(file);
    (aged as unknown as { touched: typeof body }).touched.bindings = { old: { ...body.bindings.old, usedAt: Date.now() - 91 * 86_400_000 } };
    await aged.flush();
    expect(Object.keys(bodyOf(file).bindings)).toEqual(['recent']);

    const before = readFileSync(file, 'utf8');
    const reader = new RecordStore(file);
    expect(await reader.get('bindings', 'recent')).toEqual({ n: 2 });
    await reader.flush();
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('ignores a file whose MAC is not this user\'s, and replaces it with its own entries', async () => {
    const file = join(folder, 'foreign.json');
    const store = new RecordStore(file);
    store.put('bindings', 'genuine', { n: 1 });
    await store.flush();
    const genuine = JSON.parse(readFileSync(file, 'utf8'));
    const forgedBody = JSON.stringify({ bindings: { forged: { value: { n: 666 }, usedAt: Date.now() } }, verified: {} });
    writeFileSync(file, JSON.stringify({ mac: genuine.mac, body: forgedBody }));
    const reader = new RecordStore(file);
    expect(await reader.get('bindings', 'forged')).toBeUndefined();
    expect(await reader.get('bindings', 'genuine')).toBeUndefined();
    reader.put('bindings', 'mine', { n: 2 });
    await reader.flush();
    expect(Object.keys(bodyOf(file).bindings)).toEqual(['mine']);
  });
});

describe('results written before the verifier read every claim it reads now', () => {
  const subject = { name: 'a', version: '1.0.0', sha512Hex: 'ab'.repeat(64) };

  it('miss in the record store: the result format is part of both keys', () => {
    // Only the format line differs from what an older plugin hashed.
    const older = createHash('sha256').update(`${subject.name}@${subject.version}\n${subject.sha512Hex}\ntrust`).digest('hex');
    expect(VerificationCache.contentKey(subject, 'trust')).not.toBe(older);
    expect(VerificationCache.contentKey(subject, 'trust')).toBe(createHash('sha256').update(`${RESULT_FORMAT}\n${subject.name}@${subject.version}\n${subject.sha512Hex}\ntrust`).digest('hex'));
  });

  it('are dropped from the archive index (the rest of the entry stays); what this plugin writes reads back', async () => {
    const entry = (verified?: ArchiveEntry['verified']): ArchiveEntry => ({
      zipPath: '/cache/a.zip',
      zipSha512: 'cd'.repeat(64),
      tgzSha512: subject.sha512Hex,
      name: subject.name,
      version: subject.version,
      manifest: { raw: {}, bindingGyp: false },
      verified,
    });
    const result = { subject, provenanceCount: 0 } as PackageVerification;
    const indexFolder = join(folder, 'projects');
    const older = new ArchiveIndex(indexFolder, '/project');
    await older.load();
    // What an older plugin wrote: a verified result without the format stamp.
    await writeRecord((older as unknown as { file: string }).file, { locator: entry({ trustDigest: 'trust', result }) });
    const reading = new ArchiveIndex(indexFolder, '/project');
    await reading.load();
    expect(reading.byZipSha('cd'.repeat(64))?.tgzSha512).toBe(subject.sha512Hex);
    expect(reading.byZipSha('cd'.repeat(64))?.verified).toBeUndefined();

    await reading.save(new Map([['locator', entry({ trustDigest: 'trust', result })]]));
    const fresh = new ArchiveIndex(indexFolder, '/project');
    await fresh.load();
    expect(fresh.byZipSha('cd'.repeat(64))?.verified).toMatchObject({ trustDigest: 'trust', format: RESULT_FORMAT });
  });
});
