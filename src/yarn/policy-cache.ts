/**
 * Where parsed policy documents are kept between installs: one record per
 * policy file under `<globalFolder>/sigstore/policies/`, MAC'd like every
 * record of the plugin (src/install/record-files.ts): an entry another key
 * made, or a file edited by hand, is a miss and the policy is parsed again.
 */
import { createHash } from 'crypto';
import { join } from 'path';
import { readRecord, writeRecord } from '../install/record-files';
import type { ParsedPolicyCache } from '../policy';

interface ParsedPolicyRecord {
  digest: string;
  document: unknown;
}

export function parsedPolicyCache(folder: string): ParsedPolicyCache {
  const recordOf = (filepath: string) => join(folder, `${createHash('sha256').update(filepath).digest('hex')}.json`);
  return {
    async lookup(filepath, digest) {
      const record = await readRecord<ParsedPolicyRecord>(recordOf(filepath));
      return record?.digest === digest ? record.document : undefined;
    },
    async remember(filepath, digest, document) {
      await writeRecord(recordOf(filepath), { digest, document } satisfies ParsedPolicyRecord);
    },
  };
}
