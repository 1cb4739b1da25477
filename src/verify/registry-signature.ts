/**
 * npm registry signatures (`dist.signatures`): ECDSA P-256 over
 * `<name>@<version>:<integrity>` with an `npm:signatures` key, checked here
 * against the integrity of THE tarball installed (never the integrity the
 * metadata claims), as `npm audit signatures` checks them:
 * - a signature whose keyid no trusted key has: REGISTRY_KEY_UNKNOWN (npm's
 *   EMISSINGSIGNATUREKEY), unless another signature verified with a known key
 *   (a registry may sign with a key rolled out after our copy of keys.json);
 * - a known key outside its validity window at the time given: REGISTRY_KEY_EXPIRED;
 * - a signature a known key does not verify: REGISTRY_SIGNATURE_INVALID
 *   (tampered tarball, or metadata naming other bytes).
 * Knows nothing of Yarn or of where the signatures came from.
 */
import { createVerify } from 'node:crypto';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { printable } from '../printable';
import { isKeyValidAt, NPM_SIGNATURES_KEY_USAGE, type NpmKey } from '../trust/npm-keys';

export interface RegistrySignatureInput {
  name: string;
  version: string;
  /** sha512 of the installed tarball, hex. */
  sha512Hex: string;
  /** `dist.signatures` as served: `[{ keyid, sig }]`. */
  signatures: unknown;
  /** The trusted npm keys (only `npm:signatures` ones are used). */
  keys: readonly NpmKey[];
  /** When the key had to be valid, and where that time comes from (for messages). */
  time: Date;
  timeSource: string;
  /** Where the signatures were read, for messages. */
  source: string;
}

export interface VerifiedRegistrySignature {
  keyId: string;
  /** The integrity the signature covers: the installed tarball's, `sha512-<base64>`. */
  integrity: string;
}

/** `sha512-<base64>` of a hex sha512, as npm writes `dist.integrity`. */
export function integrityOfSha512Hex(sha512Hex: string): string {
  return `sha512-${Buffer.from(sha512Hex, 'hex').toString('base64')}`;
}

interface SignatureEntry {
  keyid: string;
  sig: string;
}

function parseSignatures(value: unknown, fail: (why: string) => never): SignatureEntry[] {
  if (!Array.isArray(value) || value.length === 0) fail('`signatures` is not a non-empty list');
  return value.map((entry, index) => {
    if (typeof entry?.keyid !== 'string' || typeof entry?.sig !== 'string') fail(`signatures[${index}] needs string keyid and sig`);
    return { keyid: entry.keyid, sig: entry.sig };
  });
}

/** Verifies the registry signatures of one installed tarball; throws the coded failure. */
export function verifyRegistrySignatures(input: RegistrySignatureInput): VerifiedRegistrySignature {
  const subject = `${input.name}@${input.version}`;
  const error = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes], why: string): never => {
    throw new SigstorePluginError(code, `${subject}: registry signature ${why} (from ${input.source})`, { subject, details: { source: input.source } });
  };
  const signatures = parseSignatures(input.signatures, (why) => error(ErrorCodes.REGISTRY_SIGNATURE_INVALID, why));
  const integrity = integrityOfSha512Hex(input.sha512Hex);
  const message = Buffer.from(`${subject}:${integrity}`);
  const byId = new Map(input.keys.filter((key) => key.keyUsage === NPM_SIGNATURES_KEY_USAGE).map((key) => [key.keyId, key]));
  let verified: VerifiedRegistrySignature | undefined;
  const unknown: string[] = [];
  for (const signature of signatures) {
    const key = byId.get(signature.keyid);
    if (!key) {
      unknown.push(signature.keyid);
      continue;
    }
    // A signature by a known key must verify whatever the others do: a bad one is a tampering signal.
    if (!isKeyValidAt(key, input.time)) {
      error(ErrorCodes.REGISTRY_KEY_EXPIRED, `by key ${key.keyId}, which is not valid at ${input.time.toISOString()} (${input.timeSource}; valid ${key.validFrom?.toISOString() ?? '-'} to ${key.validUntil?.toISOString() ?? 'open'})`);
    }
    const verifier = createVerify('SHA256');
    verifier.update(message);
    let valid = false;
    try {
      valid = verifier.verify(key.publicKey, Buffer.from(signature.sig, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) error(ErrorCodes.REGISTRY_SIGNATURE_INVALID, `by key ${key.keyId} does not verify over the installed tarball's integrity ${integrity}: the tarball is not the one the registry signed`);
    verified ??= { keyId: key.keyId, integrity };
  }
  if (!verified) error(ErrorCodes.REGISTRY_KEY_UNKNOWN, `by key ${unknown.map(printable).join(', ')}, which no trusted npm:signatures key has`);
  return verified!;
}
