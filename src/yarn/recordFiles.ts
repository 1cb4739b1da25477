/** Content-addressed JSON records under a folder of the user's own cache: `<folder>/<ab>/<digest>.json`. */
import { randomBytes } from 'crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'fs/promises';
import { dirname, join } from 'path';

export function recordPath(folder: string, digest: string): string {
  return join(folder, digest.slice(0, 2), `${digest}.json`);
}

/** The parsed record, or undefined when it is missing or unreadable (a cache miss, never an error). */
export async function readRecord<T>(path: string, reviver?: (key: string, value: unknown) => unknown): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8'), reviver as never) as T;
  } catch {
    return undefined;
  }
}

/** Best effort and atomic: a record that cannot be written only costs the next install some work. */
export async function writeRecord(path: string, value: unknown): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, JSON.stringify(value));
    await rename(temporary, path);
    return true;
  } catch {
    await rm(temporary, { force: true }).catch(() => {});
    return false;
  }
}
