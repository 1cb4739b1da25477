/**
 * Binding a verified result to the exact bytes it is about: a tarball's
 * sha512 is the verification subject, and the zip Yarn keeps is bound to
 * that tarball by a record this plugin wrote after hashing and verifying the
 * tarball itself (the store), never by what a cache or lockfile says.
 *
 * A zip's sha512 may be taken from the archive index instead of hashing it
 * when its file identity (device, inode, size, mtime, ctime, in ns) is the
 * recorded one: a zip that was rewritten, replaced or restored from a cache
 * has another inode or ctime (ctime cannot be set from user space). As in
 * git's index, an identity is recorded only for a zip whose ctime is at
 * least RACY_NS older than its hash (a change within one timestamp tick of
 * the hash would go unseen) and that did not change while it was hashed.
 */
import { createHash, webcrypto } from 'crypto';
import { statSync, type BigIntStats } from 'fs';
import { open } from 'fs/promises';
import type { PackageSubject, PackageVerification } from '../verify/types';
import { isResultFor, isSameSubject, type ArchiveEntry, type BindingRecord, type Store, type UnsignedAnswer } from './store';

/** Two seconds: coarser than any timestamp granularity a cache folder is likely to sit on. */
const RACY_NS = 2_000_000_000n;

export function sha512Hex(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

/**
 * The same digest as a WebCrypto job on libuv's thread pool, for whole files
 * (sha512File). The job's setup still runs on the main thread: for a
 * downloaded tarball it cost that thread more than createHash (profiled), so
 * the gate hashes tarballs with sha512Hex; whole files were not measured.
 */
export async function sha512HexOffThread(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-512', bytes)).toString('hex');
}

/** Files up to this size are read whole and hashed off the main thread; larger ones are streamed (memory). */
const WHOLE_FILE_BYTES = 32 * 1024 * 1024;

export async function sha512File(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size <= WHOLE_FILE_BYTES) return await sha512HexOffThread(await handle.readFile());
    const hash = createHash('sha512');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

export interface HashedFile {
  sha512: string;
  /** The file's identity when it was hashed (the link step's second fetch compares it). */
  observed: string;
  /** Set when the identity may stand for the content at a later install. */
  identity?: string;
}

const identityOf = (stats: BigIntStats): string => `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
// Synchronous on purpose: a few microseconds, where an async stat would queue behind the link step's file copies in libuv's pool.
const statBig = (path: string) => statSync(path, { bigint: true });

/** The file's identity now, for comparing with an index entry; undefined when there is no file. */
export function fileIdentity(path: string): string | undefined {
  const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stats && identityOf(stats);
}

/** Hashes a file and says whether its identity may be recorded (unchanged while hashed, not racy). */
export async function hashWithIdentity(path: string): Promise<HashedFile> {
  const before = statBig(path);
  const startedNs = BigInt(Date.now()) * 1_000_000n;
  const sha512 = await sha512File(path);
  const observed = identityOf(before);
  // A zip this young (every zip of a cold install) is never vouched for by identity: no second stat needed.
  if (before.ctimeNs + RACY_NS >= startedNs) return { sha512, observed };
  return observed === identityOf(statBig(path)) ? { sha512, observed, identity: observed } : { sha512, observed };
}

/**
 * A digest the package manager computed of the file itself, in this process,
 * during a call that started at `sinceNs` (its clock, in ns). The identity
 * (`current`, read after that call) may stand for the content only if the
 * file has not changed since RACY_NS before the call began: a change during
 * or after the hashing would have given it a later ctime.
 */
export interface ComputedDigest {
  sha512: string;
  sinceNs: bigint;
}

function fromComputed(computed: ComputedDigest, current: string): HashedFile {
  const ctimeNs = BigInt(current.slice(current.lastIndexOf(':') + 1));
  return ctimeNs + RACY_NS < computed.sinceNs ? { sha512: computed.sha512, observed: current, identity: current } : { sha512: computed.sha512, observed: current };
}

/**
 * The sha512 of the zip at `zipPath` for package `locatorHash`: from the
 * archive index when the file's identity (`current`, just read) is the one
 * recorded there, else the digest the package manager just computed of that
 * very file, else hashed here. `entry`: the index's entry for this very
 * archive (same path, same bytes), if any.
 */
export async function archiveDigest(store: Store, locatorHash: string, zipPath: string, current: string, computed?: ComputedDigest): Promise<HashedFile & { entry?: ArchiveEntry }> {
  const entry = await store.lookup('archive', { locatorHash, zipPath });
  if (entry?.identity !== undefined && entry.identity === current) return { sha512: entry.zipSha512, observed: current, identity: current, entry };
  const hashed = computed ? fromComputed(computed, current) : await hashWithIdentity(zipPath);
  return entry?.zipSha512 === hashed.sha512 ? { ...hashed, entry } : hashed;
}

/** The tarball a zip with this sha512 was made from, if a record (or `entry`) binds it to this very package. */
export async function boundTarball(store: Store, zipSha512: string, name: string, version: string, entry?: ArchiveEntry): Promise<string | undefined> {
  const record = entry ?? (await store.lookup('binding', { zipSha512 }));
  return record && record.zipSha512 === zipSha512 && record.name === name && record.version === version ? record.tgzSha512 : undefined;
}

/** Remembers that this zip was made from this tarball (only after the tarball was hashed and judged here). */
export function rememberBinding(store: Store, record: BindingRecord): void {
  store.remember('binding', { zipSha512: record.zipSha512 }, record);
}

/** The tarball an archive was made from, as a verification subject. */
export function archiveSubject(archive: BindingRecord): PackageSubject {
  return { name: archive.name, version: archive.version, sha512Hex: archive.tgzSha512 };
}

/** An archive as the index keeps it, with the verified result or "unsigned" answer only if it is about the very tarball the archive is bound to. */
export function archiveEntry(archive: ArchiveEntry, verification: PackageVerification | undefined, trustDigest: string, unsigned?: UnsignedAnswer): ArchiveEntry {
  const subject = archiveSubject(archive);
  if (isResultFor(verification, subject)) return { ...archive, verified: { trustDigest, result: verification } };
  return unsigned !== undefined && isSameSubject(unsigned, subject) ? { ...archive, unsigned } : archive;
}

/**
 * An early verification (started when the document arrived, for the digest
 * it claims) stands for the gate's own only for a tarball of exactly that
 * digest; for any other the gate verifies again with the real one.
 */
export function earlyFits(early: { sha512Hex: string | undefined } | undefined, sha512Hex: string): boolean {
  return early?.sha512Hex === sha512Hex;
}
