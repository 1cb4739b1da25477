/**
 * Content encodings of answers: the ones the client asks for (what Node's
 * zlib decodes natively), decoded while streaming (client.ts) or, for a body
 * kept encoded, all at once by whoever reads it (the packument worker), with
 * the size cap on the DECODED bytes either way: a small bomb cannot expand
 * past it.
 */
import zlib from 'zlib';

export type ContentEncoding = 'gzip' | 'deflate' | 'br';

/** What the client asks for. */
export const ACCEPTED_ENCODINGS = 'gzip, deflate, br';

/** The encoding a Content-Encoding header names: undefined for none, null for one we cannot decode. */
export function contentEncodingOf(header: string): ContentEncoding | undefined | null {
  switch (header.trim().toLowerCase()) {
    case 'identity':
    case '':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    default:
      return null;
  }
}

export function streamDecoder(encoding: ContentEncoding): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress {
  if (encoding === 'gzip') return zlib.createGunzip();
  return encoding === 'deflate' ? zlib.createInflate() : zlib.createBrotliDecompress();
}

/**
 * A whole body decoded at once: one call where a stream costs a zlib handle,
 * a round trip to libuv's thread pool per chunk and a copy of the output.
 * Throws `DecodedTooLarge` past `maxBytes`, zlib's own error on a corrupt body.
 */
export function decodeBody(body: Uint8Array, encoding: ContentEncoding, maxBytes: number): Buffer {
  const options = { maxOutputLength: Math.max(1, maxBytes) };
  try {
    if (encoding === 'gzip') return zlib.gunzipSync(body, options);
    return encoding === 'deflate' ? zlib.inflateSync(body, options) : zlib.brotliDecompressSync(body, options);
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE') throw new DecodedTooLarge(maxBytes);
    throw error;
  }
}

export class DecodedTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`answer exceeds the ${maxBytes}-byte limit once decoded`);
    this.name = 'DecodedTooLarge';
  }
}
