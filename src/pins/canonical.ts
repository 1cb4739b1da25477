/**
 * A pin lock in exactly the text `serializePinLock` writes, read without a
 * YAML parser: for a lock of 1,000 packages the `yaml` parser costs ~150 ms of
 * every install, this reader a few. Accepted only when writing the result
 * back gives the very same text and every value is one the YAML reader would
 * accept; anything else (a hand edit, a comment, other quoting, a bad value)
 * returns null and goes to the YAML reader, which validates and explains it.
 */
import { serializePinLock } from './serialize';
import { PINNED_FIELDS, PIN_LOCK_VERSION, emptyLock, type PackagePin, type PinLock, type PinnedIdentity } from './model';

const QUOTED = '("(?:[^"\\\\]|\\\\.)*")';
const PACKAGE_LINE = new RegExp(`^${QUOTED}:$`);
const VERSION_LINE = new RegExp(`^    ${QUOTED}: \\{ integrity: ${QUOTED}, provenance: (true|false) \\}$`);
const FIELD_LINE = new RegExp(`^  (\\w+): ${QUOTED}$`);
const FIXED_LINES = new Set(['', '__metadata:', `  version: ${PIN_LOCK_VERSION}`, '  versions:']);

/** A JSON string literal's value; empty or malformed: undefined. */
function unquote(literal: string): string | undefined {
  try {
    const value = JSON.parse(literal) as unknown;
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function readCanonicalPinLock(text: string): PinLock | null {
  const lock = emptyLock();
  let pin: PackagePin | undefined;
  for (const line of text.split('\n')) {
    if (FIXED_LINES.has(line) || line.startsWith('# ')) continue;
    const accepted = pin === undefined ? undefined : readPackageLine(pin, line);
    if (accepted) continue;
    if (accepted === false) return null;
    const name = PACKAGE_LINE.exec(line)?.[1];
    const unquoted = name === undefined ? undefined : unquote(name);
    if (unquoted === undefined) return null;
    pin = { name: unquoted, versions: new Map() };
    lock.packages.set(unquoted, pin);
  }
  // The YAML reader refuses a package without versions (`versions:` reads as null).
  for (const read of lock.packages.values()) if (read.versions.size === 0) return null;
  return serializePinLock(lock) === text ? lock : null;
}

/** true: the line belongs to this package and was read; false: it is invalid; undefined: not a line of a package block. */
function readPackageLine(pin: PackagePin, line: string): boolean | undefined {
  if (line === '  provenance: true') return (pin.identity = {}), true;
  if (line === '  provenance: false' || line === '  pendingUpdate: true') {
    if (line === '  pendingUpdate: true') pin.pendingUpdate = true;
    return true;
  }
  const version = VERSION_LINE.exec(line);
  if (version) {
    const [key, integrity] = [unquote(version[1]), unquote(version[2])];
    if (key === undefined || integrity === undefined || !integrity.startsWith('sha512-')) return false;
    pin.versions.set(key, { integrity, provenance: version[3] === 'true' });
    return true;
  }
  const field = FIELD_LINE.exec(line);
  if (!field) return undefined;
  const value = unquote(field[2]);
  if (value === undefined) return false;
  if (field[1] === 'reason') pin.reason = value;
  else if (pin.identity !== undefined && (PINNED_FIELDS as readonly string[]).includes(field[1])) pin.identity[field[1] as keyof PinnedIdentity] = value;
  else return false;
  return true;
}
