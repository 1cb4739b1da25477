/**
 * The install store's files: records.json (one HMAC'd file, merged on write,
 * entries that age out dropped, a file not made with this user's key ignored
 * whole) and the project's archive index. XDG_CONFIG_HOME points the record
 * key into a temporary folder.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRecord } from '../../src/install/record-files';
import { InstallStore, RESULT_FORMAT, verificationKey, type ArchiveEntry, type BindingRecord } from '../../src/install/store';
import type { PackageVerification } from '../../src/verify/types';
import { temporaryRecordKey } from '../../testkit/pipeline';

const scratch = temporaryRecordKey({ beforeAll, afterAll }, 'sigstore-records-');

const bodyOf = (file: string) => JSON.parse(JSON.parse(readFileSync(file, 'utf8')).body);

/** A store whose records.json is `name` in the temporary folder (each test its own project path, so its own archive index). */
const storeAt = (name: string, indexResults = true) => new InstallStore({ records: join(scratch.folder(), name), projects: join(scratch.folder(), 'projects'), projectPath: `/project/${name}` }, indexResults);
const binding = (n: number): BindingRecord => ({ zipSha512: n.toString(16).padStart(2, '0').repeat(64), tgzSha512: 'ef'.repeat(64), name: 'a', version: `1.0.${n}` });

