/**
 * The user's store of what this plugin hashed and verified itself: ONE
 * lookup/remember interface over content-keyed, HMAC'd records (record-files.ts
 * says why a MAC, and why the key lives outside Yarn's global folder). Every
 * kind of record keeps the validity check it is looked up with, so a poisoned
 * or older-format value is a miss, never an error:
 * - `binding`: zip sha512 -> the tarball sha512 it was made from;
 * - `verified`: a verified result, keyed by the tarball's name, version and
 *   sha512 and the trust material (`verificationKey`; with the attestation
 *   document served now when rechecking). The policy is never cached;
 * - `unsigned`: the sources' "no attestations" answer for these bytes and
 *   sources, with when it was given (`sigstoreUnsignedMaxAgeDays`);
 * - `patch`, `fileTarball`: zips Yarn derives (src/yarn/patch-binding.ts,
 *   src/yarn/file-tarball-binding.ts), each under its own key prefix so that no
 *   other binding answers for them;
 * - `archive`: the project's archive index (one file per project), which lets
 *   a warm install skip the zip hash, the record reads and the package.json
 *   read: the zip's file identity (dev, inode, size, mtime, ctime in ns; see
 *   bind.ts for when one is recorded) -> its sha512, the binding, the
 *   manifest facts and the result under one trust material or the
 *   "unsigned" answer, so that a warm install reads nothing else.
 *
 * Files: `<globalFolder>/sigstore/records.json` (read once when first needed,
 * written once when the fetch step ends, merged with what another install
 * wrote meanwhile; entries unused for RETENTION_DAYS dropped) and
 * `<globalFolder>/sigstore/projects/<sha256 of the project path>.json`
 * (replaced after a completed fetch step, unless unchanged).
 */
import { createHash } from 'crypto';
import { join } from 'path';
import { isManifestFacts, type ManifestFacts } from '../manifest/compare';
import type { PackageSubject, PackageVerification } from '../verify/types';
import { readRecord, writeRecord } from './record-files';

export const isSha512Hex = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{128}$/.test(value);

/**
 * What a result records, part of every key: a result made before the verifier
 * read a claim lacks it, and a policy naming that claim would wrongly refuse
 * it, so a new claim (.23, the deployment environment) makes old results miss.
 */
export const RESULT_FORMAT = 'claims-1..23';

export interface BindingRecord {
  zipSha512: string;
  tgzSha512: string;
  name: string;
  version: string;
}

export interface UnsignedAnswer extends PackageSubject {
  /** The network sources that answered (see `sourcesOf`). */
  sources: string;
  /** Epoch ms when they last answered "no attestations". */
  checkedAt: number;
}

export interface PatchBindingRecord {
  patchedZipSha512: string;
  baseZipSha512: string;
  /** sha256 of the patch content as the derivation reads it. */
  patchDigest: string;
  name: string;
}

export interface FileTarballRecord {
  zipSha512: string;
  tgzSha512: string;
  name: string;
}

export interface ArchiveEntry extends BindingRecord {
  zipPath: string;
  /** `dev:ino:size:mtimeNs:ctimeNs`; absent when the zip was too fresh to vouch for by its identity. */
  identity?: string;
  manifest: ManifestFacts;
  /** `format`: the RESULT_FORMAT it was written in (stamped on save; another one is dropped on load). */
  verified?: { trustDigest: string; result: PackageVerification; format?: string };
  /** The sources' "no attestations" answer for its tarball (checked as records.json's are when looked up). */
  unsigned?: UnsignedAnswer;
  /** The digest of the package Yarn resolved that matched `manifest` in full (src/yarn/manifest-check.ts `resolvedDigest`). */
  resolved?: string;
}

/** What each kind is looked up by, and what it answers. */
interface Kinds {
  binding: { query: { zipSha512: string }; value: BindingRecord };
  /** `document`: the attestation document served now, its bytes (rechecking); absent: content only. */
  verified: { query: { subject: PackageSubject; trustDigest: string; document?: unknown }; value: PackageVerification };
  unsigned: { query: { subject: PackageSubject; sources: string }; value: UnsignedAnswer };
  patch: { query: { patchedZipSha512: string }; value: PatchBindingRecord };
  fileTarball: { query: { zipSha512: string }; value: FileTarballRecord };
  archive: { query: { locatorHash: string; zipPath: string }; value: ArchiveEntry };
}
export type RecordKind = keyof Kinds;
export type Query<K extends RecordKind> = Kinds[K]['query'];
export type Value<K extends RecordKind> = Kinds[K]['value'];

