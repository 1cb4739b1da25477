/**
 * What a written rule pins of a verified signer: the repository (and its
 * immutable ID when the certificate has it) and the workflow file, else the
 * SAN. Shared by `policy init` (a draft for every package) and `policy trust`
 * (one package), so that both pin the same fields.
 */
import type { SignerIdentity } from '../verify/types';
import { VERSION_PLACEHOLDER } from './glob';
import { sourceRepositoryOf, workflowPathOf } from './identity';

const TAGS = 'refs/tags/';

export interface IdentityPin {
  issuer?: string;
  repository?: string;
  repositoryId?: string;
  workflow?: string;
  ref?: string;
  san?: string;
}

export function identityPinOf(identity: SignerIdentity): IdentityPin {
  const repository = sourceRepositoryOf(identity);
  if (!repository) return { issuer: identity.issuer, san: identity.san };
  return { issuer: identity.issuer, repository, repositoryId: identity.sourceRepositoryIdentifier, workflow: workflowPathOf(identity) };
}

/**
 * A `ref` for the releases to come, from the ref one version was built from:
 * a tag naming the version becomes a template binding each version to its own
 * tag (`refs/tags/v1.2.3` -> `refs/tags/v{version}`, as `policy init`
 * proposes), another tag any tag, a branch exactly that branch. Undefined
 * without a ref claim.
 */
export function refPatternOf(ref: string | undefined, version: string): string | undefined {
  if (ref === undefined || !ref.startsWith(TAGS)) return ref;
  const tag = ref.slice(TAGS.length);
  return tag.includes(version) ? `${TAGS}${tag.split(version).join(VERSION_PLACEHOLDER)}` : `${TAGS}*`;
}

/** The pin with its fields in the order a rule lists them, absent ones left out. */
export function pinFields(pin: IdentityPin): Array<[keyof IdentityPin, string]> {
  const order: Array<keyof IdentityPin> = ['issuer', 'repository', 'repositoryId', 'workflow', 'ref', 'san'];
  return order.filter((key) => pin[key] !== undefined).map((key) => [key, pin[key]!]);
}
