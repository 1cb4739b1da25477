/**
 * Zips Yarn derives in its fetchers rather than downloads (a patched package,
 * a `file:` tarball converted): the gate is told when Yarn builds one in this
 * install, and can have Yarn build one again to compare with a cached copy.
 * Yarn's own method is kept where every evaluation of the plugin finds it
 * (the factory runs several times per process).
 */
import { npath, ppath, xfs, type PortablePath } from '@yarnpkg/fslib';
import type { FetchOptions, Locator } from '@yarnpkg/core';
import type { ZipFS } from '@yarnpkg/libzip';
import { sha512File } from './bindings';
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
