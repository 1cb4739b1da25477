/**
 * `yarn sigstore verify` reads the lockfile only; a lockfile that no longer
 * matches the manifests would let it pass on packages the next install does
 * not use. As `yarn install --immutable`, it refuses a stale lockfile.
 */
import { structUtils, type Project } from '@yarnpkg/core';
import { ErrorCodes, SigstorePluginError } from '../../errors';

/** Every dependency a workspace declares, as the lockfile must record it. */
export function staleLockfileEntries(project: Project): string[] {
  const stale: string[] = [];
  for (const workspace of project.workspaces) {
    const locked = project.originalPackages.get(workspace.anchoredLocator.locatorHash);
    const declared = [...workspace.manifest.dependencies.values(), ...workspace.manifest.devDependencies.values()];
    for (const descriptor of declared) {
      const normalized = project.configuration.normalizeDependency(descriptor);
      const entry = locked?.dependencies.get(normalized.identHash);
      if (!entry || project.configuration.normalizeDependency(entry).range !== normalized.range) {
        stale.push(`${structUtils.stringifyDescriptor(descriptor)} (declared by ${structUtils.stringifyIdent(workspace.anchoredLocator)})`);
      }
    }
  }
  return stale;
}

export function assertLockfileCurrent(project: Project): void {
  const stale = staleLockfileEntries(project);
  if (stale.length > 0) {
    throw new SigstorePluginError(ErrorCodes.LOCKFILE_STALE, `yarn.lock does not record ${stale.join(', ')}: run \`yarn install\` to update it, review and commit it, then verify again`);
  }
}
