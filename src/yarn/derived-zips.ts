/**
 * Zips Yarn derives in its fetchers rather than downloads (a patched package,
 * a `file:` tarball converted): the gate is told when Yarn builds one in this
 * install, and can have Yarn build one again to compare with a cached copy.
 * Yarn's own method is kept where every evaluation of the plugin finds it
 * (the factory runs several times per process).
 */
import { npath, ppath, xfs, type PortablePath } from '@yarnpkg/fslib';
import { structUtils, type FetchOptions, type FetchResult, type Locator } from '@yarnpkg/core';
import type { ZipFS } from '@yarnpkg/libzip';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { fileIdentity, sha512File } from '../install/bind';
import { reportError } from './errors';
import { patchOnce } from './state';

export type BuildZip = (this: unknown, locator: Locator, opts: FetchOptions) => Promise<ZipFS>;

export interface DerivedZips {
  /** The fetcher's class prototype and the method that builds the zip. */
  prototype: object;
  method: string;
  /** Names the patch (once per process) and the slot of Yarn's own method. */
  name: string;
}

const originalSlot = (zips: DerivedZips) => Symbol.for(`yarn-plugin-sigstore.${zips.name}`);
type Slots = Record<string | symbol, BuildZip | undefined>;

/** Tells `onBuilt` of each zip Yarn builds (a cache miss), so that the gate binds it without building it twice. */
export function watchBuilds(zips: DerivedZips, onBuilt: (locator: Locator, opts: FetchOptions) => void): void {
  patchOnce(zips.name, () => {
    const slots = zips.prototype as Slots;
    const build = (slots[originalSlot(zips)] = slots[zips.method]!);
    slots[zips.method] = async function (this: unknown, locator: Locator, opts: FetchOptions) {
      const zip = await build.call(this, locator, opts);
      onBuilt(locator, opts);
      return zip;
    };
  });
}

/** Has Yarn's own method build the zip again (on `fetcher`) and hashes it; the temporary zip is removed. */
export async function rebuiltSha512(zips: DerivedZips, fetcher: object, locator: Locator, opts: FetchOptions): Promise<string> {
  const slots = zips.prototype as Slots;
  const build = slots[originalSlot(zips)] ?? slots[zips.method]!;
  const zip = await build.call(fetcher, locator, opts);
  const zipPath = zip.getRealPath();
  zip.saveAndClose();
  try {
    return await sha512File(npath.fromPortablePath(zipPath));
  } finally {
    await xfs.removePromise(ppath.dirname(zipPath) as PortablePath);
  }
}

/** A derived zip bound in this install: the link step fetches it again. */
export interface BoundZip {
  zipPath: string;
  observed: string;
  zipSha512: string;
}

/** How one kind of derived zip is bound to what Yarn derives it from. */
export interface DerivedZipBinding<Sources> {
  zips: DerivedZips;
  fetcher: () => object;
  /** Whether Yarn built it in this install (`watchBuilds`). */
  built: boolean;
  /** Zips bound earlier in this install, by locator hash. */
  bound: Map<string, BoundZip>;
  /** The digests of what the derivation reads, asked for only when the zip is not bound yet. */
  sources: () => Promise<Sources>;
  /** Whether the user's MAC'd record store binds these zip bytes to these sources. */
  recorded: (zipSha512: string, sources: Sources) => Promise<boolean>;
  remember: (zipSha512: string, sources: Sources) => void;
  /** Nothing of it is installed (a package for another platform), so a missing zip is fine. */
  mocked?: boolean;
  absentMessage: (zipPath: string) => string;
  mismatchMessage: string;
}

/**
 * Binds the derived zip Yarn hands over: built in this install, recorded in
 * the user's store for these sources, or equal to what Yarn derives again
 * here (then recorded); otherwise CACHE_BINDING_MISSING.
 */
export async function bindDerivedZip<Sources>(locator: Locator, result: FetchResult, opts: FetchOptions, binding: DerivedZipBinding<Sources>): Promise<void> {
  const subject = structUtils.stringifyLocator(locator);
  const zipPath = npath.fromPortablePath(result.packageFs.getRealPath());
  const current = fileIdentity(zipPath);
  if (current === undefined) {
    if (binding.mocked) return;
    throw reportError(new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${subject}: ${binding.absentMessage(zipPath)}`, { subject }));
  }
  const bound = binding.bound.get(locator.locatorHash);
  // The link step's second fetch of the archive bound a moment ago.
  if (bound?.zipPath === zipPath && bound.observed === current) return;
  const zipSha512 = await sha512File(zipPath);
  const sources = await binding.sources();
  const recorded = !binding.built && (await binding.recorded(zipSha512, sources));
  if (!binding.built && !recorded && (await rebuiltSha512(binding.zips, binding.fetcher(), locator, opts)) !== zipSha512)
    throw reportError(new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${subject}: ${binding.mismatchMessage}`, { subject }));
  if (!recorded) binding.remember(zipSha512, sources);
  binding.bound.set(locator.locatorHash, { zipPath, observed: current, zipSha512 });
}
