/**
 * Checks on descriptors, before Yarn resolves them: git, tarball-URL and exec:
 * dependencies are fetched (git even built) during resolution, so the policy's
 * `sources` must say yes first. Also refuses a lockfile whose resolution uses
 * another protocol than the dependency declared.
 */
import { structUtils, type Descriptor, type Locator, type Project } from '@yarnpkg/core';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { reportError } from './errors';
import { isOutsideProject, routeOf, splitProtocol } from './locators';
import { PipelineAdapter } from './pipeline-adapter';

/** The `reduceDependency` hook: throws before resolution for a denied source. */
export async function checkDependency(dependency: Descriptor, project: Project, parent: Locator): Promise<Descriptor> {
  const range = dependency.range;
  const route = routeOf(range);
  if (route === 'npm' || route === 'workspace' || route === 'virtual' || route === 'patch') return dependency;
  const { policy } = await PipelineAdapter.for(project).ready();
  const { protocol, reference } = splitProtocol(range);
  const decision = policy.judgeSource({
    name: structUtils.stringifyIdent(dependency),
    protocol,
    reference,
    outsideProject: route === 'local' ? isOutsideProject(project, range, parent) : undefined,
  });
  if (decision.decision === 'deny') {
    throw reportError(new SigstorePluginError(ErrorCodes.SOURCE_DENIED, `${decision.message} (required by ${structUtils.stringifyLocator(parent)})`));
  }
  return dependency;
}

/** A patch is judged by its base; transparent workspaces legitimately answer semver ranges. */
function resolvesToRegistryOrWorkspace(reference: string): boolean {
  const route = routeOf(reference);
  if (route === 'patch') {
    const source = structUtils.parseRange(reference).source;
    return source !== null && resolvesToRegistryOrWorkspace(structUtils.parseLocator(source, true).reference);
  }
  return route === 'npm' || route === 'workspace';
}

/**
 * Every registry descriptor must resolve to a registry package, a patch of
 * one, or a workspace: an edited yarn.lock can point `lodash@npm:^4` at any URL.
 */
export function checkLockfileProtocols(project: Project): void {
  for (const [descriptorHash, locatorHash] of project.storedResolutions) {
    const descriptor = project.storedDescriptors.get(descriptorHash);
    const pkg = project.storedPackages.get(locatorHash);
    if (!descriptor || !pkg || routeOf(descriptor.range) !== 'npm') continue;
    if (!resolvesToRegistryOrWorkspace(pkg.reference)) {
      throw reportError(
        new SigstorePluginError(
          ErrorCodes.LOCKFILE_PROTOCOL_MISMATCH,
          `${structUtils.stringifyDescriptor(descriptor)} is declared as a registry dependency but yarn.lock resolves it to ${structUtils.stringifyLocator(pkg)}; restore yarn.lock or declare the source explicitly`,
          { subject: structUtils.stringifyIdent(descriptor) },
        ),
      );
    }
  }
}
