/**
 * The policy's own glob dialect, small on purpose so that nobody is surprised:
 * - anchored at both ends: the whole value must match;
 * - `*` matches any run of characters except `/`;
 * - `**` matches any run of characters including `/` (explicit opt-in);
 * - every other character is literal (dots, `?`, braces, `!` included).
 */

const GLOB_SPECIALS = /[.+?^${}()|[\]\\\/]/g;

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*');
}

/** Compiles a glob to an anchored RegExp. */
export function compileGlob(pattern: string, options: { ignoreCase?: boolean } = {}): RegExp {
  const body = pattern
    .split('**')
    .map((part) => part.split('*').map((literal) => literal.replace(GLOB_SPECIALS, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${body}$`, options.ignoreCase ? 'is' : 's');
}

/** Why a glob is invalid, or undefined when it is fine. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'a non-empty glob';
  if (/\*{3,}/.test(pattern)) return 'a glob without `***` (use `*` within a segment or `**` across segments)';
  return undefined;
}

const GITHUB_URI = /^(https:\/\/github\.com\/)([^/]*)(\/[^/@]*)?(.*)$/is;

/**
 * GitHub owner and repository names are case-insensitive; paths and refs are
 * not. Lowercases host, owner and repository of a github.com URI (pattern or value).
 */
export function normalizeGitHubUri(uri: string): string {
  const match = GITHUB_URI.exec(uri);
  if (!match) return uri;
  const [, prefix, owner, repository = '', rest] = match;
  return `${prefix.toLowerCase()}${owner.toLowerCase()}${repository.toLowerCase()}${rest}`;
}

/** Matches a URI glob against a URI, GitHub owner/repository case-insensitively. */
export function matchUriGlob(pattern: string, value: string): boolean {
  return compileGlob(normalizeGitHubUri(pattern)).test(normalizeGitHubUri(value));
}

/** Matches a case-sensitive glob (refs, paths). */
export function matchGlob(pattern: string, value: string): boolean {
  return compileGlob(pattern).test(value);
}
