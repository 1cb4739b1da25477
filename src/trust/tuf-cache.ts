/**
 * The on-disk TUF cache: one folder per repository under the caller's cache
 * folder (Yarn's global folder), holding the TUF metadata, the verified target
 * files, and this user's vouch for them. That folder is what CI caches
 * restore, and the TUF client takes its `root.json` as the anchor of all the
 * rest: a cache is used only when a record MAC'd under this user's record key
 * (or the CI record key, src/install/record-files.ts) names the digests of
 * its root and of the targets read from it, and when the repository last
 * answered. Anything else is a cache this user did not write, removed before
 * the TUF client reads it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ErrorCodes } from '../errors';
import { readOptionalFile } from '../files';
import { canRecord, readRecord, writeRecord } from '../install/record-files';
import { join } from 'node:path';

const TARGETS_DIR = 'targets';
const VOUCH_FILE = 'vouched.json';
const UNREACHABLE_FILE = 'unreachable.json';

export interface TufCache {
  readonly metadataDir: string;
  readonly targetDir: string;
}

/** The cache folder of one repository: its host and path, so two mirrors never share state. */
export function tufCacheFor(cacheDir: string, mirrorUrl: string): TufCache {
  const url = new URL(mirrorUrl);
  const repoName = encodeURIComponent(url.host + url.pathname.replace(/\/$/, ''));
  const metadataDir = join(cacheDir, 'sigstore-tuf', repoName);
  return { metadataDir, targetDir: join(metadataDir, TARGETS_DIR) };
}

/** Creates the folders and, when there is none, the trusted TUF root every later update chains from. */
export function seedTufCache(cache: TufCache, seedRoot: () => string): void {
  mkdirSync(cache.targetDir, { recursive: true });
  const rootPath = join(cache.metadataDir, 'root.json');
  if (!existsSync(rootPath)) writeFileSync(rootPath, seedRoot());
}

/** Where the TUF client stores a target (it URL-encodes the target path). */
function cachedTargetPath(cache: TufCache, targetName: string): string {
  return join(cache.targetDir, encodeURIComponent(targetName));
}

function readCachedTarget(cache: TufCache, targetName: string): string | undefined {
  const path = cachedTargetPath(cache, targetName);
  return readOptionalFile({ path, what: 'the cached TUF target', code: ErrorCodes.TUF_METADATA_INVALID })?.toString('utf8');
}

/** What this user verified of a TUF cache: the digests of its root and targets, and when the repository last answered. */
export interface TufVouch {
  /** sha256 of `root.json`, the TUF client's anchor. */
  root: string;
  /** sha256 of each target text read from the cache, by target name. */
  targets: Record<string, string>;
  checkedAt: Date;
}

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

function readRoot(cache: TufCache): Buffer | undefined {
  try {
    return readFileSync(join(cache.metadataDir, 'root.json'));
  } catch {
    return undefined;
  }
}

/** This user's vouch for the cache, when its root is still the one vouched for; undefined for a cache this user did not write. */
export async function readTufVouch(cache: TufCache): Promise<TufVouch | undefined> {
  const record = await readRecord<{ root?: unknown; targets?: unknown; checkedAt?: unknown }>(join(cache.metadataDir, VOUCH_FILE));
  const root = readRoot(cache);
  const checkedAt = new Date(typeof record?.checkedAt === 'string' ? record.checkedAt : NaN);
  if (!record || root === undefined || record.root !== sha256(root) || Number.isNaN(checkedAt.getTime())) return undefined;
  if (typeof record.targets !== 'object' || record.targets === null || Object.values(record.targets).some((digest) => typeof digest !== 'string')) return undefined;
  return { root: record.root, targets: record.targets as Record<string, string>, checkedAt };
}

/** Whether this process can vouch for a cache at all (a record key to MAC with). */
export const canVouch = (): Promise<boolean> => canRecord();

/** Vouches for the cache as it is now: its root, these target texts (verified in this process), `checkedAt`. */
export async function writeTufVouch(cache: TufCache, targets: Record<string, string | undefined>, checkedAt: Date, previous: TufVouch | undefined): Promise<void> {
  const root = readRoot(cache);
  if (root === undefined) return;
  const digests = Object.fromEntries(Object.entries(targets).flatMap(([name, text]) => (text === undefined ? [] : [[name, sha256(text)]])));
  const vouch = { root: sha256(root), targets: digests, checkedAt: checkedAt.toISOString() };
  const unchanged = previous && previous.root === vouch.root && previous.checkedAt.toISOString() === vouch.checkedAt && JSON.stringify(previous.targets) === JSON.stringify(digests);
  if (!unchanged) await writeRecord(join(cache.metadataDir, VOUCH_FILE), vouch);
}

/**
 * Whether an unvouched cache holds anything beyond what seeding makes (the
 * seed root, and this user's own "unreachable" record, MAC'd apart): TUF
 * state someone else wrote, or an older plugin that did not vouch.
 */
export function holdsUnvouchedState(cache: TufCache, seedRoot: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(cache.metadataDir);
  } catch {
    return false;
  }
  return entries.some((entry) => {
    if (entry === UNREACHABLE_FILE) return false;
    if (entry === 'root.json') return !readRoot(cache)?.equals(Buffer.from(seedRoot));
    if (entry !== TARGETS_DIR) return true;
    try {
      return readdirSync(cache.targetDir).length > 0;
    } catch {
      return true;
    }
  });
}

/** A cache this user did not write (restored, planted, or from before vouching): removed, so that the TUF client starts again from the seed root. */
export function dropTufCache(cache: TufCache): void {
  rmSync(cache.metadataDir, { recursive: true, force: true });
}

/** A target text from the cache, if it is the one the vouch names. */
export function readVouchedTarget(cache: TufCache, vouch: TufVouch, targetName: string): string | undefined {
  const digest = vouch.targets[targetName];
  if (digest === undefined) return undefined;
  const text = readCachedTarget(cache, targetName);
  return text !== undefined && sha256(text) === digest ? text : undefined;
}

/** The last time the repository could not be reached, and why. */
export interface Unreachable {
  at: Date;
  cause: string;
}

/**
 * Remembers that the repository could not be reached. MAC'd under this
 * user's record key (src/install/record-files.ts, never the CI key): a
 * record restored from a cache must not hold back a refresh on this machine.
 */
export async function recordRepositoryUnreachable(cache: TufCache, at: Date, cause: string): Promise<void> {
  await writeRecord(join(cache.metadataDir, UNREACHABLE_FILE), { at: at.toISOString(), cause }, { machine: true });
}

/** When the repository was last found unreachable, if that was this user's own finding within `withinMs` before `now`. */
export async function unreachableSince(cache: TufCache, now: Date, withinMs: number): Promise<Unreachable | undefined> {
  const record = await readRecord<{ at?: unknown; cause?: unknown }>(join(cache.metadataDir, UNREACHABLE_FILE), { machine: true });
  const at = new Date(typeof record?.at === 'string' ? record.at : NaN);
  const age = now.getTime() - at.getTime();
  return age >= 0 && age < withinMs && typeof record?.cause === 'string' ? { at, cause: record.cause } : undefined;
}
