/**
 * `yarn sigstore verify` and `policy init` read the lockfile only; a lockfile
 * that no longer matches the manifests (or none at all) would let them pass
 * on, or write a policy for, packages the next install does not use. As
 * `yarn install --immutable`, they refuse a stale lockfile.
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

/** `retry`: what to run once the lockfile is current (e.g. `yarn sigstore verify`). */
export function assertLockfileCurrent(project: Project, retry: string): void {
  const stale = staleLockfileEntries(project);
  if (stale.length > 0) {
    throw new SigstorePluginError(ErrorCodes.LOCKFILE_STALE, `yarn.lock does not record ${stale.join(', ')}: run \`yarn install\` to update it, review and commit it, then run \`${retry}\` again`);
  }
}