/** The three sections of records.json (patch and file-tarball bindings are bindings under a key prefix). */
const SECTIONS = ['bindings', 'verified', 'unsigned'] as const;
type Section = (typeof SECTIONS)[number];

/** Where a kind is kept in records.json, under which key, and when a stored value answers the query. */
interface RecordRule<K extends RecordKind> {
  section: Section;
  key(query: Query<K>): string;
  valid(value: Value<K>, query: Query<K>): boolean;
}

/** Whether two subjects name exactly the same bytes of the same package. */
export function isSameSubject(about: PackageSubject | undefined, subject: PackageSubject): boolean {
  return about?.name === subject.name && about.version === subject.version && about.sha512Hex === subject.sha512Hex;
}

/** Whether a result is about exactly these bytes of this package (its key already says so: checking again is free). */
export function isResultFor(result: PackageVerification | undefined, subject: PackageSubject): result is PackageVerification {
  return isSameSubject(result?.subject, subject);
}

/** The key of a verified result: content only, or with the document served now, its bytes as served (a changed document is verified again). */
export function verificationKey(subject: PackageSubject, trustDigest: string, document?: unknown): string {
  const head = `${RESULT_FORMAT}\n${subject.name}@${subject.version}\n${subject.sha512Hex}\n`;
  if (document === undefined) return createHash('sha256').update(`${head}${trustDigest}`).digest('hex');
  const documentDigest = createHash('sha256').update(document instanceof Uint8Array ? document : JSON.stringify(document)).digest('hex');
  return createHash('sha256').update(`${head}${documentDigest}\n${trustDigest}`).digest('hex');
}

/** What the network sources of one package are: its registry, and the attestation registry of its scope if any. */
export function sourcesOf(registry: string, attestationRegistry: string | undefined): string {
  return `${registry}\n${attestationRegistry ?? ''}`;
}

export function unsignedKey(subject: PackageSubject, sources: string): string {
  return createHash('sha256').update(`unsigned\n${subject.name}@${subject.version}\n${subject.sha512Hex}\n${sources}`).digest('hex');
}

/**
 * A result read back from JSON, its verified times made Dates again (in place).
 * Done per result rather than with a JSON.parse reviver, which triples the
 * parse time of a large index or store.
 */
export function reviveVerification<T extends PackageVerification | undefined>(result: T): T {
  for (const attestation of [result?.provenance, result?.publish]) {
    if (attestation && typeof attestation.verifiedTime === 'string') attestation.verifiedTime = new Date(attestation.verifiedTime);
  }
  return result;
}

const RULES: { [K in Exclude<RecordKind, 'archive'>]: RecordRule<K> } = {
  binding: {
    section: 'bindings',
    key: ({ zipSha512 }) => zipSha512,
    valid: (record, { zipSha512 }) => record?.zipSha512 === zipSha512 && isSha512Hex(record.tgzSha512),
  },
  verified: {
    section: 'verified',
    key: ({ subject, trustDigest, document }) => verificationKey(subject, trustDigest, document),
    valid: (result, { subject }) => isResultFor(reviveVerification(result), subject),
  },
  unsigned: {
    section: 'unsigned',
    key: ({ subject, sources }) => unsignedKey(subject, sources),
    valid: (answer, { subject, sources }) =>
      typeof answer === 'object' &&
      answer !== null &&
      answer.name === subject.name &&
      answer.version === subject.version &&
      answer.sha512Hex === subject.sha512Hex &&
      answer.sources === sources &&
      typeof answer.checkedAt === 'number',
  },
  patch: {
    section: 'bindings',
    key: ({ patchedZipSha512 }) => `patch:${patchedZipSha512}`,
    valid: (record, { patchedZipSha512 }) => record?.patchedZipSha512 === patchedZipSha512 && isSha512Hex(record.baseZipSha512) && typeof record.patchDigest === 'string',
  },
  fileTarball: {
    section: 'bindings',
    key: ({ zipSha512 }) => `file:${zipSha512}`,
    valid: (record, { zipSha512 }) => record?.zipSha512 === zipSha512 && isSha512Hex(record.tgzSha512) && typeof record.name === 'string',
  },
};

interface Stored {
  value: unknown;
  /** Epoch ms of the last install that wrote or read it. */
  usedAt: number;
}

type StoreBody = Record<Section, Record<string, Stored>>;

const RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

const emptyBody = (): StoreBody => ({ bindings: {}, verified: {}, unsigned: {} });

