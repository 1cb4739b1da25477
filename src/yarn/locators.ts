/** What kind of source a locator points at, as far as the gate cares. */
import { ppath, type PortablePath } from '@yarnpkg/fslib';
import { structUtils, type Locator, type Project } from '@yarnpkg/core';

/** `foreign` covers git, tarball URLs, exec: and unknown protocols: the policy's sources decide. */
export type GateRoute = 'npm' | 'workspace' | 'virtual' | 'patch' | 'local' | 'foreign';

export function routeOf(reference: string): GateRoute {
  if (reference.startsWith('npm:')) return 'npm';
  if (reference.startsWith('workspace:')) return 'workspace';
  if (reference.startsWith('virtual:')) return 'virtual';
  if (reference.startsWith('patch:')) return 'patch';
  if (/^(?:file|portal|link):/.test(reference)) return 'local';
  return 'foreign';
}

/** The package a `patch:` locator applies its patches to. */
export function patchBase(locator: Locator): Locator | null {
  const { source } = structUtils.parseRange(locator.reference);
  return source ? structUtils.parseLocator(source, true) : null;
}

/** Versions by reference: the gate asks for each package's several times per install, and parseRange parses a URL each time. */
const versions = new Map<string, string | null>();

/** The version of an `npm:` locator (`npm:1.2.3` or `npm:1.2.3::__archiveUrl=...`). */
export function npmVersion(locator: Locator): string | null {
  let version = versions.get(locator.reference);
  if (version === undefined) {
    const { selector } = structUtils.parseRange(locator.reference);
    versions.set(locator.reference, (version = /^\d+\.\d+\.\d+/.test(selector) ? selector : null));
  }
  return version;
}

/** The protocol and the rest of a range or reference, as the policy's source check takes them. */
export function splitProtocol(range: string): { protocol: string; reference: string } {
  const match = /^([a-z][a-z0-9+.-]*:)(.*)$/i.exec(range);
  return match ? { protocol: match[1], reference: match[2] } : { protocol: '', reference: range };
}

/**
 * Whether a file:/portal:/link: target lies outside the project; undefined when
 * the path cannot be resolved (the policy then treats it as outside).
 */
export function isOutsideProject(project: Project, range: string, parent?: Locator): boolean | undefined {
  const { selector, params } = structUtils.parseRange(range);
  const parentLocator = parent ?? (typeof params?.locator === 'string' ? structUtils.parseLocator(params.locator, true) : null);
  const workspace = parentLocator ? project.tryWorkspaceByLocator(parentLocator) : null;
  if (!workspace) return undefined;
  const target = ppath.resolve(workspace.cwd, selector as PortablePath);
  return target !== project.cwd && !target.startsWith(`${project.cwd}/`);
}
