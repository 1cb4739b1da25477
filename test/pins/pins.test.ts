/** sigstore.lock: text format, conflict resolution, comparison with the pin, one install's ledger. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { PinLedger, checkAgainstPin, integrityOfHex, parsePinLock, pinnedIdentityOf, serializePinLock, type PinLock, type PinObservation } from '../../src/pins';

const A = { issuer: 'https://token.actions.githubusercontent.com', repository: 'https://github.com/acme/a', repositoryId: '11', ownerId: '1', workflow: '.github/workflows/release.yml', runner: 'github-hosted' };
const FORK = { ...A, repository: 'https://github.com/evil/a', repositoryId: '99', ownerId: '9' };
const INTEGRITY = (n: number) => integrityOfHex(String(n).repeat(128).slice(0, 128).replace(/[^0-9a-f]/g, 'a'));

function observation(name: string, version: string, identity?: typeof A, integrity = INTEGRITY(1)): PinObservation {
  return { name, version, integrity, identity };
}

function lockOf(observations: PinObservation[]): PinLock {
  const ledger = new PinLedger();
  for (const o of observations) ledger.observe(o);
  const present = new Map<string, Set<string>>();
  for (const o of observations) present.set(o.name, new Set([...(present.get(o.name) ?? []), o.version]));
  return ledger.next(present).lock;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as SigstorePluginError).code;
  }
  return undefined;
}

describe('sigstore.lock text', () => {
  it('is sorted, one block per package, and reads back to the same bytes', () => {
    const lock = lockOf([observation('zeta', '1.0.0', A), observation('@scope/b', '2.0.0'), observation('alpha', '1.0.0', A, INTEGRITY(2))]);
    const text = serializePinLock(lock);
    expect(text.indexOf('"@scope/b":')).toBeLessThan(text.indexOf('"alpha":'));
    expect(text.indexOf('"alpha":')).toBeLessThan(text.indexOf('"zeta":'));
    expect(text).toContain('  repository: "https://github.com/acme/a"');
    expect(text).toContain('"@scope/b":\n  provenance: false\n  versions:');
    expect(serializePinLock(parsePinLock(text).lock)).toBe(text);
  });

  it('resolves git conflict markers of neighbouring additions into the union of both sides', () => {
    const base = lockOf([observation('a', '1.0.0', A)]);
    const ours = serializePinLock(lockOf([observation('a', '1.0.0', A), observation('b', '1.0.0', A)]));
    const theirs = serializePinLock(lockOf([observation('a', '1.0.0', A), observation('c', '1.0.0')]));
    const blockOf = (text: string, name: string) => text.slice(text.indexOf(`"${name}":`)).trimEnd();
    const conflicted = `${serializePinLock(base)}\n<<<<<<< HEAD\n${blockOf(ours, 'b')}\n=======\n${blockOf(theirs, 'c')}\n>>>>>>> branch-c\n`;
    const parsed = parsePinLock(conflicted);
    expect(parsed.hadConflict).toBe(true);
    expect([...parsed.lock.packages.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(parsed.lock.packages.get('b')!.identity).toEqual(A);
    expect(parsed.lock.packages.get('c')!.identity).toBeUndefined();
  });

  it('refuses to merge two sides that pin different identities, and a malformed lock', () => {
    const ours = serializePinLock(lockOf([observation('a', '1.0.0', A)]));
    const theirs = serializePinLock(lockOf([observation('a', '1.0.0', FORK)]));
    expect(codeOf(() => parsePinLock(`<<<<<<< HEAD\n${ours}=======\n${theirs}>>>>>>> x\n`))).toBe(ErrorCodes.PIN_CONFLICT);
    expect(codeOf(() => parsePinLock('"a":\n  provenance: maybe\n  versions: {}\n'))).toBe(ErrorCodes.PIN_LOCK_INVALID);
    expect(codeOf(() => parsePinLock('<<<<<<< HEAD\n"a": {}\n'))).toBe(ErrorCodes.PIN_LOCK_INVALID);
    // A tag the lock never carries is refused, not read past with a Node warning (control: the same lock without it).
    const tagged = (tag: string) => `__metadata:\n  version: 1\n"a":\n  provenance: false\n  versions:\n    "1.0.0":\n      integrity: ${tag}sha512-${'A'.repeat(86)}==\n      provenance: false\n`;
    expect(parsePinLock(tagged('')).lock.packages.get('a')?.versions.get('1.0.0')?.provenance).toBe(false);
    expect(codeOf(() => parsePinLock(tagged('!pinned ')))).toBe(ErrorCodes.PIN_LOCK_INVALID);
  });
});

describe('comparison with the pin', () => {
  const pinned = lockOf([observation('a', '1.0.0', A)]).packages.get('a')!;

  it('accepts the same identity for a new version and fails a fork, naming old and new values', () => {
    expect(checkAgainstPin(pinned, observation('a', '1.1.0', A, INTEGRITY(3)))).toBeNull();
    const failure = checkAgainstPin(pinned, observation('a', '1.1.0', FORK, INTEGRITY(3)))!;
    expect(failure.code).toBe(ErrorCodes.PIN_IDENTITY_CHANGED);
    expect(failure.message).toContain('a@1.1.0');
    expect(failure.message).toContain('repository: pinned https://github.com/acme/a, found https://github.com/evil/a');
    expect(failure.message).toContain('ownerId: pinned 1, found 9');
  });

  it('fails a self-hosted runner, a lost provenance, and other bytes under a pinned version', () => {
    expect(checkAgainstPin(pinned, observation('a', '1.1.0', { ...A, runner: 'self-hosted' }))!.code).toBe(ErrorCodes.PIN_IDENTITY_CHANGED);
    expect(checkAgainstPin(pinned, observation('a', '1.1.0'))!.code).toBe(ErrorCodes.PIN_PROVENANCE_LOST);
    expect(checkAgainstPin(pinned, observation('a', '1.0.0', A, INTEGRITY(4)))!.code).toBe(ErrorCodes.PIN_INTEGRITY_CHANGED);
  });

  it('raises no false alarm: no history, gaining provenance, or an older recorded version without it', () => {
    expect(checkAgainstPin(undefined, observation('new', '1.0.0'))).toBeNull();
    const unsigned = lockOf([observation('u', '1.0.0')]).packages.get('u')!;
    expect(checkAgainstPin(unsigned, observation('u', '2.0.0', A))).toBeNull();
    const mixed = lockOf([observation('m', '0.9.0'), observation('m', '1.0.0', A, INTEGRITY(5))]).packages.get('m')!;
    expect(mixed.identity).toEqual(A);
    expect(checkAgainstPin(mixed, observation('m', '0.9.0'))).toBeNull();
  });

  it('reads the pinned claims from a verified signer', () => {
    const identity = pinnedIdentityOf({
      san: 'https://github.com/acme/a/.github/workflows/release.yml@refs/tags/v1',
      sanType: 'uri',
      issuer: A.issuer,
      sourceRepositoryUri: A.repository,
      sourceRepositoryIdentifier: '11',
      sourceRepositoryOwnerIdentifier: '1',
      buildConfigUri: 'https://github.com/acme/a/.github/workflows/release.yml@refs/tags/v1',
      runnerEnvironment: 'github-hosted',
    });
    expect(identity).toEqual(A);
  });
});

describe('one install', () => {
  it('compares with the committed lock, not with pins made earlier in the same install: the order of fetches does not matter', () => {
    const texts = [false, true].map((reversed) => {
      const ledger = new PinLedger();
      const observations = [observation('p', '2.0.0', FORK, INTEGRITY(2)), observation('p', '1.0.0', A, INTEGRITY(1)), observation('p', '1.5.0', undefined, INTEGRITY(3))];
      for (const o of reversed ? observations.reverse() : observations) ledger.observe(o);
      const { lock, report } = ledger.next(new Map([['p', new Set(['1.0.0', '1.5.0', '2.0.0'])]]));
      expect(report.pinned).toHaveLength(1);
      // No history: nothing fails; the pin is the highest signed version's identity.
      expect(lock.packages.get('p')!.identity).toEqual(FORK);
      return serializePinLock(lock);
    });
    expect(texts[0]).toBe(texts[1]);
  });

  it('under --immutable fails a version the lock does not record', () => {
    const committed = lockOf([observation('a', '1.0.0', A)]);
    const ledger = new PinLedger(committed, true);
    expect(() => ledger.observe(observation('a', '1.0.0', A))).not.toThrow();
    expect(codeOf(() => ledger.observe(observation('a', '1.1.0', A)))).toBe(ErrorCodes.PIN_MISSING);
  });

  it('a pending update accepts the new identity, keeps the reason and prunes removed packages', () => {
    const committed = lockOf([observation('a', '1.0.0', A), observation('gone', '1.0.0', A)]);
    Object.assign(committed.packages.get('a')!, { pendingUpdate: true, reason: 'moved, ACME-1' });
    const ledger = new PinLedger(committed);
    ledger.observe(observation('a', '2.0.0', FORK, INTEGRITY(7)));
    const { lock, report } = ledger.next(new Map([['a', new Set(['2.0.0'])]]));
    expect([...lock.packages.keys()]).toEqual(['a']);
    const pin = lock.packages.get('a')!;
    expect(pin.identity).toEqual(FORK);
    expect(pin.reason).toBe('moved, ACME-1');
    expect(pin.pendingUpdate).toBeUndefined();
    expect(report.pinned[0].reason).toBe('moved, ACME-1');
  });

  it('keeps the blocks of packages a rule does not pin, and versions not installed on this platform', () => {
    const committed = lockOf([observation('off', '1.0.0', A), observation('os', '1.0.0', A)]);
    const ledger = new PinLedger(committed);
    const { lock } = ledger.next(new Map([['off', new Set(['1.0.0'])], ['os', new Set(['1.0.0'])]]), new Set(['off']));
    expect(serializePinLock(lock)).toBe(serializePinLock(committed));
  });
});

describe('the committed lock against what the install verified', () => {
  it('fails an entry edited to name another repository for an installed version, naming the entry, the field and both values', () => {
    const committed = lockOf([observation('a', '1.0.0', A)]);
    committed.packages.get('a')!.identity = { ...A, repository: 'https://github.com/evil/a' };
    const ledger = new PinLedger(committed, true);
    // The recorded version is judged by its own record: observing it passes, the disagreement is found before the lock is kept.
    ledger.observe(observation('a', '1.0.0', A));
    const failure = ledger.disagreement()!;
    expect(failure.code).toBe(ErrorCodes.PIN_LOCK_DISAGREES);
    expect(failure.message).toContain('the entry of a says identity.repository https://github.com/evil/a, but this install verified https://github.com/acme/a for a@1.0.0');
    expect(failure.message).toContain('yarn sigstore pin update a --reason');
    // Not a package this install did not pin (a rule with pin: false, a warned mismatch).
    expect(ledger.disagreement(new Set(['a']))).toBeNull();
  });

  it("fails a version's provenance flag the verification contradicts, both ways", () => {
    const signed = lockOf([observation('s', '1.0.0', A)]);
    signed.packages.get('s')!.versions.get('1.0.0')!.provenance = false;
    const ledger = new PinLedger(signed);
    ledger.observe(observation('s', '1.0.0', A));
    expect(ledger.disagreement()!.message).toContain('says versions.1.0.0.provenance false, but this install verified true');
    const unsigned = lockOf([observation('u', '1.0.0')]);
    unsigned.packages.get('u')!.versions.get('1.0.0')!.provenance = true;
    const second = new PinLedger(unsigned);
    second.observe(observation('u', '1.0.0'));
    expect(second.disagreement()!.code).toBe(ErrorCodes.PIN_LOCK_DISAGREES);
  });

  it('raises no false alarm: older versions signed elsewhere next to the one the pin was taken from, nothing signed installed, a pending update', () => {
    // Pinned from the highest signed version (FORK); 1.0.0 was signed by A: both still installed.
    const mixed = lockOf([observation('p', '1.0.0', A, INTEGRITY(1)), observation('p', '2.0.0', FORK, INTEGRITY(2))]);
    const ledger = new PinLedger(mixed);
    ledger.observe(observation('p', '1.0.0', A, INTEGRITY(1)));
    ledger.observe(observation('p', '2.0.0', FORK, INTEGRITY(2)));
    expect(ledger.disagreement()).toBeNull();
    // Only a version without provenance installed: nothing verified speaks to the identity.
    const partly = lockOf([observation('m', '0.9.0'), observation('m', '1.0.0', A, INTEGRITY(5))]);
    const only = new PinLedger(partly);
    only.observe(observation('m', '0.9.0'));
    expect(only.disagreement()).toBeNull();
    const pending = lockOf([observation('a', '1.0.0', A)]);
    Object.assign(pending.packages.get('a')!, { identity: FORK, pendingUpdate: true, reason: 'moved' });
    const updating = new PinLedger(pending);
    updating.observe(observation('a', '1.0.0', A));
    expect(updating.disagreement()).toBeNull();
  });
});
