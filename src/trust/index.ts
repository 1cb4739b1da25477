/**
 * Trust material: the Sigstore trusted root (Fulcio CAs, Rekor logs, CT logs,
 * TSAs) and npm's registry keys. Validated once when loaded, then prepared for
 * @sigstore/verify. TUF refresh (issue 7) produces the inputs.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { json } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type KeyFinderFunc, type TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, SigstorePluginError } from '../errors';
import embeddedNpmKeys from './embedded/npm_registry_keys.json';
import embeddedTrustedRoot from './embedded/trusted_root.json';
import embeddedStagingTrustedRoot from './embedded/trusted_root.staging.json';
import { keyFinder, NPM_ATTESTATIONS_KEY_USAGE, parseNpmKeys, type NpmKey } from './npm-keys';
import { validateTrustedRoot } from './validate';

export { isKeyValidAt, NPM_ATTESTATIONS_KEY_USAGE, NPM_SIGNATURES_KEY_USAGE, type NpmKey } from './npm-keys';

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

/** The prepared form the verification core works with. */
export class PreparedTrust implements TrustContext {
  /** Trust material whose key finder serves the `npm:attestations` keys. */
  readonly material: TrustMaterial;

  constructor(
    readonly origin: string,
    readonly digest: string,
    readonly trustedRoot: TrustedRoot,
    readonly npmKeys: readonly NpmKey[],
  ) {
    this.material = this.withKeys(keyFinder(npmKeys, NPM_ATTESTATIONS_KEY_USAGE));
  }

  /** The same CAs and logs with another key finder (e.g. a user-supplied key). */
  withKeys(keys: KeyFinderFunc): TrustMaterial {
    return toTrustMaterial(this.trustedRoot, keys);
  }
}

/** The trusted npm keys (every usage): the registry signature check picks its `npm:signatures` ones. */
export function trustedNpmKeys(trust: TrustContext): readonly NpmKey[] {
  return (trust as PreparedTrust).npmKeys;
}

export function embeddedTrustMaterial(): TrustMaterialInput {
  return { trustedRoot: embeddedTrustedRoot, npmKeys: embeddedNpmKeys, origin: 'embedded' };
}

/** Sigstore's staging instance (for the conformance client's `--staging`); never trusted for npm packages. */
export function embeddedStagingTrustMaterial(): TrustMaterialInput {
  return { trustedRoot: embeddedStagingTrustedRoot, npmKeys: embeddedNpmKeys, origin: 'embedded-staging' };
}

/** Validates the material (every log and CA needs a validity start...) and prepares it; throws TRUSTED_ROOT_INVALID. */
export function createTrustContext(input: TrustMaterialInput): TrustContext {
  validateTrustedRoot(input.trustedRoot, input.origin);
  const npmKeys = parseNpmKeys(input.npmKeys, input.origin);
  let trustedRoot: TrustedRoot;
  try {
    trustedRoot = TrustedRoot.fromJSON(input.trustedRoot);
  } catch (cause) {
    throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_INVALID, `trusted root ${input.origin}: ${(cause as Error).message}`, { cause });
  }
  const digest = createHash('sha256').update(json.canonicalize({ trustedRoot: input.trustedRoot, npmKeys: input.npmKeys })).digest('hex');
  try {
    return new PreparedTrust(input.origin, digest, trustedRoot, npmKeys);
  } catch (cause) {
    if (cause instanceof SigstorePluginError) throw cause;
    throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_INVALID, `trusted root ${input.origin}: unusable key or certificate (${(cause as Error).message})`, { cause });
  }
}

/** Reads a user-supplied trusted root (private Sigstore instances), keeping the given npm keys (default: embedded). */
export function loadTrustedRootFile(path: string, npmKeys: unknown = embeddedNpmKeys): TrustContext {
  let trustedRoot: unknown;
  try {
    trustedRoot = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_INVALID, `trusted root file:${path}: cannot be read as JSON (${(cause as Error).message})`, { cause });
  }
  return createTrustContext({ trustedRoot, npmKeys, origin: `file:${path}` });
}

/** The prepared form of a context made by createTrustContext; anything else is a programming error. */
export function preparedTrust(context: TrustContext): PreparedTrust {
  if (!(context instanceof PreparedTrust)) {
    throw new SigstorePluginError(ErrorCodes.INTERNAL, 'trust context was not created by createTrustContext');
  }
  return context;
}
