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

/** What the check needs of the verified package.json: content of the archive, so it can be kept by the archive's sha512. */
export interface ManifestFacts {
  /** Ident hashes of its dependencies (optional ones included, as Yarn reads them). */
  dependencies: string[];
  bin: Array<[name: string, path: string]>;
  /** `directories.bin`, normalized, or null. */
  binDirectory: string | null;
}

/** From an archive Yarn handed over (`packageFs`, `prefixPath`), or the zip the loader just made. */
export async function readManifestFacts({ packageFs, prefixPath }: Pick<FetchResult, 'packageFs' | 'prefixPath'>): Promise<ManifestFacts> {
  const manifest = Manifest.fromText(await packageFs.readFilePromise(ppath.join(prefixPath, 'package.json' as PortablePath), 'utf8'));
  return {
    dependencies: [...manifest.dependencies.keys()],
    bin: [...manifest.bin.entries()],
    binDirectory: typeof manifest.raw.directories?.bin === 'string' ? ppath.normalize(manifest.raw.directories.bin) : null,
  };
}

/** Dependencies Yarn itself adds through `packageExtensions` (its built-in list and the project's). */
async function extensionDependencies(project: Project, locator: Locator): Promise<Set<string>> {
  const added = new Set<string>();
  const extensions = await project.configuration.getPackageExtensions();
  for (const [, extensionsPerRange] of extensions.get(locator.identHash) ?? []) {
    for (const extension of extensionsPerRange) if (extension.type === PackageExtensionType.Dependency) added.add(extension.descriptor.identHash);
  }
  return added;
}

export async function checkResolvedManifest(locator: Locator, verified: ManifestFacts, project: Project): Promise<void> {
  const resolved = project.storedPackages.get(locator.locatorHash);
  if (resolved === undefined) return;
  const subject = structUtils.stringifyLocator(locator);
  const declared = new Set(verified.dependencies);
  const extra: string[] = [];
  let extensions: Set<string> | undefined;
  for (const [identHash, descriptor] of resolved.dependencies) {
    if (declared.has(identHash) || (extensions ??= await extensionDependencies(project, locator)).has(identHash)) continue;
    extra.push(`dependency ${structUtils.stringifyIdent(descriptor)}`);
  }
  // npm's publish writes `./x` as `x` and expands `directories.bin` into `bin`: neither is an addition.
  const bins = new Map(verified.bin);
  for (const [name, path] of resolved.bin) {
    const listed = bins.get(name);
    if (listed !== undefined ? ppath.normalize(listed as PortablePath) === ppath.normalize(path) : verified.binDirectory !== null && ppath.dirname(ppath.normalize(path)) === verified.binDirectory) continue;
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
