/**
 * Content-keyed records binding a cached Yarn zip to the tarball it was made
 * from. Written only after this plugin hashed and verified the tarball itself,
 * and kept in the user's own Yarn global folder (the record store), never in the project (whose
 * cache anyone with commit access can write). Verification and policy are
 * re-run on every install: a record only saves the download.
 */
import { createHash } from 'crypto';
import { createReadStream } from 'fs';
import type { RecordStore } from './recordStore';

export interface BindingRecord {
  zipSha512: string;
  tgzSha512: string;
  name: string;
  version: string;
}

export const isSha512Hex = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{128}$/.test(value);

export class BindingStore {
  constructor(private readonly store: RecordStore) {}

  async read(zipSha512: string): Promise<BindingRecord | undefined> {
    const record = await this.store.get<BindingRecord>('bindings', zipSha512);
    return record?.zipSha512 === zipSha512 && isSha512Hex(record.tgzSha512) ? record : undefined;
  }

  write(record: BindingRecord): void {
    this.store.put('bindings', record.zipSha512, record);
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
