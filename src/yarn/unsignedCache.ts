/**
 * The registry's "no attestations" answers, remembered in the user's record
 * store so that a warm install asks nothing for a package already found
 * unsigned. Keyed like verified results, by content: name, version, tarball
 * sha512, and the network sources that were asked (the package's registry
 * and the attestation registry its scope maps to), so another tarball or
 * another source asks again. An answer older than `sigstoreUnsignedMaxAgeDays`
 * is asked again: npm versions are immutable and provenance is attached at
 * publish time, but a mirror or an attestation registry may start serving
 * bundles later. Only the request is skipped: the policy judges the package
 * as unsigned afresh on every install, so a remembered answer relaxes nothing.
 */
import { createHash } from 'crypto';
import type { PackageSubject } from '../verify/types';
import type { RecordStore } from './recordStore';

const DAY_MS = 86_400_000;

interface UnsignedAnswer extends PackageSubject {
  /** The network sources that answered (see `sourcesOf`). */
  sources: string;
  /** Epoch ms when they last answered "no attestations". */
  checkedAt: number;
}

/** What the network sources of one package are: its registry, and the attestation registry of its scope if any. */
export function sourcesOf(registry: string, attestationRegistry: string | undefined): string {
  return `${registry}\n${attestationRegistry ?? ''}`;
}

export class UnsignedCache {
  constructor(
    private readonly store: RecordStore,
    /** How long an answer is used without asking again; 0: always ask. */
    private readonly maxAgeDays: number,
  ) {}

  static key(subject: PackageSubject, sources: string): string {
    return createHash('sha256').update(`unsigned\n${subject.name}@${subject.version}\n${subject.sha512Hex}\n${sources}`).digest('hex');
  }

  /**
   * When these sources last said these bytes carry no attestations, if that
   * answer may stand now (`anyAge`: offline, nothing can be asked, so an
   * answer older than the bound is still the best one there is).
   */
  async read(subject: PackageSubject, sources: string, options: { anyAge?: boolean; now?: number } = {}): Promise<Date | undefined> {
    const answer = await this.store.get<UnsignedAnswer>('unsigned', UnsignedCache.key(subject, sources));
    if (!isAnswerFor(answer, subject, sources)) return undefined;
    const age = (options.now ?? Date.now()) - answer.checkedAt;
    if (!options.anyAge && (this.maxAgeDays <= 0 || age < 0 || age >= this.maxAgeDays * DAY_MS)) return undefined;
    return new Date(answer.checkedAt);
  }

  write(subject: PackageSubject, sources: string, checkedAt = Date.now()): void {
    const answer: UnsignedAnswer = { name: subject.name, version: subject.version, sha512Hex: subject.sha512Hex, sources, checkedAt };
    this.store.put('unsigned', UnsignedCache.key(subject, sources), answer);
  }
}

function isAnswerFor(answer: UnsignedAnswer | undefined, subject: PackageSubject, sources: string): answer is UnsignedAnswer {
  return (
    typeof answer === 'object' &&
    answer !== null &&
    answer.name === subject.name &&
    answer.version === subject.version &&
    answer.sha512Hex === subject.sha512Hex &&
    answer.sources === sources &&
    typeof answer.checkedAt === 'number'
  );
}
