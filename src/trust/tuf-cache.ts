/**
 * The on-disk TUF cache: one folder per repository under the caller's cache
 * folder (Yarn's global folder), holding the TUF metadata, the verified target
 * files, and when the repository last answered.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ErrorCodes } from '../errors';
import { readOptionalFile } from '../files';
import { join } from 'node:path';

const TARGETS_DIR = 'targets';
const FRESHNESS_FILE = 'last-checked.json';

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
