/**
 * Every failure the plugin can report carries a stable code. Codes are part of
 * the public interface: docs/errors.md lists each one, and
 * `--json` output and the evidence file carry them verbatim.
 */
export const ErrorCodes = {
  // Bundle and attestation document shape
  BUNDLE_MALFORMED: 'BUNDLE_MALFORMED',
  BUNDLE_MEDIA_TYPE_UNKNOWN: 'BUNDLE_MEDIA_TYPE_UNKNOWN',
  ATTESTATIONS_MALFORMED: 'ATTESTATIONS_MALFORMED',
  STATEMENT_MALFORMED: 'STATEMENT_MALFORMED',
  PREDICATE_TYPE_MISMATCH: 'PREDICATE_TYPE_MISMATCH',
  // Binding to the installed bytes
  SUBJECT_NAME_MISMATCH: 'SUBJECT_NAME_MISMATCH',
  SUBJECT_DIGEST_MISMATCH: 'SUBJECT_DIGEST_MISMATCH',
  // Cryptographic checks
  CERTIFICATE_CHAIN: 'CERTIFICATE_CHAIN',
  CERTIFICATE_SCT: 'CERTIFICATE_SCT',
  TLOG_INCLUSION_PROOF: 'TLOG_INCLUSION_PROOF',
  TLOG_CHECKPOINT: 'TLOG_CHECKPOINT',
  TLOG_SET: 'TLOG_SET',
  TLOG_MISSING: 'TLOG_MISSING',
  TLOG_ENTRY_MISMATCH: 'TLOG_ENTRY_MISMATCH',
  TIMESTAMP: 'TIMESTAMP',
  SIGNATURE: 'SIGNATURE',
  SIGNER_KIND: 'SIGNER_KIND',
  KEY_UNKNOWN: 'KEY_UNKNOWN',
  KEY_EXPIRED: 'KEY_EXPIRED',
  PROVENANCE_DISAGREE: 'PROVENANCE_DISAGREE',
  IDENTITY_MISMATCH: 'IDENTITY_MISMATCH',
  // npm registry signatures (`dist.signatures`) over the installed tarball's integrity
  REGISTRY_SIGNATURE_INVALID: 'REGISTRY_SIGNATURE_INVALID',
  REGISTRY_SIGNATURE_MISSING: 'REGISTRY_SIGNATURE_MISSING',
  REGISTRY_KEY_UNKNOWN: 'REGISTRY_KEY_UNKNOWN',
  REGISTRY_KEY_EXPIRED: 'REGISTRY_KEY_EXPIRED',
  // Trust material
  TRUSTED_ROOT_INVALID: 'TRUSTED_ROOT_INVALID',
  // Policy
  POLICY_INVALID: 'POLICY_INVALID',
  POLICY_NOT_FOUND: 'POLICY_NOT_FOUND',
  POLICY_DENIED: 'POLICY_DENIED',
  // A version without provenance after earlier versions of its release line carried it (registry history, not yet pinned)
  PROVENANCE_DOWNGRADE: 'PROVENANCE_DOWNGRADE',
  // Sources and transport
  SOURCE_FETCH_FAILED: 'SOURCE_FETCH_FAILED',
  // Offline (enableOfflineMode, enableNetwork: false) and no answer cached for the package
  SOURCE_OFFLINE: 'SOURCE_OFFLINE',
  SOURCE_DENIED: 'SOURCE_DENIED',
  // A JSON document nested deeper than any real one (a parser or structured-clone stack exhaustion attempt)
  DOCUMENT_TOO_DEEP: 'DOCUMENT_TOO_DEEP',
  LOCKFILE_PROTOCOL_MISMATCH: 'LOCKFILE_PROTOCOL_MISMATCH',
  CACHE_BINDING_MISSING: 'CACHE_BINDING_MISSING',
  INTERNAL: 'INTERNAL',
  // Trust material freshness (TUF)
  TUF_UNREACHABLE: 'TUF_UNREACHABLE',
  TUF_EXPIRED: 'TUF_EXPIRED',
  TUF_ROLLBACK: 'TUF_ROLLBACK',
  TUF_METADATA_INVALID: 'TUF_METADATA_INVALID',
  TRUSTED_ROOT_TOO_OLD: 'TRUSTED_ROOT_TOO_OLD',
  TRUST_CONFIG_INVALID: 'TRUST_CONFIG_INVALID',
  // A YARN_SIGSTORE_* variable (or an rc file chosen by YARN_RC_FILENAME) that would loosen the committed configuration
  ENVIRONMENT_OVERRIDE_REFUSED: 'ENVIRONMENT_OVERRIDE_REFUSED',
  // What registry metadata or yarn.lock give a package differs from what its verified package.json makes
  MANIFEST_MISMATCH: 'MANIFEST_MISMATCH',
  // Commands
  LOCKFILE_STALE: 'LOCKFILE_STALE',
  PACKAGE_NOT_FOUND: 'PACKAGE_NOT_FOUND',
  NOT_A_REGISTRY_PACKAGE: 'NOT_A_REGISTRY_PACKAGE',
  POLICY_EXISTS: 'POLICY_EXISTS',
  // `policy allow` / `policy trust`: a policy the command does not edit (JSON, JavaScript, package.json)
  POLICY_NOT_EDITABLE: 'POLICY_NOT_EDITABLE',
  // `policy allow` / `policy trust`: the change asked for cannot be made safely (no provenance to trust, still denied)
  POLICY_EDIT_REFUSED: 'POLICY_EDIT_REFUSED',
  // Identity pinning (sigstore.lock)
  PIN_IDENTITY_CHANGED: 'PIN_IDENTITY_CHANGED',
  PIN_PROVENANCE_LOST: 'PIN_PROVENANCE_LOST',
  PIN_INTEGRITY_CHANGED: 'PIN_INTEGRITY_CHANGED',
  PIN_MISSING: 'PIN_MISSING',
  PIN_LOCK_STALE: 'PIN_LOCK_STALE',
  PIN_LOCK_DISAGREES: 'PIN_LOCK_DISAGREES',
  PIN_LOCK_INVALID: 'PIN_LOCK_INVALID',
  PIN_CONFLICT: 'PIN_CONFLICT',
  PIN_UPDATE_INVALID: 'PIN_UPDATE_INVALID',
  // The evidence file cannot be written (a directory in its place, no permission)
  EVIDENCE_UNWRITABLE: 'EVIDENCE_UNWRITABLE',
  // `verify --html <file>`: the report file cannot be written
  REPORT_UNWRITABLE: 'REPORT_UNWRITABLE',
  // A linked copy this machine did not make (or that changed since) cannot be removed before the link step
  LINKED_COPY_UNTRUSTED: 'LINKED_COPY_UNTRUSTED',
  // SIGSTORE_RECORD_KEY (the opt-in CI record key) is set but too short, malformed or not random
  RECORD_KEY_INVALID: 'RECORD_KEY_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SigstorePluginError extends Error {
  readonly code: ErrorCode;
  /** The package the error is about, `name@version`, when known. */
  readonly subject?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { subject?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SigstorePluginError';
    this.code = code;
    this.subject = options.subject;
    this.details = options.details;
  }
}

export function isPluginError(error: unknown): error is SigstorePluginError {
  return error instanceof SigstorePluginError;
}

/** The plugin's coded error for anything thrown: a coded one as it is, anything else INTERNAL about `subject`. */
export function toPluginError(error: unknown, subject: string): SigstorePluginError {
  if (error instanceof Error && error.name === 'SigstorePluginError') return error as SigstorePluginError;
  const message = error instanceof Error ? error.message : String(error);
  return new SigstorePluginError(ErrorCodes.INTERNAL, `${subject}: ${message}`, { subject, cause: error });
}
