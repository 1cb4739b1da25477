/**
 * A `file:` tarball's zip is Yarn's conversion of a tarball that lives in the
 * project (TarballFileFetcher). A cached one is only a file: a committed
 * zero-install cache can hold any bytes under its name, yarn.lock's checksum
 * edited to match, and Yarn then uses it without reading the tarball. So it
 * counts only when bound to the tarball as it is now, one of three ways:
 * - Yarn converted it in this install (its loader ran);
 * - the user's MAC'd record store binds these zip bytes to the tarball's bytes;
 * - Yarn's own fetcher converts the tarball again here and the bytes are
 *   equal (a fresh CI machine on a committed cache), which is then recorded.
 */
import { createHash } from 'crypto';
import { structUtils, type FetchOptions, type FetchResult, type Locator } from '@yarnpkg/core';
import { TarballFileFetcher, fileUtils } from '@yarnpkg/plugin-file';
import { bindDerivedZip, watchBuilds, type DerivedZips } from './derived-zips';
import type { PipelineAdapter } from './pipeline-adapter';

const CONVERTED: DerivedZips = { prototype: TarballFileFetcher.prototype, method: 'fetchFromDisk', name: 'fileTarballFetchFromDisk' };

/** Whether Yarn fetches `locator` as a `file:` tarball. */
export const isFileTarball = (locator: Locator): boolean => new TarballFileFetcher().supports(locator, undefined as never);

/** Tells `onBuilt` of each `file:` tarball Yarn converts (a cache miss). */
export function watchFileTarballBuilds(onBuilt: (locator: Locator, opts: FetchOptions) => void): void {
  watchBuilds(CONVERTED, onBuilt);
}

export async function bindFileTarball(locator: Locator, result: FetchResult, opts: FetchOptions, session: PipelineAdapter): Promise<void> {
  const name = structUtils.stringifyIdent(locator);
  await bindDerivedZip(locator, result, opts, {
    zips: CONVERTED,
    fetcher: () => new TarballFileFetcher(),
    built: session.archives.builtFileTarballs.has(locator.locatorHash),
    bound: session.archives.boundFileTarballs,
    sources: async () => createHash('sha512').update(await fileUtils.fetchArchiveFromLocator(locator, opts)).digest('hex'),
    recorded: async (zipSha512, tgzSha512) => {
      const record = await session.pipeline.store.lookup('fileTarball', { zipSha512 });
      return record?.zipSha512 === zipSha512 && record.tgzSha512 === tgzSha512 && record.name === name;
    },
    remember: (zipSha512, tgzSha512) => session.pipeline.store.remember('fileTarball', { zipSha512 }, { zipSha512, tgzSha512, name }),
    absentMessage: (zipPath) => `no archive at ${zipPath} to compare with its tarball`,
    mismatchMessage: 'the cached archive is not the one Yarn makes from the tarball in the project (cache tampered, or the tarball changed)',
  });
}
