/**
 * The judge stage: the trust policy's verdict on a verification outcome, then,
 * for a registry package the policy allowed, its sigstore.lock pin. The pins
 * are loaded when the fetch step starts, every allowed package is compared
 * with its pin, and the lock is written after the fetch step succeeded
 * (never under --immutable: a stale lock fails there, as yarn.lock does).
 * One Judge per install holds its own pin state.
 */
import { ErrorCodes, SigstorePluginError } from '../errors';
import { readOptionalFile, writeNamedFile, type NamedFile } from '../files';
// From evaluate, not the policy index: the index pulls the policy loader into plugin start-up.
import { matchRule } from '../policy/evaluate';
import type { EvaluateOptions, LoadedPolicy, PackageRef, PolicyModel, Verdict, VerificationOutcome } from '../policy';
import type { DowngradeFinding } from '../policy/history';
import { PIN_LOCK_FILENAME, PinLedger, type PinReport, integrityOfHex, parsePinLock, pinnedIdentityOf, serializePinLock } from '../pins';
import type { PackageSubject } from '../verify/types';

/** What judging needs of the loaded policy (src/yarn/policy-adapter.ts makes it). */
export interface PolicyJudge {
  readonly loaded: LoadedPolicy | undefined;
  /** `downgrade`: what the registry's history says of a package not pinned yet (it may only tighten). */
  judge(pkg: PackageRef, outcome: VerificationOutcome, signals?: Pick<EvaluateOptions, 'downgrade'>): Verdict;
}

interface PinState {
  ledger: PinLedger;
  /** The file as committed (null: absent). */
  text: string | null;
  /** Packages whose rule turned pinning off (or mode off), or whose mismatch was only warned: their committed blocks are kept as they are. */
  untouched: Set<string>;
}

const pinLockFile = (path: string): NamedFile => ({ path, what: PIN_LOCK_FILENAME, code: ErrorCodes.PIN_LOCK_INVALID });

/** Reads sigstore.lock (resolving git conflict markers). A broken or unreadable lock throws PIN_LOCK_INVALID. */
export function readPinLock(path: string) {
  const text = readOptionalFile(pinLockFile(path))?.toString('utf8') ?? null;
  return { text, parsed: text === null ? null : parsePinLock(text, PIN_LOCK_FILENAME) };
}

/** Writes sigstore.lock; one that cannot be written throws with the lock's code. */
export function writePinLock(path: string, text: string): void {
  writeNamedFile(pinLockFile(path), text);
}

function pinStateOf({ text, parsed }: ReturnType<typeof readPinLock>, immutable: boolean): PinState {
  return { ledger: new PinLedger(parsed?.lock, immutable), text, untouched: new Set<string>() };
}

/** A new pin, for the report. */
export type NewPin = PinReport['pinned'][number];

export class Judge {
  private pins?: PinState;
  /** The lock as read for a question asked before the fetch step started the pins (the prefetch's expectsSigned): startPins takes it. */
  private readEarly?: ReturnType<typeof readPinLock>;

  /** `pinLockPath`: the project's sigstore.lock. */
  constructor(private readonly pinLockPath: string) {}

  /** Called when the fetch step starts (else on the first pin). */
  startPins(immutable: boolean): void {
    const read = this.readEarly ?? readPinLock(this.pinLockPath);
    this.readEarly = undefined;
    this.pins = pinStateOf(read, immutable);
  }

  /** The pins, started on first use when the fetch step has not started them (sigstore.lock read once either way). */
  private pinState(): PinState {
    if (!this.pins) this.pins = pinStateOf((this.readEarly = readPinLock(this.pinLockPath)), false);
    return this.pins;
  }

  /** Whether the committed sigstore.lock pins this package (then its pin, not the registry's history, says what a downgrade is). */
  isPinned(name: string): boolean {
    return this.pinState().ledger.committed.packages.has(name);
  }

  /**
   * Whether sigstore.lock expects this version to be signed: its recorded version carried provenance,
   * or (a version it does not record) the package is pinned to a signer, so that no provenance would be
   * PIN_PROVENANCE_LOST. Only orders the document requests.
   */
  expectsSigned(name: string, version: string): boolean {
    const pin = this.pinState().ledger.committed.packages.get(name);
    if (!pin) return false;
    return pin.versions.get(version)?.provenance ?? pin.identity !== undefined;
  }

  /**
   * The verdict on one package: the policy's (told of a `downgrade` the
   * registry's history shows), then (`pin`: a registry package fetched on
   * every platform) its pin's, which may turn an allow into a deny (a
   * warning in warn mode) carrying the pin's error.
   */
  decide(policy: PolicyJudge, subject: PackageSubject, outcome: VerificationOutcome, pin: boolean, downgrade?: DowngradeFinding): { verdict: Verdict; error?: SigstorePluginError } {
    const verdict = policy.judge({ name: subject.name, version: subject.version }, outcome, { downgrade });
    return pin ? this.applyPin(subject, outcome, verdict, policy.loaded?.model) : { verdict };
  }

  private applyPin(subject: PackageSubject, outcome: VerificationOutcome, verdict: Verdict, loadedModel: PolicyModel | undefined): { verdict: Verdict; error?: SigstorePluginError } {
    if (verdict.decision === 'deny' || outcome.status === 'failed') return { verdict };
    const state = this.pinState();
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

  /**
   * After the fetch step succeeded: reports the new pins and writes the lock
   * (`persist`) when it changed. Throws PIN_LOCK_STALE when immutable and the
   * lock would change, or a pin disagreement. `present`: every registry
   * package version by name (platform packages left out: never pinned).
   */
  finishPins(options: { immutable: boolean; persist: boolean; present: Map<string, Set<string>>; report: (pins: NewPin[]) => void }): void {
    const state = this.pins;
    if (!state) return;
    const disagreement = state.ledger.disagreement(state.untouched);
    if (disagreement) throw disagreement;
    const { lock, report: pins } = state.ledger.next(options.present, state.untouched);
    const text = serializePinLock(lock);
    if (text === state.text || (state.text === null && lock.packages.size === 0)) return;
    if (options.immutable) {
      const cause = state.text === null ? 'would be created' : 'would be modified';
      const changes = pins.pinned.map((pin) => pin.name).join(', ');
      throw new SigstorePluginError(
        ErrorCodes.PIN_LOCK_STALE,
        `${PIN_LOCK_FILENAME} ${cause} by this install, which --immutable forbids${changes ? ` (new pins: ${changes})` : ''}; run \`yarn install\` and commit ${PIN_LOCK_FILENAME}`,
      );
    }
    options.report(pins.pinned);
    if (options.persist) writePinLock(this.pinLockPath, text);
  }
}
