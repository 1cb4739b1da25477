/**
 * Finds the package `yarn sigstore explain` talks about: the lockfile's
 * version when the project has it, else what Yarn's own resolver (registries,
 * scopes, auth, tags) picks for the range, as an install would.
 */
import { ThrowReport, semverUtils, structUtils, type Descriptor, type Locator, type Project } from '@yarnpkg/core';
import { ErrorCodes, SigstorePluginError } from '../../errors';
import { routeOf } from '../locators';

export interface ResolvedTarget {
  locator: Locator;
  /** Whether the locator comes from the project's lockfile. */
  inProject: boolean;
  /** The name the project installs it under when that is an npm alias (`"x": "npm:real@^1"`). */
  alias?: string;
}

/** A git, tarball-URL, exec: or path dependency: carries no registry provenance, the policy's `sources` decide. */
export interface SourceTarget {
  descriptor: Descriptor;
}

/** The request as a descriptor, normalized as Yarn would (a bare name means `latest`). */
export function parseRequest(project: Project, request: string): { descriptor: Descriptor; hasRange: boolean } {
  const hasRange = request.includes('@', 1);
  const descriptor = hasRange ? structUtils.parseDescriptor(request, true) : structUtils.makeDescriptor(structUtils.parseIdent(request), 'latest');
  return { descriptor: project.configuration.normalizeDependency(descriptor), hasRange };
}

export async function resolveTarget(project: Project, request: string): Promise<ResolvedTarget[] | SourceTarget> {
  const { descriptor, hasRange } = parseRequest(project, request);
  // Resolving a git or URL range would fetch it: the source check comes first, as in the gate.
  if (routeOf(descriptor.range) !== 'npm') return { descriptor };
  const stored: ResolvedTarget[] = [...project.originalPackages.values()].filter((pkg) => pkg.identHash === descriptor.identHash && pkg.reference.startsWith('npm:')).map((locator) => ({ locator, inProject: true }));
  const matching = [...stored, ...aliasedAs(project, descriptor)].filter((target) => !hasRange || rangeAccepts(descriptor.range, target.locator.reference));
  if (matching.length > 0) return matching;
  const workspace = project.tryWorkspaceByIdent(descriptor);
  if (workspace) {
    throw new SigstorePluginError(
      ErrorCodes.NOT_A_REGISTRY_PACKAGE,
      `${structUtils.stringifyIdent(descriptor)} is a workspace of this project: it comes from the project itself, not from a registry, so no Sigstore bundle applies (the install lets workspaces through)`,
      { subject: structUtils.stringifyIdent(descriptor) },
    );
  }
  return [{ locator: await resolveWithYarn(project, descriptor), inProject: false }];
}

/**
 * The registry packages the project installs under this name as an npm alias:
 * the name is the alias's, the package (and so the verdict) the real one's. A
 * registry package that merely bears the alias's name is another package.
 */
function aliasedAs(project: Project, descriptor: Descriptor): ResolvedTarget[] {
  const found = new Map<string, ResolvedTarget>();
  const alias = structUtils.stringifyIdent(descriptor);
  for (const pkg of project.originalPackages.values()) {
    for (const dependency of pkg.dependencies.values()) {
      if (dependency.identHash !== descriptor.identHash) continue;
      const resolved = project.originalPackages.get(project.storedResolutions.get(dependency.descriptorHash)!);
      if (resolved && resolved.identHash !== descriptor.identHash && resolved.reference.startsWith('npm:')) found.set(resolved.locatorHash, { locator: resolved, inProject: true, alias });
    }
  }
  return [...found.values()];
}

function rangeAccepts(range: string, reference: string): boolean {
  const version = structUtils.parseRange(reference).selector;
  const selector = range.startsWith('npm:') ? range.slice(4) : range;
  const semverRange = semverUtils.validRange(selector);
  return semverRange !== null && semverRange.test(version);
}

async function resolveWithYarn(project: Project, descriptor: Descriptor): Promise<Locator> {
  const configuration = project.configuration;
  const resolver = configuration.makeResolver();
  const subject = structUtils.stringifyDescriptor(descriptor);
  let candidates: Locator[];
  try {
    candidates = await resolver.getCandidates(descriptor, {}, { project, resolver, report: new ThrowReport() });
  } catch (error) {
    // plugin-npm words a registry 404 as "Package not found".
    if (/Package not found|\b404\b/.test((error as Error).message)) {
      throw new SigstorePluginError(ErrorCodes.PACKAGE_NOT_FOUND, `${subject}: the registry has no such package (not in the project's lockfile either)`, { subject, cause: error });
    }
    throw new SigstorePluginError(ErrorCodes.SOURCE_FETCH_FAILED, `${subject}: Yarn's resolver could not ask the registry: ${(error as Error).message}`, { subject, cause: error });
  }
  if (candidates.length === 0) {
    throw new SigstorePluginError(ErrorCodes.PACKAGE_NOT_FOUND, `${subject}: no version of it matches (not in the project's lockfile either)`, { subject });
  }
  return candidates[0];
}
