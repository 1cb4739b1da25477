/**
 * Parsing a serialized Sigstore bundle into the protobuf shape, with the two
 * shape failures told apart: an unknown media type vs. a malformed document.
 */
import { bundleFromJSON, BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE, type Bundle } from '@sigstore/bundle';
import { printable } from '../printable';
import { ErrorCodes, SigstorePluginError } from '../errors';

const KNOWN_MEDIA_TYPES: ReadonlySet<string> = new Set([BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE]);

export function parseBundle(serialized: unknown, subject: string): Bundle {
  if (typeof serialized !== 'object' || serialized === null || Array.isArray(serialized)) {
    throw new SigstorePluginError(ErrorCodes.BUNDLE_MALFORMED, `${subject}: the Sigstore bundle is not a JSON object`, { subject });
  }
  const mediaType = (serialized as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !KNOWN_MEDIA_TYPES.has(mediaType)) {
    throw new SigstorePluginError(ErrorCodes.BUNDLE_MEDIA_TYPE_UNKNOWN, `${subject}: unknown Sigstore bundle media type ${JSON.stringify(mediaType)}`, { subject });
  }
  try {
    return bundleFromJSON(serialized);
  } catch (cause) {
    throw new SigstorePluginError(ErrorCodes.BUNDLE_MALFORMED, `${subject}: malformed Sigstore bundle (${printable((cause as Error).message)})`, { subject, cause });
  }
}
