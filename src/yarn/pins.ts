/**
 * The pinning step of the install gate: loads sigstore.lock when the fetch
 * step starts, compares every verified registry package with its pin once the
 * policy allowed it, and writes the lock after the fetch step succeeded
 * (never under --immutable: a stale lock fails there, as yarn.lock does).
 */
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import { structUtils, type Locator, type Project, type Report } from '@yarnpkg/core';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { readOptionalFile, writeNamedFile, type NamedFile } from '../files';
// From evaluate, not the policy index: the index pulls the loader (cosmiconfig, js-yaml) into plugin start-up.
import { matchRule } from '../policy/evaluate';
import type { Verdict, VerificationOutcome } from '../policy';
import { PIN_LOCK_FILENAME, PinLedger, integrityOfHex, parsePinLock, pinnedIdentityOf, serializePinLock } from '../pins';
import type { PackageSubject } from '../verify/types';
import { reportError } from './errors';
import { npmVersion } from './locators';
import type { GateSession } from './session';

interface PinState {
  ledger: PinLedger;
  path: string;
  /** The file as committed (null: absent). */
  text: string | null;
  /** Packages whose rule turned pinning off (or mode off), or whose mismatch was only warned: their committed blocks are kept as they are. */
  untouched: Set<string>;
}

const states = new WeakMap<GateSession, PinState>();

export function pinLockPath(project: Project): string {
  return npath.fromPortablePath(ppath.join(project.cwd, PIN_LOCK_FILENAME as PortablePath));
}

const pinLockFile = (path: string): NamedFile => ({ path, what: PIN_LOCK_FILENAME, code: ErrorCodes.PIN_LOCK_INVALID });

/** Reads sigstore.lock (resolving git conflict markers). A broken or unreadable lock fails the install. */
export function readPinLock(path: string) {
  try {
    const text = readOptionalFile(pinLockFile(path))?.toString('utf8') ?? null;
    return { text, parsed: text === null ? null : parsePinLock(text, PIN_LOCK_FILENAME) };
  } catch (error) {
    throw reportError(error as SigstorePluginError);
  }
}

/** Writes sigstore.lock; one that cannot be written fails with the lock's code. */
export function writePinLock(path: string, text: string): void {
  try {
    writeNamedFile(pinLockFile(path), text);
  } catch (error) {
    throw reportError(error as SigstorePluginError);
  }
}

function load(session: GateSession, immutable: boolean): PinState {
  const path = pinLockPath(session.project);
  const { text, parsed } = readPinLock(path);
  const state = { ledger: new PinLedger(parsed?.lock, immutable), path, text, untouched: new Set<string>() };
  states.set(session, state);
  return state;
}

/** Whether the committed sigstore.lock pins this package (then its pin, not the registry's history, says what a downgrade is). */
export function isPinned(session: GateSession, name: string): boolean {
  return (states.get(session) ?? load(session, false)).ledger.committed.packages.has(name);
}

/** Called when the fetch step starts. */
export function startPinning(session: GateSession, immutable: boolean): void {
  load(session, immutable);
}

/**
 * Compares an allowed registry package with its pin. Returns the verdict to
 * apply: unchanged, or a deny (a warning in warn mode) with the pin's error.
 */
export function applyPin(session: GateSession, subject: PackageSubject, outcome: VerificationOutcome, verdict: Verdict, loadedModel: import('../policy').PolicyModel | undefined): { verdict: Verdict; error?: SigstorePluginError } {
  if (verdict.decision === 'deny' || outcome.status === 'failed') return { verdict };
  const state = states.get(session) ?? load(session, false);
  const ruleSaysPin = loadedModel ? matchRule(loadedModel, subject, new Date()).pin : true;
  if (!ruleSaysPin || verdict.mode?.mode === 'off') {
    state.untouched.add(subject.name);
    return { verdict };
  }
  const provenance = outcome.status === 'verified' ? outcome.result.provenance : undefined;
  try {
    state.ledger.observe({
      name: subject.name,
      version: subject.version,
      integrity: integrityOfHex(subject.sha512Hex),
      identity: provenance ? pinnedIdentityOf(provenance.identity) : undefined,
    });
    return { verdict };
  } catch (error) {
    const failure = error as SigstorePluginError;
    const decision = verdict.mode?.mode === 'warn' ? 'warn' : 'deny';
    // Warned through: the committed pin stays as it is, so the next install warns again.
    if (decision === 'warn') state.untouched.add(subject.name);
    return { verdict: { ...verdict, decision, reason: 'pin-mismatch', message: decision === 'warn' ? `${failure.message} (warn mode)` : failure.message }, error: failure };
  }
}

/** Called after the fetch step succeeded: reports new pins and writes the lock (or, immutable, fails if it would change). */
export function finishPinning(session: GateSession, report: Report, options: { immutable: boolean; persist: boolean; packages: Locator[] }): void {
  const state = states.get(session);
  if (!state) return;
  const disagreement = state.ledger.disagreement(state.untouched);
  if (disagreement) throw reportError(disagreement);
  const { lock, report: pins } = state.ledger.next(registryVersions(options.packages), state.untouched);
  const text = serializePinLock(lock);
  if (text === state.text || (state.text === null && lock.packages.size === 0)) return;
  if (options.immutable) {
    const cause = state.text === null ? 'would be created' : 'would be modified';
    const changes = pins.pinned.map((pin) => pin.name).join(', ');
    throw reportError(
      new SigstorePluginError(ErrorCodes.PIN_LOCK_STALE, `${PIN_LOCK_FILENAME} ${cause} by this install, which --immutable forbids${changes ? ` (new pins: ${changes})` : ''}; run \`yarn install\` and commit ${PIN_LOCK_FILENAME}`),
    );
  }
  // A first install pins every unsigned package: one line for them all (each is in --json and sigstore.lock).
  let unsignedPins = 0;
  for (const pin of pins.pinned) {
    report.reportJson({ type: 'sigstore-pin', name: pin.name, identity: pin.identity, reason: pin.reason });
    if (pin.signed || pin.reason) report.reportInfo(0, `sigstore: pinned ${pin.name} to ${pin.identity}${pin.reason ? ` (reason: ${pin.reason})` : ''}`);
    else unsignedPins++;
  }
  if (unsignedPins > 0) report.reportInfo(0, `sigstore: pinned ${unsignedPins} package${unsignedPins === 1 ? '' : 's'} without provenance (their tarball integrity; listed in ${PIN_LOCK_FILENAME} and with --json)`);
  if (options.persist) writePinLock(state.path, text);
}

/** Registry package versions by name: every one in the project, on every platform (the caller leaves out platform packages, never pinned). */
function registryVersions(packages: Locator[]): Map<string, Set<string>> {
  const present = new Map<string, Set<string>>();
  for (const locator of packages) {
    const version = npmVersion(locator);
    if (version === null) continue;
    const name = structUtils.stringifyIdent(locator);
    if (!present.has(name)) present.set(name, new Set());
    present.get(name)!.add(version);
  }
  return present;
}
