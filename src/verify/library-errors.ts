/**
 * Maps @sigstore/bundle and @sigstore/verify failures onto our stable codes.
 * Anything unrecognised still fails (INTERNAL): never a silent pass.
 */
import { ErrorCodes, SigstorePluginError, type ErrorCode } from '../errors';
import { printable } from '../printable';

interface LibraryError {
  code?: string;
  message?: string;
}

function codeFor(error: LibraryError): ErrorCode {
  const message = error.message ?? '';
  switch (error.code) {
    case 'CERTIFICATE_ERROR':
      return /SCT/i.test(message) ? ErrorCodes.CERTIFICATE_SCT : ErrorCodes.CERTIFICATE_CHAIN;
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return /checkpoint/i.test(message) ? ErrorCodes.TLOG_CHECKPOINT : ErrorCodes.TLOG_INCLUSION_PROOF;
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return ErrorCodes.TLOG_SET;
    case 'TLOG_BODY_ERROR':
      return ErrorCodes.TLOG_ENTRY_MISMATCH;
    case 'TLOG_MISSING_INCLUSION_ERROR':
    case 'TLOG_ERROR':
      return ErrorCodes.TLOG_MISSING;
    case 'TIMESTAMP_ERROR':
      return ErrorCodes.TIMESTAMP;
    case 'SIGNATURE_ERROR':
      return ErrorCodes.SIGNATURE;
    case 'PUBLIC_KEY_ERROR':
      return /not valid for timestamp/i.test(message) ? ErrorCodes.KEY_EXPIRED : ErrorCodes.KEY_UNKNOWN;
    case 'UNTRUSTED_SIGNER_ERROR':
      return ErrorCodes.IDENTITY_MISMATCH;
    default:
      return ErrorCodes.INTERNAL;
  }
}

/** Our own coded errors pass through; library errors get a code and the package named. */
export function toPluginError(error: unknown, subject: string): SigstorePluginError {
  if (error instanceof SigstorePluginError) {
    if (error.subject) return error;
    return new SigstorePluginError(error.code, `${subject}: ${error.message}`, { subject, cause: error.cause, details: error.details });
  }
  const libraryError = (error ?? {}) as LibraryError;
  const code = codeFor(libraryError);
  // A library message may quote the bundle's bytes.
  const detail = printable(libraryError.message ?? String(error));
  return new SigstorePluginError(code, `${subject}: ${code === ErrorCodes.INTERNAL ? 'unexpected verification failure' : 'verification failed'}: ${detail}`, {
    subject,
    cause: error,
    details: libraryError.code ? { libraryCode: libraryError.code } : undefined,
  });
}
