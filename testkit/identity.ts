/**
 * Signer identities as a Fulcio certificate states them: the claims, their
 * OIDs, and builders for GitHub Actions and GitLab CI identities shaped like
 * the ones Fulcio issues in production.
 */
import type { SignerIdentity } from '../src/verify/types';

/**
 * The claims to put in a mock Fulcio certificate: exactly the verifier's
 * SignerIdentity (what a verified certificate yields), plus encoding switches.
 */
export type SigningIdentity = Omit<SignerIdentity, 'sanType' | 'issuer'> & {
  issuer: string;
  /** Emit the legacy raw-string extensions .1-.6 as well (default: when githubWorkflowRepository is set; .1 always). */
  legacyExtensions?: boolean;
  /** Emit the v2 DER UTF8String extensions .8-.23 (default true; false mimics an old certificate). */
  v2Extensions?: boolean;
  /** Extensions added as they are, e.g. a claim in the wrong encoding (to stage a malformed certificate). */
  extraExtensions?: CertificateExtension[];
};

const FULCIO_OID = '1.3.6.1.4.1.57264.1';

/** v2 claims (.8-.23, DER UTF8String). */
export const V2_CLAIM_OIDS: Record<string, keyof SigningIdentity> = {
  [`${FULCIO_OID}.8`]: 'issuer',
  [`${FULCIO_OID}.9`]: 'buildSignerUri',
  [`${FULCIO_OID}.10`]: 'buildSignerDigest',
  [`${FULCIO_OID}.11`]: 'runnerEnvironment',
  [`${FULCIO_OID}.12`]: 'sourceRepositoryUri',
  [`${FULCIO_OID}.13`]: 'sourceRepositoryDigest',
  [`${FULCIO_OID}.14`]: 'sourceRepositoryRef',
  [`${FULCIO_OID}.15`]: 'sourceRepositoryIdentifier',
  [`${FULCIO_OID}.16`]: 'sourceRepositoryOwnerUri',
  [`${FULCIO_OID}.17`]: 'sourceRepositoryOwnerIdentifier',
  [`${FULCIO_OID}.18`]: 'buildConfigUri',
  [`${FULCIO_OID}.19`]: 'buildConfigDigest',
  [`${FULCIO_OID}.20`]: 'buildTrigger',
  [`${FULCIO_OID}.21`]: 'runInvocationUri',
  [`${FULCIO_OID}.22`]: 'sourceRepositoryVisibility',
  [`${FULCIO_OID}.23`]: 'deploymentEnvironment',
};

/** Legacy claims (.1-.6, raw bytes). */
export const LEGACY_CLAIM_OIDS: Record<string, keyof SigningIdentity> = {
  [`${FULCIO_OID}.1`]: 'issuer',
  [`${FULCIO_OID}.2`]: 'buildTrigger',
  [`${FULCIO_OID}.3`]: 'sourceRepositoryDigest',
  [`${FULCIO_OID}.4`]: 'githubWorkflowName',
  [`${FULCIO_OID}.5`]: 'githubWorkflowRepository',
  [`${FULCIO_OID}.6`]: 'sourceRepositoryRef',
};

export interface CertificateExtension {
  oid: string;
  value: string;
  /** Raw bytes rather than a DER UTF8String (the legacy .1-.6 encoding). */
  legacy?: boolean;
}

/** The Fulcio extensions a certificate for this identity carries. */
export function identityExtensions(identity: SigningIdentity): CertificateExtension[] {
  const extensions: CertificateExtension[] = [];
  const legacy = identity.legacyExtensions ?? identity.githubWorkflowRepository !== undefined;
  for (const [oid, claim] of Object.entries(LEGACY_CLAIM_OIDS)) {
    const value = identity[claim];
    // The legacy issuer (.1) is emitted for every identity, as Fulcio does.
    if (typeof value === 'string' && (legacy || claim === 'issuer')) extensions.push({ oid, value, legacy: true });
  }
  if (identity.v2Extensions !== false) {
    for (const [oid, claim] of Object.entries(V2_CLAIM_OIDS)) {
      const value = identity[claim];
      if (typeof value === 'string') extensions.push({ oid, value });
    }
  }
  return [...extensions, ...(identity.extraExtensions ?? [])];
}

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const GITLAB_ISSUER = 'https://gitlab.com';

export interface GitHubIdentityOptions {
  /** `owner/name`. */
  repository: string;
  /** Workflow path in the repository. */
  workflow?: string;
  ref?: string;
  /** Commit sha (40 hex). */
  sha?: string;
  repositoryId?: string;
  ownerId?: string;
  trigger?: string;
  runner?: 'github-hosted' | 'self-hosted' | string;
  visibility?: 'public' | 'private' | 'internal' | string;
  /** The job's deployment environment (.23); absent by default, as for a job that names none. */
  environment?: string;
  /** A reusable workflow that signed, `owner/repo/.github/workflows/x.yml@ref`; default: the workflow itself. */
  buildSigner?: string;
  runId?: string;
  /** Override any claim after the defaults (e.g. an inconsistent SAN). */
  overrides?: Partial<SigningIdentity>;
}

