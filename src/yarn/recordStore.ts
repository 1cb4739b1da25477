/**
 * The user's verified records (zip -> tarball bindings, verification
 * results, and the registry's "no attestations" answers), all in ONE HMAC'd file, `<globalFolder>/sigstore/records.json`:
 * read once per install when first needed, changed in memory, and written
 * once when the fetch step ends. One small file per record cost ~0.7 ms of
 * CPU each on the build machine's filesystem (1.5 s for a cold 1,000-package
 * install); one file costs milliseconds.
 *
 * The file is merged with what is on disk when written (another install may
 * have written it meanwhile; the last writer keeps both sides' entries), and
 * entries unused for RETENTION_DAYS are dropped. A file whose MAC is not this
 * user's (restored from a cache, edited) is ignored whole: every entry misses.
 */
import { readRecord, writeRecord } from './recordFiles';

export const RECORD_KINDS = ['bindings', 'verified', 'unsigned'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

interface Stored {
  value: unknown;
  /** Epoch ms of the last install that wrote or read it. */
  usedAt: number;
}

type StoreBody = Record<RecordKind, Record<string, Stored>>;

const RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

const emptyBody = (): StoreBody => ({ bindings: {}, verified: {}, unsigned: {} });

async function readBody(file: string): Promise<StoreBody> {
  const read = await readRecord<Partial<StoreBody>>(file);
  const body = emptyBody();
  if (!read || typeof read !== 'object') return body;
  for (const kind of RECORD_KINDS) if (read[kind] && typeof read[kind] === 'object') body[kind] = read[kind];
  return body;
}

export class RecordStore {
  private body?: Promise<StoreBody>;
  /** Entries this process wrote or used, to merge into the file. */
  private readonly touched: StoreBody = emptyBody();

  constructor(private readonly file: string) {}

  private load(): Promise<StoreBody> {
    return (this.body ??= readBody(this.file));
  }

  async get<T>(kind: RecordKind, key: string): Promise<T | undefined> {
    const stored = (await this.load())[kind][key];
    if (stored === undefined || typeof stored !== 'object') return undefined;
    // Touched only when it would otherwise age out soon: a warm install should not rewrite the file.
    if (Date.now() - stored.usedAt > DAY_MS) this.touched[kind][key] = { value: stored.value, usedAt: Date.now() };
    return stored.value as T;
  }

  put(kind: RecordKind, key: string, value: unknown): void {
    const stored = { value, usedAt: Date.now() };
    this.touched[kind][key] = stored;
    if (this.body) void this.body.then((body) => (body[kind][key] = stored));
  }

  /** Writes what this install added or used, merged into the file as it is now; best effort. */
  async flush(): Promise<void> {
    if (RECORD_KINDS.every((kind) => Object.keys(this.touched[kind]).length === 0)) return;
    const current = await readBody(this.file);
    const oldest = Date.now() - RETENTION_DAYS * DAY_MS;
    const merged = emptyBody();
    for (const kind of RECORD_KINDS) {
      for (const [key, stored] of Object.entries({ ...current[kind], ...this.touched[kind] })) if (stored?.usedAt >= oldest) merged[kind][key] = stored;
      this.touched[kind] = {};
    }
    await writeRecord(this.file, merged);
  }
}
