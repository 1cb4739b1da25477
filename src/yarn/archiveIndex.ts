/**
 * The project's archive index: one HMAC'd file per project in the user's
 * global folder (`sigstore/projects/<sha256 of the project path>.json`) that
 * lets a warm install skip, per package, the zip hash, the two record reads
 * and the read of the zip's package.json. Each entry was made by this plugin
 * in an earlier install from what it hashed and verified itself:
 * - the zip's file identity (device, inode, size, mtime, ctime, in ns) -> the
 *   zip's sha512. A zip that was rewritten, replaced or restored from a cache
 *   has another inode or ctime (ctime cannot be set from user space), so it
 *   misses and is hashed again. As in git's index, an identity is recorded
 *   only for a zip whose ctime is at least RACY_NS older than its hash (a
 *   change within one timestamp tick of the hash would go unseen) and that
 *   did not change while it was hashed;
 * - zip sha512 -> tarball sha512 (the binding record's content);
 * - the facts of the verified package.json the manifest check compares with
 *   (content of the zip, so keyed by its sha512);
 * - the verified result for the tarball under one trust material (content
 *   keyed, as `VerificationCache.contentKey`), used only with
 *   `sigstoreRecheckAttestations: false`.
 * The policy and pins are never cached: every install judges afresh.
 */
import { createHash } from 'crypto';
import { statSync, type BigIntStats } from 'fs';
import { join } from 'path';
import type { PackageVerification } from '../verify/types';
import { isSha512Hex, sha512File, type BindingRecord } from './bindings';
import { isManifestFacts, type ManifestFacts } from './manifestCheck';
import { readRecord, writeRecord } from './recordFiles';
import { RESULT_FORMAT, reviveVerification } from './verificationCache';

/** Two seconds: coarser than any timestamp granularity a cache folder is likely to sit on. */
const RACY_NS = 2_000_000_000n;

export interface ArchiveEntry extends BindingRecord {
  zipPath: string;
  /** `dev:ino:size:mtimeNs:ctimeNs`; absent when the zip was too fresh to vouch for by its identity. */
  identity?: string;
  manifest: ManifestFacts;
  /** `format`: the RESULT_FORMAT it was written in (stamped by `save`; another one is dropped on load). */
  verified?: { trustDigest: string; result: PackageVerification; format?: string };
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


/** The MAC says this user's plugin wrote it; the shape check keeps an older format from being misread. */
function wellFormed(entry: ArchiveEntry): boolean {
  return (
    typeof entry?.zipPath === 'string' &&
    isSha512Hex(entry.zipSha512) &&
    isSha512Hex(entry.tgzSha512) &&
    typeof entry.name === 'string' &&
    typeof entry.version === 'string' &&
    isManifestFacts(entry.manifest)
  );
}

export class ArchiveIndex {
  private readonly byLocator = new Map<string, ArchiveEntry>();
  private readonly zipShas = new Map<string, ArchiveEntry>();
  private loaded?: Promise<void>;
  private readonly file: string;

  constructor(folder: string, projectPath: string) {
    this.file = join(folder, `${createHash('sha256').update(projectPath).digest('hex')}.json`);
  }

  /** Reads the index once; a missing, unreadable or foreign (MAC) file is an empty index. */
  load(): Promise<void> {
    return (this.loaded ??= readRecord<Record<string, ArchiveEntry>>(this.file).then((read) => {
      if (!read || typeof read !== 'object') return;
      for (const [locatorHash, entry] of Object.entries(read)) {
        if (!wellFormed(entry)) continue;
        if (entry.verified?.format !== RESULT_FORMAT) delete entry.verified;
        reviveVerification(entry.verified?.result);
        this.byLocator.set(locatorHash, entry);
        this.zipShas.set(entry.zipSha512, entry);
      }
    }));
  }

  entries(): IterableIterator<ArchiveEntry> {
    return this.byLocator.values();
  }

  /** The entry of this locator, if its archive is the one at `zipPath`. */
  entry(locatorHash: string, zipPath: string): ArchiveEntry | undefined {
    const entry = this.byLocator.get(locatorHash);
    return entry?.zipPath === zipPath ? entry : undefined;
  }

  /** The entry of the archive with this sha512 (the lockfile's checksum names it). */
  byZipSha(zipSha512: string): ArchiveEntry | undefined {
    return this.zipShas.get(zipSha512);
  }

  /** Replaces the index with this install's entries (packages no longer installed drop out); an unchanged index is not rewritten. */
  async save(entries: Map<string, ArchiveEntry>): Promise<void> {
    if (this.holds(entries)) return;
    const stamped = [...entries].map(([locatorHash, entry]): [string, ArchiveEntry] => [locatorHash, entry.verified ? { ...entry, verified: { ...entry.verified, format: RESULT_FORMAT } } : entry]);
    await writeRecord(this.file, Object.fromEntries(stamped.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  /** Whether these entries are the loaded ones (a warm install reuses the loaded objects themselves). */
  private holds(entries: Map<string, ArchiveEntry>): boolean {
    if (entries.size !== this.byLocator.size) return false;
    for (const [locatorHash, entry] of entries) {
      const loaded = this.byLocator.get(locatorHash);
      const same =
        loaded !== undefined &&
        loaded.zipPath === entry.zipPath &&
        loaded.identity === entry.identity &&
        loaded.zipSha512 === entry.zipSha512 &&
        loaded.tgzSha512 === entry.tgzSha512 &&
        loaded.manifest === entry.manifest &&
        loaded.verified?.trustDigest === entry.verified?.trustDigest &&
        loaded.verified?.result === entry.verified?.result;
      if (!same) return false;
    }
    return true;
  }
}
