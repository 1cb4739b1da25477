/**
 * A `patch:` package's zip is derived by Yarn (PatchFetcher): the base
 * archive copied under the patched package's name, then each patch file
 * applied (its hunks filtered by the base version). A cached patched zip is
 * only a file: a committed zero-install cache or a restored global folder can
 * hold any bytes under its name, and yarn.lock's checksum is just as
 * writable. So it counts only when bound to the base archive the gate
 * accepted in this install plus the patch content, one of three ways:
 * - Yarn built it in this install (its loader ran, from the gated base);
 * - a binding this plugin wrote earlier, in the user's MAC'd record store,
 *   says these bytes are that base plus that patch content;
 * - Yarn's own PatchFetcher derives it again here and the bytes are equal
 *   (a fresh CI machine on a committed cache), which is then recorded.
 * What the derivation reads, hence the key: the base archive's bytes, the
 * patched package's name (its folder inside the zip), the base version (for
 * `semver exclusivity` hunks) and each patch file's content and `optional`
 * flag. The compression level and Yarn's zip writer change the bytes, not
 * what they mean: the record is keyed by the bytes themselves.
 */
import { createHash } from 'crypto';
import { structUtils, type FetchOptions, type FetchResult, type Locator } from '@yarnpkg/core';
import { PatchFetcher, patchUtils } from '@yarnpkg/plugin-patch';
import { bindDerivedZip, watchBuilds, type DerivedZips } from './derived-zips';
import type { PipelineAdapter } from './pipeline-adapter';

const PATCHED: DerivedZips = { prototype: PatchFetcher.prototype, method: 'patchPackage', name: 'patchPackage' };

/** Tells `onBuilt` of each patched zip Yarn builds (a cache miss), so that the gate binds it without deriving it twice. */
export function watchPatchBuilds(onBuilt: (locator: Locator, opts: FetchOptions) => void): void {
  watchBuilds(PATCHED, onBuilt);
}

/** sha256 over what the derivation reads besides the base archive. */
export async function patchContentDigest(locator: Locator, opts: FetchOptions): Promise<string> {
  const { parentLocator, patchPaths, sourceVersion } = patchUtils.parseLocator(locator);
  const patches = await patchUtils.loadPatchFiles(parentLocator, patchPaths, opts);
  const content = { name: structUtils.stringifyIdent(locator), sourceVersion, patches: patches.map(({ optional, source }) => ({ optional, source })) };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/**
 * Binds the patched zip Yarn hands over to `baseZipSha512` (the base archive
 * the gate accepted; undefined when the base is no archive file, e.g. a
 * linked folder: then only a derivation binds it) plus the patch content.
 */
export async function bindPatchedArchive(locator: Locator, baseZipSha512: string | undefined, result: FetchResult, opts: FetchOptions, session: PipelineAdapter): Promise<void> {
  const name = structUtils.stringifyIdent(locator);
  await bindDerivedZip(locator, result, opts, {
    zips: PATCHED,
    fetcher: () => new PatchFetcher(),
    built: session.archives.builtPatches.has(locator.locatorHash),
    bound: session.archives.boundPatches,
    sources: () => patchContentDigest(locator, opts),
    recorded: async (patchedZipSha512, patchDigest) => {
      if (baseZipSha512 === undefined) return false;
      const record = await session.pipeline.store.lookup('patch', { patchedZipSha512 });
      return record !== undefined && record.baseZipSha512 === baseZipSha512 && record.patchDigest === patchDigest && record.name === name;
    },
    remember: (patchedZipSha512, patchDigest) => {
      if (baseZipSha512 !== undefined) session.pipeline.store.remember('patch', { patchedZipSha512 }, { patchedZipSha512, baseZipSha512, patchDigest, name });
    },
    // A patched package for another platform is mocked: nothing of it is installed.
    mocked: opts.cacheOptions?.mockedPackages?.has(locator.locatorHash),
    absentMessage: (zipPath) => `no patched archive at ${zipPath} to verify`,
    mismatchMessage: 'the cached patched archive is not the one Yarn derives from the verified base and the patch (cache tampered, or built from other bytes)',
  });
}
