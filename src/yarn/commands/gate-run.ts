/**
 * The install's decision for some packages, outside an install: `yarn
 * sigstore explain` asks the very gate `yarn install` and `yarn sigstore
 * verify` go through (Yarn's own fetcher, wrapped; the same session judging,
 * pinning and manifest check), so the three reach one verdict.
 */
import { Cache, ThrowReport, structUtils, type FetchOptions, type Locator, type Package } from '@yarnpkg/core';
import { sha512Hex } from '../../install/bind';
import { patchBase, routeOf } from '../locators';
import { checkResolvedManifest, readManifestFacts } from '../manifest-check';
import { convertTarball, downloadTarball } from '../tarball';
import type { OpenProject } from './context';

/** A report that keeps the gate's warnings (a manifest mismatch let through by the policy) for the command to print. */
export class CollectingReport extends ThrowReport {
  readonly warnings: string[] = [];
  override reportWarning(_name: unknown, text: string): void {
    this.warnings.push(text);
  }
}

export interface GateRun {
  /** The first failure of each locator the gate refused, by locatorHash. */
  failures: Map<string, Error>;
  warnings: string[];
}

/**
 * The lockfile's locators of this registry package that an install fetches:
 * the package itself and every `patch:` of it (Yarn's built-in compat patches
 * included). Virtual packages are fetched as the package they wrap.
 */
export function installedLocators(open: OpenProject, registryLocator: Locator): Package[] {
  return [...open.project.storedPackages.values()].filter((pkg) => {
    if (pkg.locatorHash === registryLocator.locatorHash) return true;
    return routeOf(pkg.reference) === 'patch' && patchBase(pkg)?.locatorHash === registryLocator.locatorHash;
  });
}

/** Fetches these lockfile packages through the gate, as the install's fetch step does (same cache, same options). */
export async function runGate(open: OpenProject, packages: Package[]): Promise<GateRun> {
  const { configuration, project } = open;
  const cache = await Cache.find(configuration);
  const fetcher = configuration.makeFetcher();
  const report = new CollectingReport();
  const options: FetchOptions = {
    checksums: project.storedChecksums,
    project,
    cache,
    fetcher,
    report,
    cacheOptions: { mockedPackages: project.disabledLocators, unstablePackages: project.conditionalLocators },
  };
  const failures = new Map<string, Error>();
  for (const pkg of packages) {
    try {
      const result = await fetcher.fetch(pkg, options);
      result.releaseFs?.();
    } catch (error) {
      failures.set(pkg.locatorHash, error instanceof Error ? error : new Error(String(error)));
    }
  }
  return { failures, warnings: report.warnings };
}

/**
 * A registry package not in the project, as `yarn add` would install it: its
 * tarball verified and judged by the gate's session, and what Yarn's resolver
 * makes of the registry's metadata checked against its verified package.json.
 */
export async function runGateOutsideProject(open: OpenProject, locator: Locator): Promise<GateRun> {
  const { project, session } = open;
  const report = new CollectingReport();
  const failures = new Map<string, Error>();
  try {
    const options = { project } as FetchOptions;
    const tarball = await downloadTarball(locator, options);
    await session.judge(locator, sha512Hex(tarball), report);
    const zip = await convertTarball(tarball, locator, options);
    const facts = await readManifestFacts({ packageFs: zip, prefixPath: structUtils.getIdentVendorPath(locator) });
    zip.discardAndClose();
    const resolver = project.configuration.makeResolver();
    const pkg = await resolver.resolve(locator, { project, resolver, report });
    await checkResolvedManifest(locator, facts, pkg, session, report);
  } catch (error) {
    failures.set(locator.locatorHash, error instanceof Error ? error : new Error(String(error)));
  }
  return { failures, warnings: report.warnings };
}
