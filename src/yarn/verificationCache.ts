/**
 * Verified results kept in the user's Yarn global folder, keyed by content
 * only; a changed byte in any part of the key misses. Two keys:
 * - `key`: name, version, tarball sha512, the attestation document served now
 *   and the trust material (the default: every install fetches the document);
 * - `contentKey`: the same without the document (`sigstoreRecheckAttestations:
 *   false`): a result says that a valid bundle under this trust material binds
 *   these exact bytes to a signer, which stays true whatever the registry
 *   serves later, so a warm install needs no request.
 * The policy is never cached: every install evaluates it afresh against the
 * cached signer, and a refreshed trusted root misses.
 */
import { createHash } from 'crypto';
import type { PackageSubject, PackageVerification } from '../verify/types';
import type { RecordStore } from './recordStore';

/**
 * A result read back from JSON, its verified times made Dates again (in place).
 * Done per result rather than with a JSON.parse reviver, which triples the
 * parse time of a large index or store.
 */
export function reviveVerification<T extends PackageVerification | undefined>(result: T): T {
  for (const attestation of [result?.provenance, result?.publish]) {
    if (attestation && typeof attestation.verifiedTime === 'string') attestation.verifiedTime = new Date(attestation.verifiedTime);
  }
  return result;
}

/** Whether a cached result is about exactly these bytes of this package (its key or index entry already says so: checking again is free). */
export function isResultFor(result: PackageVerification | undefined, subject: PackageSubject): result is PackageVerification {
  const about = result?.subject;
  return about?.name === subject.name && about.version === subject.version && about.sha512Hex === subject.sha512Hex;
}

/**
 * What a result records, part of every key: a result made before the verifier
 * read a claim lacks it, and a policy naming that claim would wrongly refuse
 * it, so a new claim (.23, the deployment environment) makes old results miss.
 */
export const RESULT_FORMAT = 'claims-1..23';

export class VerificationCache {
  constructor(private readonly store: RecordStore) {}

  static contentKey(subject: PackageSubject, trustDigest: string): string {
    return createHash('sha256').update(`${RESULT_FORMAT}\n${subject.name}@${subject.version}\n${subject.sha512Hex}\n${trustDigest}`).digest('hex');
  }

  static key(subject: PackageSubject, document: unknown, trustDigest: string): string {
    const documentDigest = createHash('sha256').update(JSON.stringify(document)).digest('hex');
    return createHash('sha256').update(`${RESULT_FORMAT}\n${subject.name}@${subject.version}\n${subject.sha512Hex}\n${documentDigest}\n${trustDigest}`).digest('hex');
  }

  async read(key: string, subject: PackageSubject): Promise<PackageVerification | undefined> {
    const entry = reviveVerification(await this.store.get<PackageVerification>('verified', key));
    return isResultFor(entry, subject) ? entry : undefined;
  }

  write(key: string, verification: PackageVerification): void {
    this.store.put('verified', key, verification);
  }
}
