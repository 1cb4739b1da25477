/**
 * npm's registry keys (`keys.json`): the `npm:attestations` keys verify the
 * npm publish attestation. A key counts only inside its `validFor` window,
 * judged at the verified log time of the bundle it verifies.
 */
import { crypto as sigstoreCrypto } from '@sigstore/core';
import type { KeyFinderFunc } from '@sigstore/verify';
import { ErrorCodes, SigstorePluginError } from '../errors';

export const NPM_ATTESTATIONS_KEY_USAGE = 'npm:attestations';
/** The keys of npm's registry signatures (`dist.signatures`), one per version of every package. */
export const NPM_SIGNATURES_KEY_USAGE = 'npm:signatures';

export interface NpmKey {
  keyId: string;
  keyUsage: string;
  publicKey: ReturnType<typeof sigstoreCrypto.createPublicKey>;
  validFrom?: Date;
  validUntil?: Date;
}

type Json = Record<string, unknown>;

function invalid(origin: string, path: string, expected: string): never {
  throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_INVALID, `npm keys ${origin}: ${path} ${expected}`, { details: { origin, path } });
}

function optionalDate(value: unknown, path: string, origin: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) invalid(origin, path, 'must be a timestamp');
  return date;
}

/** Parses and validates `keys.json`; throws TRUSTED_ROOT_INVALID. */
export function parseNpmKeys(document: unknown, origin: string): NpmKey[] {
  const keys = (document as Json | null)?.keys;
  if (!Array.isArray(keys)) invalid(origin, 'keys', 'must be an array');
  return keys.map((entry: Json, index: number) => {
    const path = `keys[${index}]`;
    const publicKey = entry?.publicKey as Json | undefined;
    if (typeof entry?.keyId !== 'string' || typeof entry.keyUsage !== 'string') invalid(origin, path, 'needs keyId and keyUsage');
    if (typeof publicKey?.rawBytes !== 'string') invalid(origin, `${path}.publicKey.rawBytes`, 'is required');
    const validFor = (publicKey.validFor ?? {}) as Json;
    const validFrom = optionalDate(validFor.start, `${path}.publicKey.validFor.start`, origin);
    if (!validFrom) invalid(origin, `${path}.publicKey.validFor.start`, 'is required');
    let key;
    try {
      key = sigstoreCrypto.createPublicKey(Buffer.from(publicKey.rawBytes, 'base64'));
    } catch (cause) {
      throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_INVALID, `npm keys ${origin}: ${path}.publicKey.rawBytes is not a public key`, { cause });
    }
    return {
      keyId: entry.keyId,
      keyUsage: entry.keyUsage,
      publicKey: key,
      validFrom,
      validUntil: optionalDate(validFor.end, `${path}.publicKey.validFor.end`, origin),
    };
  });
}

export function isKeyValidAt(key: Pick<NpmKey, 'validFrom' | 'validUntil'>, time: Date): boolean {
  return (!key.validFrom || key.validFrom <= time) && (!key.validUntil || time <= key.validUntil);
}

/**
 * A key finder for @sigstore/verify over keys of one usage. An unknown hint
 * throws KEY_UNKNOWN; a key outside its window makes the library raise
 * PUBLIC_KEY_ERROR, which the verifier maps to KEY_EXPIRED.
 */
export function keyFinder(keys: readonly NpmKey[], usage: string): KeyFinderFunc {
  const byId = new Map(keys.filter((key) => key.keyUsage === usage).map((key) => [key.keyId, key]));
  return (hint: string) => {
    const key = byId.get(hint);
    if (!key) {
      throw new SigstorePluginError(ErrorCodes.KEY_UNKNOWN, `no ${usage} key with id ${JSON.stringify(hint)} in the trusted npm keys`);
    }
    return { publicKey: key.publicKey, validFor: (time: Date) => isKeyValidAt(key, time) };
  };
}