describe('InstallStore records', () => {
  it('keeps what two installs wrote one after the other; verified results read back with Date times', async () => {
    const first = storeAt('merge.json');
    const second = storeAt('merge.json');
    expect(await second.lookup('binding', { zipSha512: binding(2).zipSha512 })).toBeUndefined();
    first.remember('binding', { zipSha512: binding(1).zipSha512 }, binding(1));
    await first.flush();
    second.remember('binding', { zipSha512: binding(2).zipSha512 }, binding(2));
    const subject = { name: 'a', version: '1.0.0', sha512Hex: 'ab'.repeat(64) };
    const verification = { subject, provenanceCount: 0, publish: { kind: 'publish', keyId: 'k', verifiedTime: new Date('2025-01-02T03:04:05Z') } } as unknown as PackageVerification;
    second.remember('verified', { subject, trustDigest: 'trust', document: { d: 1 } }, verification);
    await second.flush();
    const third = storeAt('merge.json');
    expect(await third.lookup('binding', { zipSha512: binding(1).zipSha512 })).toEqual(binding(1));
    expect(await third.lookup('binding', { zipSha512: binding(2).zipSha512 })).toEqual(binding(2));
    const read = await third.lookup('verified', { subject, trustDigest: 'trust', document: { d: 1 } });
    expect(read?.publish?.verifiedTime).toEqual(new Date('2025-01-02T03:04:05Z'));
    // Another document, another trust material or only the content: other keys, so misses.
    expect(await third.lookup('verified', { subject, trustDigest: 'trust', document: { d: 2 } })).toBeUndefined();
    expect(await third.lookup('verified', { subject, trustDigest: 'other', document: { d: 1 } })).toBeUndefined();
    expect(await third.lookup('verified', { subject, trustDigest: 'trust' })).toBeUndefined();
  });

  it('drops entries unused for 90 days when it writes, and writes nothing when nothing changed', async () => {
    const file = join(scratch.folder(), 'retention.json');
    const store = storeAt('retention.json');
    store.remember('binding', { zipSha512: binding(1).zipSha512 }, binding(1));
    store.remember('binding', { zipSha512: binding(2).zipSha512 }, binding(2));
    await store.flush();
    // Age one entry through a store written with this user's key (what an install 91 days later finds).
    const aged = storeAt('retention.json');
    const body = bodyOf(file);
    const old = binding(1).zipSha512;
    (aged as unknown as { touched: typeof body }).touched.bindings = { [old]: { ...body.bindings[old], usedAt: Date.now() - 91 * 86_400_000 } };
    await aged.flush();
    expect(Object.keys(bodyOf(file).bindings)).toEqual([binding(2).zipSha512]);

    const before = readFileSync(file, 'utf8');
    const reader = storeAt('retention.json');
    expect(await reader.lookup('binding', { zipSha512: binding(2).zipSha512 })).toEqual(binding(2));
    await reader.flush();
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('ignores a file whose MAC is not this user\'s, and replaces it with its own entries', async () => {
    const file = join(scratch.folder(), 'foreign.json');
    const store = storeAt('foreign.json');
    store.remember('binding', { zipSha512: binding(1).zipSha512 }, binding(1));
    await store.flush();
    const genuine = JSON.parse(readFileSync(file, 'utf8'));
    const forgedBody = JSON.stringify({ bindings: { [binding(3).zipSha512]: { value: binding(3), usedAt: Date.now() } }, verified: {} });
    writeFileSync(file, JSON.stringify({ mac: genuine.mac, body: forgedBody }));
    const reader = storeAt('foreign.json');
    expect(await reader.lookup('binding', { zipSha512: binding(3).zipSha512 })).toBeUndefined();
    expect(await reader.lookup('binding', { zipSha512: binding(1).zipSha512 })).toBeUndefined();
    reader.remember('binding', { zipSha512: binding(2).zipSha512 }, binding(2));
    await reader.flush();
    expect(Object.keys(bodyOf(file).bindings)).toEqual([binding(2).zipSha512]);
  });

  it('answers a kind only with a value that passes its check: a record filed under another key or kind misses', async () => {
    const store = storeAt('kinds.json');
    const subject = { name: 'a', version: '1.0.0', sha512Hex: 'ab'.repeat(64) };
    // A binding filed under another zip's key, a patch binding under a plain binding's: the MAC is genuine, the content does not answer the query.
    store.remember('binding', { zipSha512: binding(1).zipSha512 }, binding(2));
    store.remember('binding', { zipSha512: binding(4).zipSha512 }, { ...binding(4), tgzSha512: 'not a digest' });
    store.remember('patch', { patchedZipSha512: binding(5).zipSha512 }, { patchedZipSha512: binding(5).zipSha512, baseZipSha512: binding(1).zipSha512, patchDigest: 'p', name: 'a' });
    store.remember('unsigned', { subject, sources: 'r\n' }, { ...subject, sources: 'other\n', checkedAt: 1 });
    await store.flush();
    const reader = storeAt('kinds.json');
    expect(await reader.lookup('binding', { zipSha512: binding(1).zipSha512 })).toBeUndefined();
    expect(await reader.lookup('binding', { zipSha512: binding(4).zipSha512 })).toBeUndefined();
    expect(await reader.lookup('binding', { zipSha512: binding(5).zipSha512 })).toBeUndefined();
    expect(await reader.lookup('fileTarball', { zipSha512: binding(5).zipSha512 })).toBeUndefined();
    expect(await reader.lookup('patch', { patchedZipSha512: binding(5).zipSha512 })).toMatchObject({ patchDigest: 'p' });
    expect(await reader.lookup('unsigned', { subject, sources: 'r\n' })).toBeUndefined();
  });
});

describe('results written before the verifier read every claim it reads now', () => {
  const subject = { name: 'a', version: '1.0.0', sha512Hex: 'ab'.repeat(64) };

  it('miss in the record store: the result format is part of both keys', () => {
    // Only the format line differs from what an older plugin hashed.
    const older = createHash('sha256').update(`${subject.name}@${subject.version}\n${subject.sha512Hex}\ntrust`).digest('hex');
    expect(verificationKey(subject, 'trust')).not.toBe(older);
    expect(verificationKey(subject, 'trust')).toBe(createHash('sha256').update(`${RESULT_FORMAT}\n${subject.name}@${subject.version}\n${subject.sha512Hex}\ntrust`).digest('hex'));
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
    const older = storeAt('index.json');
    // What an older plugin wrote: a verified result without the format stamp.
    await writeRecord((older as unknown as { indexFile: string }).indexFile, { locator: entry({ trustDigest: 'trust', result }) });
    const reading = storeAt('index.json');
    const bound = (store: InstallStore) => store.lookup('binding', { zipSha512: 'cd'.repeat(64) }) as Promise<ArchiveEntry | undefined>;
    expect((await bound(reading))?.tgzSha512).toBe(subject.sha512Hex);
    expect((await bound(reading))?.verified).toBeUndefined();
    expect(await reading.lookup('verified', { subject, trustDigest: 'trust' })).toBeUndefined();

    await reading.saveArchives(new Map([['locator', entry({ trustDigest: 'trust', result })]]));
    const fresh = storeAt('index.json');
    expect((await bound(fresh))?.verified).toMatchObject({ trustDigest: 'trust', format: RESULT_FORMAT });
    expect(await fresh.lookup('archive', { locatorHash: 'locator', zipPath: '/cache/a.zip' })).toMatchObject({ zipSha512: 'cd'.repeat(64) });
    expect(await fresh.lookup('archive', { locatorHash: 'locator', zipPath: '/elsewhere/a.zip' })).toBeUndefined();
    // The index's result answers a content-keyed lookup, unless the install rechecks (then only records.json does).
    expect(await fresh.lookup('verified', { subject, trustDigest: 'trust' })).toMatchObject({ subject });
    expect(await fresh.lookup('verified', { subject, trustDigest: 'other' })).toBeUndefined();
    expect(await storeAt('index.json', false).lookup('verified', { subject, trustDigest: 'trust' })).toBeUndefined();
  });
});

describe('the archive index', () => {
  const subject = { name: 'b', version: '2.0.0', sha512Hex: 'ab'.repeat(64) };
  const archive = (unsigned?: ArchiveEntry['unsigned']): ArchiveEntry => ({
    zipPath: '/cache/b.zip',
    zipSha512: 'cd'.repeat(64),
    tgzSha512: subject.sha512Hex,
    name: subject.name,
    version: subject.version,
    manifest: { raw: {}, bindingGyp: false },
    unsigned,
  });

  it('answers an "unsigned" lookup itself (a warm install reads no records.json), only for the same bytes and sources', async () => {
    const answer = { ...subject, sources: 'r\n', checkedAt: 1_000 };
    await storeAt('unsigned-index.json').saveArchives(new Map([['locator', archive(answer)]]));
    // No records.json was ever written: the answer comes from the index.
    const reader = storeAt('unsigned-index.json');
    expect(await reader.lookup('unsigned', { subject, sources: 'r\n' })).toEqual(answer);
    expect(await reader.lookup('unsigned', { subject, sources: 'other\n' })).toBeUndefined();
    expect(await reader.lookup('unsigned', { subject: { ...subject, sha512Hex: 'ef'.repeat(64) }, sources: 'r\n' })).toBeUndefined();
    expect(await reader.lookup('unsigned', { subject: { ...subject, version: '2.0.1' }, sources: 'r\n' })).toBeUndefined();
    // An answer filed with another tarball's entry does not answer for this one.
    await storeAt('unsigned-forged.json').saveArchives(new Map([['locator', { ...archive({ ...answer, sha512Hex: 'ef'.repeat(64) }) }]]));
    expect(await storeAt('unsigned-forged.json').lookup('unsigned', { subject, sources: 'r\n' })).toBeUndefined();
  });

  it('is not written again by an install that learnt nothing: the loaded entries saved as they are', async () => {
    const answer = { ...subject, sources: 'r\n', checkedAt: 1_000 };
    await storeAt('unchanged-index.json').saveArchives(new Map([['locator', archive(answer)]]));
    const file = (storeAt('unchanged-index.json') as unknown as { indexFile: string }).indexFile;
    const reader = storeAt('unchanged-index.json');
    const loaded = (await reader.lookup('archive', { locatorHash: 'locator', zipPath: '/cache/b.zip' }))!;
    const used = await reader.lookup('unsigned', { subject, sources: 'r\n' });
    const { mtimeMs } = statSync(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await reader.saveArchives(new Map([['locator', { ...loaded, unsigned: used }]]));
    expect(statSync(file).mtimeMs).toBe(mtimeMs);
    // Another answer (asked again after its max age) is written.
    await reader.saveArchives(new Map([['locator', { ...loaded, unsigned: { ...answer, checkedAt: 2_000 } }]]));
    expect(bodyOf(file).locator.unsigned.checkedAt).toBe(2_000);
  });
});
