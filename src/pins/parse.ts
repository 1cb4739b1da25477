/**
 * Reads a pin lock. Git conflict markers are resolved the way Yarn resolves
 * them in yarn.lock: both sides are read as whole files and merged into the
 * union of their pins. Pins that truly disagree fail (PIN_CONFLICT).
 */
import { parseStrictYaml as parseYaml } from '../strict-yaml';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { readCanonicalPinLock } from './canonical';
import { PINNED_FIELDS, PIN_LOCK_VERSION, emptyLock, type PackagePin, type PinLock, type PinnedIdentity, type VersionPin } from './model';

export interface ParsedPinLock {
  lock: PinLock;
  /** Whether the text held git conflict markers (it must then be rewritten). */
  hadConflict: boolean;
}

export function parsePinLock(text: string, file = 'sigstore.lock'): ParsedPinLock {
  const sides = splitConflict(text);
  if (sides === null) return { lock: parseDocument(text, file), hadConflict: false };
  return { lock: mergeLocks(parseDocument(sides.ours, `${file} (our side)`), parseDocument(sides.theirs, `${file} (their side)`), file), hadConflict: true };
}

/** Both sides of every conflict hunk (diff3 base sections dropped), or null without markers. */
export function splitConflict(text: string): { ours: string; theirs: string } | null {
  if (!/^<{7}(?: |$)/m.test(text)) return null;
  const ours: string[] = [];
  const theirs: string[] = [];
  let state: 'both' | 'ours' | 'base' | 'theirs' = 'both';
  for (const line of text.split('\n')) {
    if (/^<{7}(?: |$)/.test(line) && state === 'both') state = 'ours';
    else if (/^\|{7}(?: |$)/.test(line) && state === 'ours') state = 'base';
    else if (/^={7}$/.test(line) && (state === 'ours' || state === 'base')) state = 'theirs';
    else if (/^>{7}(?: |$)/.test(line) && state === 'theirs') state = 'both';
    else {
      if (state === 'both' || state === 'ours') ours.push(line);
      if (state === 'both' || state === 'theirs') theirs.push(line);
    }
  }
  if (state !== 'both') throw invalid('', 'a closed conflict hunk (<<<<<<< ... ======= ... >>>>>>>)', 'an unterminated one');
  return { ours: ours.join('\n'), theirs: theirs.join('\n') };
}

function invalid(file: string, expected: string, found: unknown): SigstorePluginError {
  const shown = typeof found === 'string' ? found : JSON.stringify(found);
  return new SigstorePluginError(ErrorCodes.PIN_LOCK_INVALID, `${file}: expected ${expected}, found ${shown}; fix or delete the file and run \`yarn install\` again`);
}

const isDict = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function parseDocument(text: string, file: string): PinLock {
  const canonical = readCanonicalPinLock(text);
  if (canonical !== null) return canonical;
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw invalid(file, 'YAML', (error as Error).message);
  }
  const lock = emptyLock();
  if (document === null || document === undefined) return lock;
  if (!isDict(document)) throw invalid(file, 'a mapping of packages', document);
  for (const [name, value] of Object.entries(document)) {
    if (name === '__metadata') {
      if (!isDict(value) || value.version !== PIN_LOCK_VERSION) throw invalid(`${file}: __metadata.version`, String(PIN_LOCK_VERSION), isDict(value) ? value.version : value);
      continue;
    }
    lock.packages.set(name, parsePackage(name, value, file));
  }
  return lock;
}

function parsePackage(name: string, value: unknown, file: string): PackagePin {
  const at = `${file}: ${name}`;
  if (!isDict(value)) throw invalid(at, 'a package block', value);
  const string = (key: string): string | undefined => {
    const field = value[key];
    if (field === undefined) return undefined;
    if (typeof field !== 'string' || field === '') throw invalid(`${at}.${key}`, 'a non-empty string', field);
    return field;
  };
  if (typeof value.provenance !== 'boolean') throw invalid(`${at}.provenance`, 'true or false', value.provenance);
  const identity: PinnedIdentity = {};
  for (const field of PINNED_FIELDS) {
    const claim = string(field);
    if (claim !== undefined) identity[field] = claim;
  }
  if (!value.provenance && Object.keys(identity).length > 0) throw invalid(at, 'no identity fields with `provenance: false`', Object.keys(identity).join(', '));
  const pin: PackagePin = { name, versions: new Map(), ...(value.provenance ? { identity } : {}) };
  const reason = string('reason');
  if (reason !== undefined) pin.reason = reason;
  if (value.pendingUpdate !== undefined) {
    if (value.pendingUpdate !== true) throw invalid(`${at}.pendingUpdate`, 'true (or no key)', value.pendingUpdate);
    pin.pendingUpdate = true;
  }
  if (!isDict(value.versions)) throw invalid(`${at}.versions`, 'a mapping of versions', value.versions);
  for (const [version, entry] of Object.entries(value.versions)) pin.versions.set(version, parseVersion(entry, `${at}.versions.${version}`));
  return pin;
}

function parseVersion(entry: unknown, at: string): VersionPin {
  if (!isDict(entry) || typeof entry.integrity !== 'string' || !entry.integrity.startsWith('sha512-') || typeof entry.provenance !== 'boolean') {
    throw invalid(at, '{ integrity: "sha512-...", provenance: true|false }', entry);
  }
  return { integrity: entry.integrity, provenance: entry.provenance };
}

/** The union of two locks; a package present on both sides must agree, versions are united. */
export function mergeLocks(ours: PinLock, theirs: PinLock, file = 'sigstore.lock'): PinLock {
  const merged = emptyLock();
  for (const pin of ours.packages.values()) merged.packages.set(pin.name, pin);
  for (const pin of theirs.packages.values()) {
    const mine = merged.packages.get(pin.name);
    merged.packages.set(pin.name, mine ? mergePackage(mine, pin, file) : pin);
  }
  return merged;
}

function mergePackage(ours: PackagePin, theirs: PackagePin, file: string): PackagePin {
  const head = (pin: PackagePin) => JSON.stringify([pin.identity ?? null, pin.reason ?? null, pin.pendingUpdate ?? false]);
  if (head(ours) !== head(theirs)) throw conflict(file, ours.name, `the two sides pin different identities: ${head(ours)} and ${head(theirs)}`);
  const versions = new Map(ours.versions);
  for (const [version, entry] of theirs.versions) {
    const mine = versions.get(version);
    if (mine && (mine.integrity !== entry.integrity || mine.provenance !== entry.provenance)) {
      throw conflict(file, `${ours.name}@${version}`, `the two sides record different tarballs: ${mine.integrity} and ${entry.integrity}`);
    }
    versions.set(version, entry);
  }
  return { ...ours, versions };
}

function conflict(file: string, subject: string, cause: string): SigstorePluginError {
  return new SigstorePluginError(ErrorCodes.PIN_CONFLICT, `${file}: ${subject}: cannot merge the conflict: ${cause}; resolve this block by hand`, { subject });
}
