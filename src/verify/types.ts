/**
 * The verification core's result types: what a Sigstore bundle proves once it
 * has been verified. Policy evaluation and the Yarn layer consume only these.
 */

export const PREDICATE_SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const PREDICATE_SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const PREDICATE_NPM_PUBLISH_V01 = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';

/**
 * Claims of a Fulcio signing certificate, read from either the v1 extensions
 * (OIDs 1.3.6.1.4.1.57264.1.1-.6, raw strings) or the v2 ones (.8-.23, DER
 * UTF8String). A claim the certificate does not carry is absent: never guessed.
 */
export interface SignerIdentity {
  /** Subject alternative name: a URI (CI workflow) or an e-mail (a person). */
  san: string;
  sanType: 'uri' | 'email' | 'other';
  /** OIDC issuer (.8, or legacy .1). */
  issuer?: string;
  /** Build signer URI (.9): the workflow that signed, e.g. a reusable workflow. */
  buildSignerUri?: string;
  /** Build signer digest (.10). */
  buildSignerDigest?: string;
  /** Runner environment (.11): `github-hosted` | `self-hosted` | ... */
  runnerEnvironment?: string;
  /** Source repository URI (.12), e.g. `https://github.com/acme/repo`. */
  sourceRepositoryUri?: string;
  /** Source repository digest (.13, or legacy .3 workflow sha). */
  sourceRepositoryDigest?: string;
  /** Source repository ref (.14, or legacy .6), e.g. `refs/tags/v1.0.0`. */
  sourceRepositoryRef?: string;
  /** Source repository immutable id (.15). */
  sourceRepositoryIdentifier?: string;
  /** Source repository owner URI (.16). */
  sourceRepositoryOwnerUri?: string;
  /** Source repository owner immutable id (.17). */
  sourceRepositoryOwnerIdentifier?: string;
  /** Build config URI (.18): the workflow file that defined the build. */
  buildConfigUri?: string;
  /** Build config digest (.19). */
  buildConfigDigest?: string;
  /** Build trigger (.20, or legacy .2), e.g. `push`, `release`. */
  buildTrigger?: string;
  /** Run invocation URI (.21). */
  runInvocationUri?: string;
  /** Source repository visibility at signing (.22). */
  sourceRepositoryVisibility?: string;
  /** Deployment environment (.23): the CI environment the job ran in (GitHub `environment`); only when the job named one. */
  deploymentEnvironment?: string;
  /** Legacy .4 GitHub workflow name (only in old certificates). */
  githubWorkflowName?: string;
  /** Legacy .5 GitHub workflow repository, `owner/name` (only in old certificates). */
  githubWorkflowRepository?: string;
}

interface VerifiedAttestationBase {
  /** Predicate type read from the VERIFIED in-toto statement (never the registry's unsigned label). */
  predicateType: string;
  /** The bundle's media type, e.g. `application/vnd.dev.sigstore.bundle.v0.3+json`. */
  mediaType: string;
  /** Rekor log index of the verified entry, as a decimal string. */
  logIndex?: string;
  /** A verified time: from a SET-backed integratedTime, a checkpoint-backed entry, or an RFC 3161 timestamp. */
  verifiedTime: Date;
  timeSource: 'tlog-set' | 'tlog-checkpoint' | 'rfc3161';
  /** sha256 (hex) of the bundle's JSON as received, written compactly (keys in the order served): for evidence files and events. */
  bundleDigest: string;
}

export interface VerifiedProvenance extends VerifiedAttestationBase {
  kind: 'provenance';
  identity: SignerIdentity;
}

export interface VerifiedPublish extends VerifiedAttestationBase {
  kind: 'publish';
  /** The `npm:attestations` key id that verified the publish attestation. */
  keyId: string;
}

export type VerifiedAttestation = VerifiedProvenance | VerifiedPublish;

/** The package a verification is about, and the exact bytes that will be installed. */
export interface PackageSubject {
  name: string;
  version: string;
  /** sha512 of the tarball bytes, lowercase hex. */
  sha512Hex: string;
}

/** Everything verified for one package version. */
export interface PackageVerification {
  subject: PackageSubject;
  /** Every provenance bundle present verified and they agree; the first is the identity used. */
  provenance?: VerifiedProvenance;
  provenanceCount: number;
  publish?: VerifiedPublish;
}
