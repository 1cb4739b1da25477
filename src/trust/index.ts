/**
 * Trust material: the Sigstore trusted root (Fulcio CAs, Rekor logs, CT logs,
 * TSAs) and npm's registry keys. CONTRACT STUB — implemented by the
 * verification-core work (issue 2); TUF refresh (issue 7) produces the inputs.
 */
export interface TrustMaterialInput {
  /** A Sigstore `trusted_root.json` document, parsed. */
  trustedRoot: unknown;
  /** npm's `keys.json` TUF target (`{"keys":[{keyId,keyUsage,publicKey:{rawBytes,keyDetails,validFor}}]}`), parsed. */
  npmKeys: unknown;
  /** Where the material came from, for reports: `embedded`, `file:<path>`, `tuf:<url>`... */
  origin: string;
}

/** Validated, ready-to-use trust material (opaque to callers). */
export interface TrustContext {
  readonly origin: string;
  /** sha256 hex of the canonical trusted root + keys: a cache key for verified results. */
  readonly digest: string;
}

export function embeddedTrustMaterial(): TrustMaterialInput {
  throw new Error('not implemented');
}

/** Validates the material (every log and CA needs a validity start...) and prepares it; throws TRUSTED_ROOT_INVALID. */
export function createTrustContext(_input: TrustMaterialInput): TrustContext {
  throw new Error('not implemented');
}
