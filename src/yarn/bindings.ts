/**
 * Content-keyed records binding a cached Yarn zip to the tarball it was made
 * from. Written only after this plugin hashed and verified the tarball itself,
 * and kept in the user's own Yarn global folder, never in the project (whose
 * cache anyone with commit access can write). Verification and policy are
 * re-run on every install: a record only saves the download.
 */
import { createHash, randomBytes } from 'crypto';
import { createReadStream } from 'fs';
import { mkdir, readFile, rename, rm, writeFile } from 'fs/promises';
import { dirname, join } from 'path';

export interface BindingRecord {
  zipSha512: string;
  tgzSha512: string;
  name: string;
  version: string;
}

export class BindingStore {
  constructor(private readonly folder: string) {}

  async read(zipSha512: string): Promise<BindingRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.pathOf(zipSha512), 'utf8')) as BindingRecord;
      return record.zipSha512 === zipSha512 && /^[0-9a-f]{128}$/.test(record.tgzSha512) ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Best effort: a record that cannot be written only costs the next install a download. */
  async write(record: BindingRecord): Promise<boolean> {
    const path = this.pathOf(record.zipSha512);
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temporary, JSON.stringify(record));
      await rename(temporary, path);
      return true;
    } catch {
      await rm(temporary, { force: true }).catch(() => {});
      return false;
    }
  }

  private pathOf(zipSha512: string): string {
    return join(this.folder, zipSha512.slice(0, 2), `${zipSha512}.json`);
  }
}

export function sha512Hex(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

export async function sha512File(path: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
