/**
 * Yarn takes a registry package's dependencies and bins from the registry's
 * metadata (or yarn.lock), not from the package.json inside the tarball: an
 * attacker who controls either can add a dependency or a bin to a package
 * whose bytes verify. Once the archive is bound to verified bytes, what Yarn
 * resolved must be what the verified package.json declares.
 */
import { Manifest, PackageExtensionType, structUtils, type FetchResult, type Locator, type Project } from '@yarnpkg/core';
import { ppath, type PortablePath } from '@yarnpkg/fslib';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { reportError } from './errors';

/** Dependencies Yarn itself adds through `packageExtensions` (its built-in list and the project's). */
async function extensionDependencies(project: Project, locator: Locator): Promise<Set<string>> {
  const added = new Set<string>();
  const extensions = await project.configuration.getPackageExtensions();
  for (const [, extensionsPerRange] of extensions.get(locator.identHash) ?? []) {
    for (const extension of extensionsPerRange) if (extension.type === PackageExtensionType.Dependency) added.add(extension.descriptor.identHash);
  }
  return added;
}

export async function checkResolvedManifest(locator: Locator, result: FetchResult, project: Project): Promise<void> {
  const resolved = project.storedPackages.get(locator.locatorHash);
  if (resolved === undefined) return;
  const verified = Manifest.fromText(await result.packageFs.readFilePromise(ppath.join(result.prefixPath, 'package.json' as PortablePath), 'utf8'));
  const subject = structUtils.stringifyLocator(locator);
  const extensions = await extensionDependencies(project, locator);
  const extra: string[] = [];
  for (const [identHash, descriptor] of resolved.dependencies) {
    if (!verified.dependencies.has(identHash) && !extensions.has(identHash)) extra.push(`dependency ${structUtils.stringifyIdent(descriptor)}`);
  }
  // npm's publish writes `./x` as `x` and expands `directories.bin` into `bin`: neither is an addition.
  const binDirectory = typeof verified.raw.directories?.bin === 'string' ? ppath.normalize(verified.raw.directories.bin) : null;
  for (const [name, path] of resolved.bin) {
    const declared = verified.bin.get(name);
    if (declared !== undefined ? ppath.normalize(declared) === ppath.normalize(path) : binDirectory !== null && ppath.dirname(ppath.normalize(path)) === binDirectory) continue;
    extra.push(`bin ${name} -> ${path}`);
  }
  if (extra.length > 0) {
    throw reportError(
      new SigstorePluginError(
        ErrorCodes.MANIFEST_MISMATCH,
        `${subject}: the registry metadata or yarn.lock gives this package ${extra.join(', ')}, which its verified package.json does not declare`,
        { subject },
      ),
    );
  }
}
