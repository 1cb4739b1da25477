/**
 * The bundle parts @sigstore/verify decodes or reads without checking their
 * shape: the leaf certificate and RFC 3161 timestamps (DER, parsed by
 * toSignedEntity), the log entries' integrated times and inclusion-proof
 * checkpoints. A hostile encoding there throws a bare library exception
 * (ASN1ParseError, RangeError, TypeError); here it gets the code that says
 * what is wrong, with the library's detail kept in the message and `cause`.
 */
import type { Bundle } from '@sigstore/bundle';
import { printable } from '../printable';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { toSignedEntity, VerificationError, type SignedEntity } from '@sigstore/verify';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { parseCertificate } from './der';

function malformed(what: string, cause: unknown): SigstorePluginError {
  return new SigstorePluginError(ErrorCodes.BUNDLE_MALFORMED, `${what} does not parse: ${printable((cause as Error)?.message ?? String(cause))}`, { cause });
}

function parseFails(parse: () => unknown): unknown {
  try {
    parse();
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * The timestamp fields the library decodes lazily and reads outside its own
 * error handling (the rest are read inside a try that ends in TIMESTAMP_ERROR).
 */
function decodeTimestampFields(timestamp: RFC3161Timestamp): void {
  void timestamp.signingTime;
  void timestamp.signerSerialNumber;
  void timestamp.signerIssuer;
}

/** The signing certificate's bytes exactly as the bundle carries them (undefined for a key-signed bundle). */
export function leafBytes(bundle: Bundle): Uint8Array | undefined {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'certificate') return material.certificate.rawBytes;
  if (material.$case === 'x509CertificateChain') return material.x509CertificateChain.certificates[0]?.rawBytes;
  return undefined;
}

/** Which DER part of the bundle failed to parse, or undefined when none does (the failure was something else). */
function unparsablePart(bundle: Bundle): SigstorePluginError | undefined {
  const leaf = leafBytes(bundle);
  if (leaf) {
    const failure = parseFails(() => X509Certificate.parse(Buffer.from(leaf)));
    if (failure) return malformed('the signing certificate', failure);
  }
  const timestamps = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
  for (const [index, timestamp] of timestamps.entries()) {
    const failure = parseFails(() => decodeTimestampFields(RFC3161Timestamp.parse(Buffer.from(timestamp.signedTimestamp))));
    if (failure) return malformed(`RFC 3161 timestamp ${index}`, failure);
  }
  return undefined;
}

/**
 * The library's toSignedEntity with the leaf parsed by der.ts (the library's
 * tree, built faster): the library gets the bundle without its certificate,
 * so that it parses the rest (signature content, log entries, timestamps)
 * as usual, and the certificate is put back parsed.
 */
function toSignedEntityParsingLeafFast(bundle: Bundle, artifact?: Buffer): SignedEntity {
  const leaf = leafBytes(bundle);
  if (!leaf) return toSignedEntity(bundle, artifact);
  const keyless: Bundle = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, content: { $case: 'publicKey', publicKey: { hint: '' } } } };
  return { ...toSignedEntity(keyless, artifact), key: { $case: 'certificate', certificate: parseCertificate(leaf) } };
}

/**
 * The library's toSignedEntity, with a DER part that does not parse (or an
 * RFC 3161 timestamp whose fields do not decode) refused as BUNDLE_MALFORMED.
 * Only on failure are the parts parsed again to name the culprit.
 */
export function signedEntityOf(bundle: Bundle, artifact?: Buffer): SignedEntity {
  let entity: SignedEntity;
  try {
    entity = toSignedEntityParsingLeafFast(bundle, artifact);
    for (const timestamp of entity.timestamps) if (timestamp.$case === 'timestamp-authority') decodeTimestampFields(timestamp.timestamp);
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw unparsablePart(bundle) ?? error;
  }
  return entity;
}

/**
 * Log entry fields the library turns into dates or dereferences unchecked:
 * an integrated time that is no time (Invalid Date) and an inclusion proof
 * without its checkpoint.
 */
export function requireReadableLogEntries(bundle: Bundle): void {
  for (const [index, entry] of bundle.verificationMaterial.tlogEntries.entries()) {
    // The library's own conversion (toSignedEntity skips an empty or '0' time).
    if (entry.integratedTime && entry.integratedTime !== '0' && Number.isNaN(new Date(Number(entry.integratedTime) * 1000).getTime())) {
      throw new SigstorePluginError(ErrorCodes.BUNDLE_MALFORMED, `transparency log entry ${index}: integratedTime ${JSON.stringify(entry.integratedTime)} is not a time`);
    }
    if (entry.inclusionProof && !entry.inclusionProof.checkpoint) {
      throw new SigstorePluginError(ErrorCodes.TLOG_CHECKPOINT, `transparency log entry ${index}: the inclusion proof carries no checkpoint`);
    }
  }
}
