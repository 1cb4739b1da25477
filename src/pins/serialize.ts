/**
 * Deterministic text of a pin lock: packages sorted by name, one block each,
 * fields in a fixed order, every string JSON-quoted (valid YAML). Two installs
 * of the same project write the same bytes; two branches adding neighbouring
 * packages touch separate blocks.
 */
import { PINNED_FIELDS, PIN_LOCK_VERSION, type PackagePin, type PinLock } from './model';

const HEADER = [
  '# sigstore.lock: who signed each dependency, as verified by yarn-plugin-sigstore.',
  '# Commit it and review its changes like yarn.lock. It is a record, not a source of trust.',
  '# Accept a change on purpose with `yarn sigstore pin update <package> --reason "..."`.',
];

const quote = (value: string) => JSON.stringify(value);

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function serializePinLock(lock: PinLock): string {
  const blocks = [HEADER.join('\n'), `__metadata:\n  version: ${PIN_LOCK_VERSION}`];
  for (const name of [...lock.packages.keys()].sort(compareNames)) blocks.push(serializePackage(lock.packages.get(name)!));
  return `${blocks.join('\n\n')}\n`;
}

function serializePackage(pin: PackagePin): string {
  const lines = [`${quote(pin.name)}:`, `  provenance: ${pin.identity !== undefined}`];
  for (const field of PINNED_FIELDS) {
    const value = pin.identity?.[field];
    if (value !== undefined) lines.push(`  ${field}: ${quote(value)}`);
  }
  if (pin.reason !== undefined) lines.push(`  reason: ${quote(pin.reason)}`);
  if (pin.pendingUpdate) lines.push('  pendingUpdate: true');
  lines.push('  versions:');
  for (const version of [...pin.versions.keys()].sort(compareNames)) {
    const entry = pin.versions.get(version)!;
    lines.push(`    ${quote(version)}: { integrity: ${quote(entry.integrity)}, provenance: ${entry.provenance} }`);
  }
  return lines.join('\n');
}
