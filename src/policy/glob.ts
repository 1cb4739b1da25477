/**
 * The policy's own glob dialect, small on purpose so that nobody is surprised:
 * - anchored at both ends: the whole value must match;
 * - `*` matches any run of characters except `/`;
 * - `**` matches any run of characters including `/` (explicit opt-in);
 * - every other character is literal (dots, `?`, braces, `!` included).
 */

const GLOB_SPECIALS = /[.+?^${}()|[\]\\\/]/g;
const REGEXP_SPECIALS = /[.*+?^${}()|[\]\\\/]/g;

/** The placeholder an identity glob may hold: the exact version being installed. */
export const VERSION_PLACEHOLDER = '{version}';
/** Anything shaped like a placeholder, to reject the ones that do not exist (`{name}`). */
export const PLACEHOLDER_SHAPE = /\{[A-Za-z_][A-Za-z0-9_-]*\}/g;

export interface GlobOptions {
  ignoreCase?: boolean;
  /** Replaces `{version}`, as literal text: a `*` in it would be a star, never a wildcard. */
  version?: string;
}

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*');
}

/** The pattern as a user reads it once `{version}` is replaced (for messages). */
export function withVersion(pattern: string, version: string | undefined): string {
  return version === undefined ? pattern : pattern.split(VERSION_PLACEHOLDER).join(version);
}

function globBody(pattern: string): string {
  return pattern
    .split('**')
    .map((part) => part.split('*').map((literal) => literal.replace(GLOB_SPECIALS, '\\$&')).join('[^/]*'))
    .join('.*');
}

/**
 * Compiled globs, shared: an install matches the same few identity globs for
 * every package of a rule, and a RegExp is compiled again on its first use.
 * Without the `g` flag a RegExp keeps no state between tests. Bounded.
 */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 10_000;

/** Compiles a glob to an anchored RegExp. */
export function compileGlob(pattern: string, options: GlobOptions = {}): RegExp {
  // Without the placeholder the version changes nothing: one RegExp for every version.
  const version = pattern.includes(VERSION_PLACEHOLDER) ? options.version : undefined;
  const key = `${options.ignoreCase ? 'i' : 's'}${version === undefined ? '-' : `+${version}`}\0${pattern}`;
  const known = compiled.get(key);
  if (known) return known;
  const parts = version === undefined ? [pattern] : pattern.split(VERSION_PLACEHOLDER);
  const body = parts.map(globBody).join((version ?? '').replace(REGEXP_SPECIALS, '\\$&'));
  const regexp = new RegExp(`^${body}$`, options.ignoreCase ? 'is' : 's');
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(key, regexp);
  return regexp;
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
export function matchUriGlob(pattern: string, value: string, version?: string): boolean {
  return matchGlob(normalizeGitHubUri(pattern), normalizeGitHubUri(value), { version });
}

/**
 * Matches a glob (case-sensitive unless told: refs, paths). A case-sensitive
 * glob without `*` is its own text: compared as a string, no RegExp (a
 * `policy init` policy pins exact repositories, one per rule).
 */
export function matchGlob(pattern: string, value: string, options: GlobOptions = {}): boolean {
  if (!options.ignoreCase && !hasWildcard(pattern)) return withVersion(pattern, options.version) === value;
  return compileGlob(pattern, options).test(value);
}
