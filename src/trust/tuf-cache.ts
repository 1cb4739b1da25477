/**
 * The on-disk TUF cache: one folder per repository under the caller's cache
 * folder (Yarn's global folder), holding the TUF metadata, the verified target
 * files, and when the repository last answered.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ErrorCodes } from '../errors';
import { readOptionalFile } from '../files';
import { readRecord, writeRecord } from '../install/record-files';
import { join } from 'node:path';

const TARGETS_DIR = 'targets';
const FRESHNESS_FILE = 'last-checked.json';
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

/** Creates the folders and, the first time only, the trusted TUF root every later update chains from. */
export function seedTufCache(cache: TufCache, seedRoot: () => string): void {
  mkdirSync(cache.targetDir, { recursive: true });
  const rootPath = join(cache.metadataDir, 'root.json');
  if (!existsSync(rootPath)) writeFileSync(rootPath, seedRoot());
}

/** Where the TUF client stores a target (it URL-encodes the target path). */
export function cachedTargetPath(cache: TufCache, targetName: string): string {
  return join(cache.targetDir, encodeURIComponent(targetName));
}

export function readCachedTarget(cache: TufCache, targetName: string): string | undefined {
  const path = cachedTargetPath(cache, targetName);
  return readOptionalFile({ path, what: 'the cached TUF target', code: ErrorCodes.TUF_METADATA_INVALID })?.toString('utf8');
}

export function recordRepositoryAnswered(cache: TufCache, at: Date): void {
  try {
    writeFileSync(join(cache.metadataDir, FRESHNESS_FILE), JSON.stringify({ checkedAt: at.toISOString() }));
  } catch {
    // Only the reported age depends on it: it then falls back to the metadata's write time.
  }
}

/** When the repository last confirmed the cached material; the metadata's own write time if never recorded. */
export function lastCheckedAt(cache: TufCache): Date | undefined {
  try {
    const { checkedAt } = JSON.parse(readFileSync(join(cache.metadataDir, FRESHNESS_FILE), 'utf8')) as { checkedAt?: string };
    const date = new Date(checkedAt ?? '');
    if (!Number.isNaN(date.getTime())) return date;
  } catch {
    // fall through to the metadata's own age
  }
  const timestampPath = join(cache.metadataDir, 'timestamp.json');
  return existsSync(timestampPath) ? statSync(timestampPath).mtime : undefined;
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
