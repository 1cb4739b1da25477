/**
 * Structural validation of a Sigstore trusted root, done once when it is loaded.
 * `@sigstore/verify` treats a missing validity start as "since the beginning of
 * time"; the conformance suite (and common sense) says such a root is malformed.
 */
import { ErrorCodes, SigstorePluginError } from '../errors';

type Json = Record<string, unknown>;

function fail(origin: string, path: string, expected: string): never {
  throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_INVALID, `trusted root ${origin}: ${path} ${expected}`, {
    details: { origin, path },
  });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listAt(root: Json, key: string, origin: string): Json[] {
  const value = root[key];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isObject)) fail(origin, key, 'must be an array of objects');
  return value as Json[];
}

function requireValidityStart(validFor: unknown, path: string, origin: string): void {
  if (!isObject(validFor) || typeof validFor.start !== 'string' || Number.isNaN(Date.parse(validFor.start))) {
    fail(origin, `${path}.validFor.start`, 'is required (a log or CA without a validity start is never trusted)');
  }
  if (validFor.end !== undefined && validFor.end !== null && (typeof validFor.end !== 'string' || Number.isNaN(Date.parse(validFor.end)))) {
    fail(origin, `${path}.validFor.end`, 'must be a timestamp');
  }
}

function validateLogs(root: Json, key: 'tlogs' | 'ctlogs', origin: string): void {
  listAt(root, key, origin).forEach((log, index) => {
    const path = `${key}[${index}]`;
    if (!isObject(log.publicKey) || typeof log.publicKey.rawBytes !== 'string') fail(origin, `${path}.publicKey.rawBytes`, 'is required');
    if (!isObject(log.logId) || typeof log.logId.keyId !== 'string') fail(origin, `${path}.logId.keyId`, 'is required');
    requireValidityStart(log.publicKey.validFor, `${path}.publicKey`, origin);
  });
}

function validateAuthorities(root: Json, key: 'certificateAuthorities' | 'timestampAuthorities', origin: string): void {
  listAt(root, key, origin).forEach((authority, index) => {
    const path = `${key}[${index}]`;
    const chain = authority.certChain;
    if (!isObject(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) {
      fail(origin, `${path}.certChain.certificates`, 'must hold at least one certificate');
    }
    requireValidityStart(authority.validFor, path, origin);
  });
}

/** Throws TRUSTED_ROOT_INVALID naming the first offending field. */
export function validateTrustedRoot(root: unknown, origin: string): void {
  if (!isObject(root)) fail(origin, '(document)', 'must be a JSON object');
  if (typeof root.mediaType !== 'string' || !root.mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    fail(origin, 'mediaType', 'must be a Sigstore trusted root media type');
  }
  validateLogs(root, 'tlogs', origin);
  validateLogs(root, 'ctlogs', origin);
  validateAuthorities(root, 'certificateAuthorities', origin);
  validateAuthorities(root, 'timestampAuthorities', origin);
}