async function readBody(file: string): Promise<StoreBody> {
  const read = await readRecord<Partial<StoreBody>>(file);
  const body = emptyBody();
  if (!read || typeof read !== 'object') return body;
  for (const section of SECTIONS) if (read[section] && typeof read[section] === 'object') body[section] = read[section];
  return body;
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

export interface StoreFiles {
  /** records.json */
  records: string;
  /** The folder of the projects' archive indexes, and this project's path (its name there). */
  projects: string;
  projectPath: string;
}

/** The store as the pipeline uses it: one lookup/remember interface (test/install/ gives the pipeline a fake). */
export interface Store {
  lookup<K extends RecordKind>(kind: K, query: Query<K>): Promise<Value<K> | undefined>;
  remember<K extends Exclude<RecordKind, 'archive'>>(kind: K, query: Query<K>, value: Value<K>): void;
  flush(): Promise<void>;
  saveArchives(entries: Map<string, ArchiveEntry>): Promise<void>;
  /** The zip digest the archive index last recorded for this package, whatever its file now: a hint, never a binding. */
  recordedZip(locatorHash: string): Promise<string | undefined>;
}

export class InstallStore implements Store {
  private body?: Promise<StoreBody>;
  /** Entries this process wrote or used, to merge into the file. */
  private readonly touched: StoreBody = emptyBody();
  private readonly indexFile: string;
  private index?: Promise<void>;
  private readonly archives = new Map<string, ArchiveEntry>();
  private readonly archivesByZip = new Map<string, ArchiveEntry>();
  /** The index's entries by the tarball they were made from: a content-keyed lookup reads only these. */
  private readonly archivesByTarball = new Map<string, ArchiveEntry[]>();
  /** Content-keyed results read in this install (once each), the archive index's among them. */
  private readonly contentResults = new Map<string, Promise<PackageVerification | undefined>>();

  constructor(
    private readonly files: StoreFiles,
    /** Whether the archive index's results answer content-keyed lookups (`sigstoreRecheckAttestations` off). */
    private readonly indexResults = true,
  ) {
    this.indexFile = join(files.projects, `${createHash('sha256').update(files.projectPath).digest('hex')}.json`);
  }

  /**
   * The record of this kind that answers the query, or undefined. A binding
   * and an "unsigned" answer are answered by the archive index first; a
   * content-keyed result by the index's results under this trust material,
   * else by records.json (read once per install, and not at all by a warm
   * install the index answers).
   */
  async lookup<K extends RecordKind>(kind: K, query: Query<K>): Promise<Value<K> | undefined> {
    if (kind === 'archive') {
      await this.loadIndex();
      const { locatorHash, zipPath } = query as Query<'archive'>;
      const entry = this.archives.get(locatorHash);
      return (entry?.zipPath === zipPath ? entry : undefined) as Value<K> | undefined;
    }
    if (kind === 'binding') {
      await this.loadIndex();
      const indexed = this.archivesByZip.get((query as Query<'binding'>).zipSha512);
      if (indexed) return indexed as Value<K>;
    }
    if (kind === 'unsigned') {
      const indexed = await this.indexedUnsigned(query as Query<'unsigned'>);
      if (indexed) return indexed as Value<K>;
    }
    if (kind === 'verified' && (query as Query<'verified'>).document === undefined) {
      const { subject, trustDigest } = query as Query<'verified'>;
      // An in-memory key: the digest (verificationKey) is only for records.json.
      const key = `${subject.name}@${subject.version}\n${subject.sha512Hex}\n${trustDigest}`;
      let cached = this.contentResults.get(key);
      if (!cached) this.contentResults.set(key, (cached = this.indexedResult(subject, trustDigest).then((indexed) => indexed ?? this.read('verified', query as Query<'verified'>))));
      return (await cached) as Value<K> | undefined;
    }
    return this.read(kind as Exclude<K, 'archive'>, query as Query<Exclude<K, 'archive'>>) as Promise<Value<K> | undefined>;
  }

  /** Remembers a record (written when the fetch step ends). Archive entries are saved whole with `saveArchives`. */
  remember<K extends Exclude<RecordKind, 'archive'>>(kind: K, query: Query<K>, value: Value<K>): void {
    const rule = RULES[kind] as unknown as RecordRule<K>;
    const stored = { value, usedAt: Date.now() };
    const key = rule.key(query);
    this.touched[rule.section][key] = stored;
    if (this.body) void this.body.then((body) => (body[rule.section][key] = stored));
  }

  private async read<K extends Exclude<RecordKind, 'archive'>>(kind: K, query: Query<K>): Promise<Value<K> | undefined> {
    const rule = RULES[kind] as unknown as RecordRule<K>;
    const key = rule.key(query);
    const stored = (await (this.body ??= readBody(this.files.records)))[rule.section][key];
    if (stored === undefined || typeof stored !== 'object') return undefined;
    // Touched only when it would otherwise age out soon: a warm install should not rewrite the file.
    if (Date.now() - stored.usedAt > DAY_MS) this.touched[rule.section][key] = { value: stored.value, usedAt: Date.now() };
    const value = stored.value as Value<K>;
    return rule.valid(value, query) ? value : undefined;
  }

  private async indexedResult(subject: PackageSubject, trustDigest: string): Promise<PackageVerification | undefined> {
    if (!this.indexResults) return undefined;
    await this.loadIndex();
    for (const entry of this.archivesByTarball.get(subject.sha512Hex) ?? []) {
      if (entry.verified?.trustDigest === trustDigest && isResultFor(entry.verified.result, subject)) return entry.verified.result;
    }
    return undefined;
  }

  private async indexedUnsigned(query: Query<'unsigned'>): Promise<UnsignedAnswer | undefined> {
    await this.loadIndex();
    for (const entry of this.archivesByTarball.get(query.subject.sha512Hex) ?? []) {
      if (entry.unsigned !== undefined && RULES.unsigned.valid(entry.unsigned, query)) return entry.unsigned;
    }
    return undefined;
  }

  async recordedZip(locatorHash: string): Promise<string | undefined> {
    await this.loadIndex();
    return this.archives.get(locatorHash)?.zipSha512;
  }

  /** Reads the project's archive index once; a missing, unreadable or foreign (MAC) file is an empty index. */
  private loadIndex(): Promise<void> {
    return (this.index ??= readRecord<Record<string, ArchiveEntry>>(this.indexFile).then((read) => {
      if (!read || typeof read !== 'object') return;
      for (const [locatorHash, entry] of Object.entries(read)) {
        if (!wellFormed(entry)) continue;
        if (entry.verified?.format !== RESULT_FORMAT) delete entry.verified;
        reviveVerification(entry.verified?.result);
        this.archives.set(locatorHash, entry);
        this.archivesByZip.set(entry.zipSha512, entry);
        const sameTarball = this.archivesByTarball.get(entry.tgzSha512);
        if (sameTarball) sameTarball.push(entry);
        else this.archivesByTarball.set(entry.tgzSha512, [entry]);
      }
    }));
  }

  /** Writes what this install added or used, merged into records.json as it is now; best effort. */
  async flush(): Promise<void> {
    if (SECTIONS.every((section) => Object.keys(this.touched[section]).length === 0)) return;
    const current = await readBody(this.files.records);
    const oldest = Date.now() - RETENTION_DAYS * DAY_MS;
    const merged = emptyBody();
    for (const section of SECTIONS) {
      for (const [key, stored] of Object.entries({ ...current[section], ...this.touched[section] })) if (stored?.usedAt >= oldest) merged[section][key] = stored;
      this.touched[section] = {};
    }
    await writeRecord(this.files.records, merged);
  }

  /** Replaces the project's archive index with this install's entries (packages no longer installed drop out); an unchanged index is not rewritten. */
  async saveArchives(entries: Map<string, ArchiveEntry>): Promise<void> {
    await this.loadIndex();
    if (this.holds(entries)) return;
    const stamped = [...entries].map(([locatorHash, entry]): [string, ArchiveEntry] => [locatorHash, entry.verified ? { ...entry, verified: { ...entry.verified, format: RESULT_FORMAT } } : entry]);
    await writeRecord(this.indexFile, Object.fromEntries(stamped.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  /** Whether these entries are the loaded ones (a warm install reuses the loaded objects themselves). */
  private holds(entries: Map<string, ArchiveEntry>): boolean {
    if (entries.size !== this.archives.size) return false;
    for (const [locatorHash, entry] of entries) {
      const loaded = this.archives.get(locatorHash);
      const same =
        loaded !== undefined &&
        loaded.zipPath === entry.zipPath &&
        loaded.identity === entry.identity &&
        loaded.zipSha512 === entry.zipSha512 &&
        loaded.tgzSha512 === entry.tgzSha512 &&
        loaded.manifest === entry.manifest &&
        loaded.verified?.trustDigest === entry.verified?.trustDigest &&
        loaded.verified?.result === entry.verified?.result &&
        loaded.unsigned === entry.unsigned &&
        loaded.resolved === entry.resolved;
      if (!same) return false;
    }
    return true;
  }
}
