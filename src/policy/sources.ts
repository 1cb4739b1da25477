/**
 * Non-registry sources. Yarn fetches git, tarball-URL and exec: dependencies
 * while it resolves them, so the Yarn layer asks this before resolution.
 * Registry packages, workspaces and project-local file:/portal:/link: pass;
 * git, tarball URLs, exec: and local paths outside the project are denied
 * unless the policy's `sources` name the package.
 */
import type { PolicyModel, SourceKind } from './model';

export interface SourceRequest {
  /** The dependency's name as declared. */
  name: string;
  /** Yarn's protocol including the colon, e.g. `npm:`, `git+ssh:`, `https:`, `exec:`, `file:`. */
  protocol: string;
  /** The rest of the range / reference (for reports and URL classification). */
  reference: string;
  /** For file:/portal:/link:: whether the target is outside the project (the caller resolves paths). */
  outsideProject?: boolean;
}

export type SourceCategory = 'registry' | 'workspace' | 'project-local' | 'patch' | SourceKind | 'unknown';

export interface SourceDecision {
  decision: 'allow' | 'deny';
  category: SourceCategory;
  message: string;
}

const GIT_PROTOCOLS = ['git:', 'git+ssh:', 'git+https:', 'git+http:', 'git+file:', 'ssh:', 'github:', 'gitlab:', 'bitbucket:'];
const LOCAL_PROTOCOLS = ['file:', 'portal:', 'link:'];

/** What kind of source a descriptor points at. */
export function classifySource(request: Pick<SourceRequest, 'protocol' | 'reference' | 'outsideProject'>): SourceCategory {
  const protocol = request.protocol.toLowerCase();
  if (protocol === 'npm:') return 'registry';
  if (protocol === 'workspace:') return 'workspace';
  if (protocol === 'patch:') return 'patch';
  if (protocol === 'exec:') return 'exec';
  if (GIT_PROTOCOLS.includes(protocol)) return 'git';
  if (LOCAL_PROTOCOLS.includes(protocol)) return request.outsideProject === false ? 'project-local' : 'local';
  if (protocol === 'https:' || protocol === 'http:') {
    // Yarn's git resolver takes URLs ending in .git or carrying #commit=/#tag=/#head=... ; the rest are tarballs.
    return /\.git(#.*)?$|#(commit|tag|head|semver|workspace)=/.test(request.reference) ? 'git' : 'tarball';
  }
  return 'unknown';
}

/** A loaded policy as far as sources are concerned: its model and its `extends` baseline. */
export interface SourcePolicy {
  model: Pick<PolicyModel, 'sources'>;
  baseline?: SourcePolicy;
}

/** Whether this policy and every baseline it extends allow the name for that kind. */
function allowedByChain(policy: SourcePolicy | undefined, kind: SourceKind, name: string): boolean {
  if (!policy) return false;
  const allowed = policy.model.sources[kind].some((selector) => selector.test(name, '0.0.0'));
  return allowed && (policy.baseline === undefined || allowedByChain(policy.baseline, kind, name));
}

/**
 * Allows or denies one non-registry dependency. Given a loaded policy, its
 * baseline must allow it too; given only a model, its own `sources` decide
 * (validation already refuses a local allowance its baseline lacks).
 */
export function evaluateSource(policy: SourcePolicy | Pick<PolicyModel, 'sources'> | undefined, request: SourceRequest): SourceDecision {
  const chain = policy === undefined || 'model' in policy ? policy : { model: policy };
  const category = classifySource(request);
  const what = `${request.name}@${request.protocol}${request.reference}`;
  switch (category) {
    case 'registry':
    case 'workspace':
    case 'project-local':
      return { decision: 'allow', category, message: `${what}: ${category} source` };
    case 'patch':
      return { decision: 'allow', category, message: `${what}: a patch, judged by its base package` };
    case 'unknown':
      return { decision: 'deny', category, message: `${what}: unknown protocol ${request.protocol}, denied` };
    default: {
      if (allowedByChain(chain, category, request.name)) {
        return { decision: 'allow', category, message: `${what}: ${category} source allowed by sources.${category}` };
      }
      const where = category === 'local' ? 'a local path outside the project' : `a ${category} source`;
      return { decision: 'deny', category, message: `${what}: ${where} is denied; to allow it, add "${request.name}" to sources.${category} in the policy` };
    }
  }
}
