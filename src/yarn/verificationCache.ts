/**
 * Verified results kept in the user's Yarn global folder, keyed by content
 * only: the tarball's sha512, the attestation document's digest and the
 * trust material's digest; a changed byte in any of them misses. The policy
 * is never cached: every install evaluates it afresh.
 */
import { createHash } from 'crypto';
import type { PackageSubject, PackageVerification } from '../verify/types';
import { readRecord, recordPath, writeRecord } from './recordFiles';

export class VerificationCache {
  constructor(private readonly folder: string) {}

  static key(subject: PackageSubject, document: unknown, trustDigest: string): string {
    const documentDigest = createHash('sha256').update(JSON.stringify(document)).digest('hex');
    return createHash('sha256').update(`${subject.name}@${subject.version}\n${subject.sha512Hex}\n${documentDigest}\n${trustDigest}`).digest('hex');
  }

  async read(key: string, subject: PackageSubject): Promise<PackageVerification | undefined> {
    const entry = await readRecord<PackageVerification>(recordPath(this.folder, key), (field, value) => (field === 'verifiedTime' ? new Date(value as string) : value));
    const cached = entry?.subject;
    // The key already binds the subject; checking it again costs nothing.
    return cached?.name === subject.name && cached.version === subject.version && cached.sha512Hex === subject.sha512Hex ? entry : undefined;
  }

  async write(key: string, verification: PackageVerification): Promise<void> {
    await writeRecord(recordPath(this.folder, key), verification);
  }
}
