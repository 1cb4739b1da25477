/**
 * Turns a failed TUF refresh into the plugin's coded errors. The TUF client
 * wraps some failures into plain messages (snapshot and targets loading), so
 * both the error class and the message are read.
 */
import { BadVersionError, EqualVersionError, ExpiredMetadataError } from 'tuf-js/dist/error';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { FetchRecord } from './tuf-fetch';

export type RefreshFailure =
  | { kind: 'unreachable'; cause: Error }
  | { kind: 'attack'; error: SigstorePluginError };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function classifyRefreshFailure(error: unknown, record: FetchRecord, mirrorUrl: string): RefreshFailure {
  const message = messageOf(error);
  if (error instanceof ExpiredMetadataError || /\bis expired\b/.test(message)) {
    return attack(ErrorCodes.TUF_EXPIRED, `TUF metadata from ${mirrorUrl} has expired (${message}): refusing a frozen repository`, error);
  }
  const rollback = (error instanceof BadVersionError && !(error instanceof EqualVersionError)) || /less than current version/.test(message);
  if (rollback) {
    return attack(ErrorCodes.TUF_ROLLBACK, `TUF metadata from ${mirrorUrl} is older than the cached copy (${message}): refusing a rollback`, error);
  }
  if (record.unreachable) return { kind: 'unreachable', cause: record.unreachable };
  return attack(ErrorCodes.TUF_METADATA_INVALID, `TUF metadata from ${mirrorUrl} failed verification: ${message}`, error);
}

function attack(code: SigstorePluginError['code'], message: string, cause: unknown): RefreshFailure {
  return { kind: 'attack', error: new SigstorePluginError(code, message, { cause }) };
}