const DEFAULT_SHA = '0123456789abcdef0123456789abcdef01234567';

/** A GitHub Actions identity with every claim Fulcio sets, consistent with each other. */
export function githubIdentity(options: GitHubIdentityOptions): SigningIdentity {
  const workflow = options.workflow ?? '.github/workflows/release.yml';
  const ref = options.ref ?? 'refs/tags/v1.0.0';
  const sha = options.sha ?? DEFAULT_SHA;
  const repositoryUri = `https://github.com/${options.repository}`;
  const workflowUri = `${repositoryUri}/${workflow}@${ref}`;
  const owner = options.repository.split('/')[0];
  const signerUri = options.buildSigner ? `https://github.com/${options.buildSigner}` : workflowUri;
  return {
    ...ciIdentity({
      issuer: GITHUB_ISSUER,
      signerUri,
      configUri: workflowUri,
      repositoryUri,
      ownerUri: `https://github.com/${owner}`,
      runInvocationUri: `${repositoryUri}/actions/runs/${options.runId ?? '1234567890'}/attempts/1`,
      ref,
      sha,
      repositoryId: options.repositoryId ?? '100000001',
      ownerId: options.ownerId ?? '200000002',
      runner: options.runner ?? 'github-hosted',
      trigger: options.trigger,
      visibility: options.visibility,
    }),
    githubWorkflowName: 'Release',
    githubWorkflowRepository: options.repository,
    ...(options.environment === undefined ? {} : { deploymentEnvironment: options.environment }),
    ...options.overrides,
  };
}

interface CiClaims {
  issuer: string;
  signerUri: string;
  configUri: string;
  repositoryUri: string;
  ownerUri: string;
  runInvocationUri: string;
  ref: string;
  sha: string;
  repositoryId: string;
  ownerId: string;
  runner: string;
  trigger?: string;
  visibility?: string;
}

/** The claim set every CI issuer gets from Fulcio, from its parts (SAN = the signer workflow). */
function ciIdentity(claims: CiClaims): SigningIdentity {
  return {
    san: claims.signerUri,
    issuer: claims.issuer,
    buildSignerUri: claims.signerUri,
    buildSignerDigest: claims.sha,
    runnerEnvironment: claims.runner,
    sourceRepositoryUri: claims.repositoryUri,
    sourceRepositoryDigest: claims.sha,
    sourceRepositoryRef: claims.ref,
    sourceRepositoryIdentifier: claims.repositoryId,
    sourceRepositoryOwnerUri: claims.ownerUri,
    sourceRepositoryOwnerIdentifier: claims.ownerId,
    buildConfigUri: claims.configUri,
    buildConfigDigest: claims.sha,
    buildTrigger: claims.trigger ?? 'push',
    runInvocationUri: claims.runInvocationUri,
    sourceRepositoryVisibility: claims.visibility ?? 'public',
  };
}

export interface GitLabIdentityOptions {
  /** `group/project` (subgroups allowed). */
  project: string;
  ref?: string;
  sha?: string;
  projectId?: string;
  namespaceId?: string;
  trigger?: string;
  runner?: 'gitlab-hosted' | 'self-hosted' | string;
  visibility?: string;
  overrides?: Partial<SigningIdentity>;
}

/** A GitLab CI identity as Fulcio issues it (SAN `https://gitlab.com/group/proj//.gitlab-ci.yml@refs/heads/main`). */
export function gitlabIdentity(options: GitLabIdentityOptions): SigningIdentity {
  const ref = options.ref ?? 'refs/heads/main';
  const sha = options.sha ?? DEFAULT_SHA;
  const projectUri = `https://gitlab.com/${options.project}`;
  const configUri = `${projectUri}//.gitlab-ci.yml@${ref}`;
  const namespace = options.project.slice(0, options.project.lastIndexOf('/'));
  return {
    ...ciIdentity({
      issuer: GITLAB_ISSUER,
      signerUri: configUri,
      configUri,
      repositoryUri: projectUri,
      ownerUri: `https://gitlab.com/${namespace}`,
      runInvocationUri: `${projectUri}/-/jobs/1234567890`,
      ref,
      sha,
      repositoryId: options.projectId ?? '300000003',
      ownerId: options.namespaceId ?? '400000004',
      runner: options.runner ?? 'gitlab-hosted',
      trigger: options.trigger,
      visibility: options.visibility,
    }),
    ...options.overrides,
  };
}
