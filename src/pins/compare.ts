/**
 * One verified package version against its package's committed pin. Each
 * package is compared with its own history only: no history is never a
 * downgrade, and a version is compared with the pin, never with newer releases.
 */
import semver from 'semver';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { printable } from '../printable';
import { PINNED_FIELDS, type PackagePin, type PinnedIdentity } from './model';

/** What this install verified of one package version. */
export interface PinObservation {
  name: string;
  version: string;
  /** `sha512-<base64>` of the verified tarball. */
  integrity: string;
  /** The verified provenance signer; absent: no provenance (unsigned or publish attestation only). */
  identity?: PinnedIdentity;
}

export interface FieldChange {
  field: keyof PinnedIdentity;
  pinned: string;
  found: string | undefined;
}

/** Every recorded field the new identity does not repeat (a claim the pin never recorded is not compared). */
export function identityChanges(pinned: PinnedIdentity, found: PinnedIdentity): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of PINNED_FIELDS) {
    const value = pinned[field];
    if (value !== undefined && found[field] !== value) changes.push({ field, pinned: value, found: found[field] });
  }
  return changes;
}

const UPDATE_HINT = (name: string) => `if this change is intended, run \`yarn sigstore pin update ${name} --reason "..."\``;

/** Null when the observation agrees with the pin (or there is none); else the coded failure. */
export function checkAgainstPin(pin: PackagePin | undefined, observed: PinObservation): SigstorePluginError | null {
  if (!pin || pin.pendingUpdate) return null;
  const subject = `${observed.name}@${observed.version}`;
  const recorded = pin.versions.get(observed.version);
  if (recorded && recorded.integrity !== observed.integrity) {
    return new SigstorePluginError(
      ErrorCodes.PIN_INTEGRITY_CHANGED,
      `${subject}: the tarball differs from the one pinned in sigstore.lock (pinned ${recorded.integrity}, found ${observed.integrity}); a published version never changes: ${UPDATE_HINT(observed.name)}`,
      { subject, details: { pinned: recorded.integrity, found: observed.integrity } },
    );
  }
  // The very bytes already recorded were accepted then: a version keeps its own history, never held to a newer pin.
  if (recorded || !pin.identity) return null;
  if (!observed.identity) {
    return new SigstorePluginError(
      ErrorCodes.PIN_PROVENANCE_LOST,
      `${subject}: no provenance, but sigstore.lock pins ${pin.name} as signed by ${describeIdentity(pin.identity)} (no-downgrade); ${UPDATE_HINT(observed.name)}`,
      { subject, details: { pinned: pin.identity } },
    );
  }
  const changes = identityChanges(pin.identity, observed.identity);
  if (changes.length === 0) return null;
  const shown = changes.map((c) => `${c.field}: pinned ${printable(c.pinned)}, found ${c.found === undefined ? 'nothing (the certificate lacks this claim)' : printable(c.found)}`).join('; ');
  return new SigstorePluginError(ErrorCodes.PIN_IDENTITY_CHANGED, `${subject}: signed by another identity than the one pinned in sigstore.lock: ${shown}; ${UPDATE_HINT(observed.name)}`, {
    subject,
    details: { pinned: pin.identity, found: observed.identity, changes },
  });
}

/** The observation with provenance of the highest version: deterministic whatever the fetch order. */
export function highestSigned(observations: Iterable<PinObservation>): PinObservation | undefined {
  const signed = [...observations].filter((o) => o.identity !== undefined);
  signed.sort((a, b) => (semver.valid(a.version) && semver.valid(b.version) ? semver.compare(b.version, a.version) : b.version < a.version ? -1 : 1));
  return signed[0];
}

/**
 * A committed entry against what this install verified of its package: each
 * recorded version's provenance flag, and the pinned identity, which one of
 * the verified versions with provenance must carry (a pin is taken from one,
 * and a later version either matched it or failed). An edited entry (another
 * repository for installed versions) would otherwise be kept, and judge the
 * next version. Null when they agree, or when nothing verified speaks to it.
 */
export function lockDisagreement(pin: PackagePin, observed: PinObservation[]): SigstorePluginError | null {
  if (pin.pendingUpdate) return null;
  const disagree = (field: string, lockValue: string, verified: string, version: string) =>
    new SigstorePluginError(
      ErrorCodes.PIN_LOCK_DISAGREES,
      `sigstore.lock: the entry of ${pin.name} says ${field} ${lockValue}, but this install verified ${verified} for ${pin.name}@${version}; the lock was edited or is wrong: restore it, or ${UPDATE_HINT(pin.name)}`,
      { subject: `${pin.name}@${version}`, details: { entry: pin.name, field, lock: lockValue, verified } },
    );
  for (const observation of observed) {
    const recorded = pin.versions.get(observation.version);
    const verified = observation.identity !== undefined;
    if (recorded && recorded.integrity === observation.integrity && recorded.provenance !== verified) {
      return disagree(`versions.${observation.version}.provenance`, String(recorded.provenance), String(verified), observation.version);
    }
  }
  const highest = highestSigned(observed);
  if (!pin.identity || !highest || observed.some((o) => o.identity !== undefined && identityChanges(pin.identity!, o.identity).length === 0)) return null;
  const [change] = identityChanges(pin.identity, highest.identity!);
  return disagree(`identity.${change.field}`, change.pinned, change.found ?? 'nothing (the certificate lacks this claim)', highest.version);
}

export function describeIdentity(identity: PinnedIdentity): string {
  return [identity.repository, identity.workflow, identity.runner].filter((part) => part !== undefined).join(' ') || (identity.issuer ?? 'an unnamed signer');
}
