/**
 * Non-registry sources. Yarn fetches git, tarball-URL and exec: dependencies
 * while it resolves them (git is cloned and its `prepack` run), so the Yarn
 * layer asks this before resolution. Registry packages, workspaces and
 * project-local file:/portal:/link: pass; git, tarball URLs, exec: and local
 * paths outside the project are denied unless the policy's `sources` allow
 * them. A git allowance names the repository (and optionally the commit), a
 * tarball allowance the URL: registry metadata of an allowed name pointing it
 * at another repository or URL is denied before anything is fetched.
 */
import { compileGlob } from './glob';
import { selectorCovers } from './packages';
import type { PolicyModel, SourceAllowance, SourceKind } from './model';

export interface SourceRequest {
  /** The dependency's name as declared. */
  name: string;
  /** Yarn's protocol including the colon, e.g. `npm:`, `git+ssh:`, `https:`, `exec:`, `file:`. */
  protocol: string;
  /** The rest of the range / reference (for reports, URL classification, the repository or URL). */
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
const SHORTHAND_HOSTS: Record<string, string> = { github: 'github.com', gitlab: 'gitlab.com', bitbucket: 'bitbucket.org' };

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

/**
 * A git repository as `host[:port]/path` (lowercase, no scheme, user, `.git`
 * or trailing slash), whatever way it is written: `https://github.com/a/b.git`,
 * `git+ssh://git@github.com/a/b.git`, `github:a/b`, `git@github.com:a/b.git`.
 * Undefined when it is no repository URL.
 */
export function canonicalRepository(written: string): string | undefined {
  let text = written.trim().replace(/^git\+/i, '');
  const shorthand = /^(github|gitlab|bitbucket):(?!\/\/)(.+)$/i.exec(text);
  if (shorthand) text = `https://${SHORTHAND_HOSTS[shorthand[1].toLowerCase()]}/${shorthand[2]}`;
  const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.+)$/.exec(text);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `ssh://${scp[1]}/${scp[2]}`;
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/i, '');
  if (!url.hostname || path.split('/').filter(Boolean).length === 0) return undefined;
  return `${url.host}${path}`.toLowerCase();
}

/** The repository and commit a git dependency names (`<url>#commit=<sha>`, `#<sha>`, params joined by `&`). */
export function gitTarget(request: Pick<SourceRequest, 'protocol' | 'reference'>): { repository?: string; commit?: string } {
  const [url, treeish = ''] = `${request.protocol}${request.reference}`.split('#', 2);
  let commit: string | undefined;
  for (const part of treeish.split('&')) {
    const [key, value] = part.includes('=') ? part.split('=', 2) : ['', part];
    if ((key === 'commit' || key === '') && /^[0-9a-f]{40}$/i.test(value)) commit = value.toLowerCase();
  }
  return { repository: canonicalRepository(url), commit };
}

/** A tarball dependency's URL, without a fragment. */
export function tarballUrl(request: Pick<SourceRequest, 'protocol' | 'reference'>): string {
  return `${request.protocol}${request.reference}`.split('#', 1)[0];
}

/** Whether one allowance admits the request: the name, and for git and tarball sources where it comes from. */
function admits(allowance: SourceAllowance, kind: SourceKind, request: SourceRequest): boolean {
  if (!allowance.selector.test(request.name, '0.0.0')) return false;
  if (kind === 'git') {
    const target = gitTarget(request);
    return target.repository !== undefined && globAdmits(allowance.repository, target.repository) && (allowance.commit === undefined || target.commit === allowance.commit);
  }
  if (kind === 'tarball') return globAdmits(allowance.url, tarballUrl(request));
  return true;
}

/** A repository or URL allowance (a glob: `*` within a segment, `**` across) against a value. */
function globAdmits(pattern: string | undefined, value: string): boolean {
  return pattern !== undefined && (pattern === value || compileGlob(pattern).test(value));
}

/** Whether every value the glob `inner` admits is admitted by the glob `outer` (equal, or `inner` literal and admitted). */
function globCovers(outer: string | undefined, inner: string | undefined): boolean {
  return outer === undefined || outer === inner || (inner !== undefined && !inner.includes('*') && globAdmits(outer, inner));
}

/** Whether `outer` admits everything `inner` admits (a local policy's allowance within its baseline's). */
export function allowanceCovers(outer: SourceAllowance, inner: SourceAllowance): boolean {
  if (!selectorCovers(outer.selector, inner.selector)) return false;
  if (outer.commit !== undefined && outer.commit !== inner.commit) return false;
  return globCovers(outer.repository, inner.repository) && globCovers(outer.url, inner.url);
}

/** A loaded policy as far as sources are concerned: its model and its `extends` baseline. */
export interface SourcePolicy {
  model: Pick<PolicyModel, 'sources'>;
  baseline?: SourcePolicy;
}

/** Whether this policy and every baseline it extends allow the request for that kind. */
function allowedByChain(policy: SourcePolicy | undefined, kind: SourceKind, request: SourceRequest): boolean {
  if (!policy) return false;
  const allowed = policy.model.sources[kind].some((allowance) => admits(allowance, kind, request));
  return allowed && (policy.baseline === undefined || allowedByChain(policy.baseline, kind, request));
}

/** What to add to the policy to allow this request, in the policy's own syntax. */
function allowanceHint(kind: SourceKind, request: SourceRequest): string {
  const name = JSON.stringify(request.name);
  if (kind === 'git') {
    const { repository, commit } = gitTarget(request);
    return `{ package: ${name}, repository: ${JSON.stringify(`https://${repository ?? '<repository>'}`)}${commit ? `, commit: ${JSON.stringify(commit)}` : ''} }`;
  }
  if (kind === 'tarball') return `{ package: ${name}, url: ${JSON.stringify(tarballUrl(request))} }`;
  return name;
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
      if (allowedByChain(chain, category, request)) {
        return { decision: 'allow', category, message: `${what}: ${category} source allowed by sources.${category}` };
      }
      const where = category === 'local' ? 'a local path outside the project' : `a ${category} source`;
      const which = category === 'git' ? ' from this repository' : category === 'tarball' ? ' from this URL' : '';
      // Zero-config has no file to add it to: say how to get one.
      const policyFile = chain === undefined ? 'a trust policy (there is none yet: `yarn sigstore policy init` writes one)' : 'the policy';
      return { decision: 'deny', category, message: `${what}: ${where} is denied; to allow it${which}, add ${allowanceHint(category, request)} to sources.${category} in ${policyFile}` };
    }
  }
}
