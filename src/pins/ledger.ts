/**
 * One install's pinning: checks every verified version against the committed
 * lock (never against pins made earlier in the same install, so the outcome
 * does not depend on fetch order), collects what was seen, and computes the
 * next lock once the fetch step has succeeded.
 */
import { ErrorCodes, SigstorePluginError } from '../errors';
import { checkAgainstPin, describeIdentity, highestSigned, lockDisagreement, type PinObservation } from './compare';
import { emptyLock, type PackagePin, type PinLock } from './model';

export interface PinReport {
  /** Packages pinned for the first time, or re-pinned after `pin update`. */
  pinned: { name: string; identity: string; reason?: string; signed: boolean }[];
}

export class PinLedger {
  private readonly observed = new Map<string, Map<string, PinObservation>>();

  constructor(
    readonly committed: PinLock = emptyLock(),
    /** `--immutable`: a version the lock does not record fails at once. */
    readonly immutable = false,
  ) {}

  /** Checks one verified version and records it; throws the coded failure. */
  observe(observation: PinObservation): void {
    const pin = this.committed.packages.get(observation.name);
    const failure = checkAgainstPin(pin, observation);
    if (failure) throw failure;
    if (this.immutable && !pin?.versions.has(observation.version)) {
      const subject = `${observation.name}@${observation.version}`;
      throw new SigstorePluginError(ErrorCodes.PIN_MISSING, `${subject}: not pinned in sigstore.lock, and --immutable forbids writing it; run \`yarn install\` without --immutable and commit sigstore.lock`, { subject });
    }
    let versions = this.observed.get(observation.name);
    if (!versions) this.observed.set(observation.name, (versions = new Map()));
    versions.set(observation.version, observation);
  }

  /** The first committed entry that what this install verified contradicts (names in `untouched` were not pinned here). */
  disagreement(untouched: Set<string> = new Set()): SigstorePluginError | null {
    for (const [name, versions] of [...this.observed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const pin = this.committed.packages.get(name);
      const failure = pin && !untouched.has(name) ? lockDisagreement(pin, [...versions.values()]) : null;
      if (failure) return failure;
    }
    return null;
  }

  /**
   * The lock after this install. `present` holds every registry package
   * version in the project (all platforms); `untouched` the names not pinned
   * in this install (`pin: false`, mode off, a warned mismatch): their
   * committed blocks are kept as they are.
   */
  next(present: Map<string, Set<string>>, untouched: Set<string> = new Set()): { lock: PinLock; report: PinReport } {
    const lock = emptyLock();
    const report: PinReport = { pinned: [] };
    for (const [name, versions] of present) {
      const committed = this.committed.packages.get(name);
      if (untouched.has(name)) {
        if (committed) lock.packages.set(name, committed);
        continue;
      }
      const seen = this.observed.get(name) ?? new Map<string, PinObservation>();
      const pin: PackagePin = { name, versions: new Map() };
      for (const version of versions) {
        const observation = seen.get(version);
        const kept = committed?.versions.get(version);
        if (observation) pin.versions.set(version, { integrity: observation.integrity, provenance: observation.identity !== undefined });
        else if (kept) pin.versions.set(version, kept);
      }
      if (pin.versions.size === 0) continue;
      const fresh = !committed?.identity || committed.pendingUpdate;
      const identity = fresh ? latestIdentity(seen) : committed.identity;
      if (identity) pin.identity = identity;
      if (committed?.reason !== undefined) pin.reason = committed.reason;
      if (committed?.pendingUpdate && seen.size === 0) pin.pendingUpdate = true; // nothing verified yet: still pending
      const changed = !committed || (committed.pendingUpdate && !pin.pendingUpdate) || (!committed.identity && identity);
      if (changed) report.pinned.push({ name, identity: identity ? describeIdentity(identity) : 'no provenance', reason: pin.reason, signed: identity !== undefined });
      lock.packages.set(name, pin);
    }
    return { lock, report };
  }
}

/** The identity of the highest version seen with provenance. */
const latestIdentity = (seen: Map<string, PinObservation>) => highestSigned(seen.values())?.identity;
