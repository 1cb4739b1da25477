/**
 * JSON records in the user's own cache (the record store, the projects'
 * archive indexes, the linked copies' records). Each record carries an HMAC
 * under a per-user key kept OUTSIDE Yarn's global folder: that folder is what
 * CI caches restore (and what a poisoned cache entry would write), so a record
 * is honoured only if this user's key made it.
 *
 * `SIGSTORE_RECORD_KEY` (record-key.ts), when set, replaces the per-user key
 * for the content-keyed records, so that CI jobs sharing that secret share
 * their verified results through a cache. Records about this machine's own
 * folders (`machine: true`: the linked copies) keep the per-user key: they
 * vouch for file-system state, which another machine's record cannot.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { mkdir, readFile, rename, rm, writeFile } from 'fs/promises';
import { homedir } from 'os';
import { dirname, join } from 'path';
import { ciRecordKey } from './record-key';

/** `$XDG_CONFIG_HOME/yarn-plugin-sigstore/record.key` (default `~/.config`): never part of a Yarn or CI cache folder. */
export function recordKeyPath(): string {
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'yarn-plugin-sigstore', 'record.key');
}

const keys = new Map<string, Buffer | undefined>();

/**
 * The user's record key, created on first use; undefined when it cannot be
 * read or made (records then always miss). Synchronous: the code cache
 * (src/code-cache.ts) needs it before the plugin's lazy part is compiled.
 */
export function userRecordKey(): Buffer | undefined {
  const path = recordKeyPath();
  if (keys.has(path)) return keys.get(path);
  let key: Buffer | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, randomBytes(32), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const bytes = readFileSync(path);
    key = bytes.length >= 32 ? bytes : undefined;
  } catch {
    key = undefined;
  }
  keys.set(path, key);
  return key;
}

export interface RecordScope {
  /** A record about this machine's own folders: always the per-user key, never the CI record key. */
  machine?: boolean;
}

/** The key records of this scope are MAC'd with; throws RECORD_KEY_INVALID for an unusable SIGSTORE_RECORD_KEY (never a silent fallback). */
async function recordKey({ machine = false }: RecordScope): Promise<Buffer | undefined> {
  return (!machine && ciRecordKey()) || userRecordKey();
}

const macOf = (key: Buffer, body: string): Buffer => createHmac('sha256', key).update(body).digest();

/** Whether records of this scope can be made at all (no key: every record misses, silently). */
export async function canRecord(scope: RecordScope = {}): Promise<boolean> {
  return (await recordKey(scope)) !== undefined;
}

/** The parsed record, or undefined when it is missing, unreadable or not made with this key (a cache miss, never an error; an unusable SIGSTORE_RECORD_KEY throws). */
export async function readRecord<T>(path: string, scope: RecordScope = {}): Promise<T | undefined> {
  const key = await recordKey(scope);
  if (!key) return undefined;
  try {
    const { mac, body } = JSON.parse(await readFile(path, 'utf8')) as { mac?: unknown; body?: unknown };
    if (typeof mac !== 'string' || typeof body !== 'string') return undefined;
    const given = Buffer.from(mac, 'hex');
    const expected = macOf(key, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return JSON.parse(body) as T;
  } catch {
    return undefined;
  }
}

/** Folders this process made already: a cold install writes thousands of records into 256 folders. */
const madeFolders = new Set<string>();

async function ensureFolder(folder: string): Promise<void> {
  if (madeFolders.has(folder)) return;
  await mkdir(folder, { recursive: true });
  madeFolders.add(folder);
}

/** Best effort and atomic: a record that cannot be written only costs the next install some work. */
export async function writeRecord(path: string, value: unknown, scope: RecordScope = {}): Promise<boolean> {
  const key = await recordKey(scope);
  if (!key) return false;
  const body = JSON.stringify(value);
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await ensureFolder(dirname(path));
    await writeFile(temporary, JSON.stringify({ mac: macOf(key, body).toString('hex'), body }));
    await rename(temporary, path);
    return true;
  } catch {
    await rm(temporary, { force: true }).catch(() => {});
    return false;
  }
}
