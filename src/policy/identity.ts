/**
 * Compares a verified provenance signer with a rule's `identity`. Every field
 * names exactly one certificate claim; a claim the certificate lacks never
 * satisfies a field that names it.
 */
import type { SignerIdentity, VerifiedProvenance } from '../verify/types';
import { matchGlob, matchUriGlob, withVersion } from './glob';
import type { IdentityRequirement } from './model';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export interface Mismatch {
  field: string;
  expected: string;
  found: string | undefined;
}

/**
 * The source repository URI (.12). For an old GitHub Actions certificate that
 * carries only the v1 claims, the legacy .5 `owner/name` claim is the very
 * token claim Fulcio writes into .12 as `https://github.com/<owner/name>`,
 * so it is used. The SAN is never used: for a reusable workflow it names the
 * called workflow's repository, not the source repository.
 */
export function sourceRepositoryOf(identity: SignerIdentity): string | undefined {
  if (identity.sourceRepositoryUri) return identity.sourceRepositoryUri;
  if (identity.issuer === GITHUB_ACTIONS_ISSUER && identity.githubWorkflowRepository) return `https://github.com/${identity.githubWorkflowRepository}`;
  return undefined;
}

/**
 * The build config file path (from .18) inside its repository:
 * `https://github.com/acme/x/.github/workflows/release.yml@refs/tags/v1` ->
 * `.github/workflows/release.yml`. Undefined when the claim is absent or the
 * URI does not belong to the source repository.
 */
export function workflowPathOf(identity: SignerIdentity): string | undefined {
  const uri = identity.buildConfigUri;
  const repository = identity.sourceRepositoryUri;
  if (!uri || !repository) return undefined;
  const prefix = `${repository.replace(/\/+$/, '')}/`;
  if (!uri.toLowerCase().startsWith(prefix.toLowerCase())) return undefined;
  const rest = uri.slice(prefix.length).replace(/^\/+/, ''); // GitLab writes `project//.gitlab-ci.yml`
  const at = rest.lastIndexOf('@');
  return at === -1 ? rest : rest.slice(0, at);
}

/** The signing workflow URI: .9, or the URI SAN (which Fulcio sets to the same job workflow ref). */
export function signerWorkflowOf(identity: SignerIdentity): string | undefined {
  return identity.buildSignerUri ?? (identity.sanType === 'uri' ? identity.san : undefined);
}

/**
 * Every identity field that the provenance does not satisfy (empty: it matches).
 * `version`, the exact version being installed, replaces `{version}` in glob
 * fields as literal text; messages show the replaced value.
 */
export function identityMismatches(requirement: IdentityRequirement, provenance: VerifiedProvenance, version?: string): Mismatch[] {
  const signer = provenance.identity;
  const mismatches: Mismatch[] = [];
  const anyOf = (globs: string[]) => () => globs.map((glob) => withVersion(glob, version)).join(' or ');
  // `expected` is only spelled out for a mismatch: most checks match.
  const check = (field: keyof IdentityRequirement, expected: string | (() => string), found: string | undefined, matches: (found: string) => boolean) => {
    if (found === undefined || !matches(found)) mismatches.push({ field: `identity.${field}`, expected: typeof expected === 'string' ? expected : expected(), found });
  };
  const { issuer, repository, workflow, signerWorkflow, ref, san, repositoryId, ownerId, runner, trigger, predicateType, environment } = requirement;
  if (issuer !== undefined) check('issuer', issuer, signer.issuer, (found) => found === issuer);
  if (repository) check('repository', anyOf(repository), sourceRepositoryOf(signer), (found) => repository.some((g) => matchUriGlob(g, found, version)));
  if (workflow) check('workflow', anyOf(workflow), workflowPathOf(signer) ?? signer.buildConfigUri, () => {
    const path = workflowPathOf(signer);
    return path !== undefined && workflow.some((g) => matchGlob(g, path, { version }));
  });
  if (signerWorkflow) check('signerWorkflow', anyOf(signerWorkflow), signerWorkflowOf(signer), (found) => signerWorkflow.some((g) => matchUriGlob(g, found, version)));
  if (ref) check('ref', anyOf(ref), signer.sourceRepositoryRef, (found) => ref.some((g) => matchGlob(g, found, { version })));
  if (san) check('san', anyOf(san), signer.san, (found) => san.some((g) => matchUriGlob(g, found, version)));
  // GitHub environment names are case-insensitive (`Production` is `production`).
  if (environment) check('environment', anyOf(environment), signer.deploymentEnvironment, (found) => environment.some((g) => matchGlob(g, found, { version, ignoreCase: true })));
  if (repositoryId !== undefined) check('repositoryId', repositoryId, signer.sourceRepositoryIdentifier, (found) => found === repositoryId);
  if (ownerId !== undefined) check('ownerId', ownerId, signer.sourceRepositoryOwnerIdentifier, (found) => found === ownerId);
  if (runner !== undefined) check('runner', runner, signer.runnerEnvironment, (found) => found === runner);
  if (trigger) check('trigger', anyOf(trigger), signer.buildTrigger, (found) => trigger.includes(found));
  if (predicateType !== undefined) check('predicateType', predicateType, provenance.predicateType, (found) => found === predicateType);
  return mismatches;
}
