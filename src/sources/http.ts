/** Size cap, nesting cap and parsing shared by every bundle source: each failure names the package and the URL. */
import { ErrorCodes, SigstorePluginError } from '../errors';
import { printable } from '../printable';
import type { SourceOptions } from './types';

/**
 * Deepest nesting accepted in a fetched JSON document. A Sigstore bundle in an
 * npm attestations document nests about 8 levels, a packument about 6; a
 * document nested thousands of levels deep only exists to exhaust a stack
 * (structured cloning to the verification worker, recursive walkers).
 */
export const MAX_JSON_DEPTH = 64;

/** `body`: a Buffer, or the bytes a worker was handed (read in place, not copied). */
export function parseJsonBody(body: Uint8Array, maxBytes: number, subject: string, url: string): unknown {
  if (body.length > maxBytes) throw oversized(subject, url, body.length, maxBytes);
  if (nestingExceeds(body, MAX_JSON_DEPTH)) {
    throw new SigstorePluginError(ErrorCodes.DOCUMENT_TOO_DEEP, `${subject}: the document at ${url} nests deeper than ${MAX_JSON_DEPTH} levels; refused`, { subject, details: { url } });
  }
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw sourceError(subject, url, 'answer is not valid JSON', error);
  }
}

export function oversized(subject: string, url: string, bytes: number, maxBytes: number): SigstorePluginError {
  return sourceError(subject, url, `answer of ${bytes} bytes exceeds the ${maxBytes}-byte limit`);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether a JSON text nests arrays/objects deeper than `limit`, scanned over
 * its bytes without parsing (UTF-8 continuation bytes never equal these ASCII
 * ones). A malformed text is left to JSON.parse to reject.
 */
export function nestingExceeds(text: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
  }
  return false;
}

export function sourceError(subject: string, url: string, cause: string, error?: unknown): SigstorePluginError {
  const detail = error instanceof Error && !(error instanceof SigstorePluginError) ? `: ${printable(error.message)}` : '';
  return new SigstorePluginError(ErrorCodes.SOURCE_FETCH_FAILED, `${subject}: fetching ${url} failed: ${cause}${detail}`, {
    subject,
    cause: error,
    details: { url },
  });
}

/** Fetches `path` on `registry` with its credentials; `null` on 404. Failures become the package's source error. */
export function registryGet(options: SourceOptions, subject: string, registry: string, path: string): Promise<Buffer | null> {
  return get(subject, registry + path, () => options.transport.registryGet(registry, path));
}

export async function get<T>(subject: string, url: string, request: () => Promise<T | null>): Promise<T | null> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof Error && error.name === 'SigstorePluginError') throw error;
    throw sourceError(subject, url, error instanceof Error ? error.message : String(error));
  }
}
