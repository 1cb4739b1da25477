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
import { npath } from '@yarnpkg/fslib';
import { structUtils, type FetchOptions, type FetchResult, type Locator } from '@yarnpkg/core';
import { TarballFileFetcher, fileUtils } from '@yarnpkg/plugin-file';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { fileIdentity } from './archiveIndex';
import { sha512File } from './bindings';
import { rebuiltSha512, watchBuilds, type DerivedZips } from './derivedZips';
import { reportError } from './errors';
import type { GateSession } from './session';

const CONVERTED: DerivedZips = { prototype: TarballFileFetcher.prototype, method: 'fetchFromDisk', name: 'fileTarballFetchFromDisk' };

interface FileTarballRecord {
  zipSha512: string;
  tgzSha512: string;
  name: string;
}

/** Kept among the store's bindings under their own key prefix: no other binding answers for it. */
const recordKey = (zipSha512: string) => `file:${zipSha512}`;

/** Whether Yarn fetches `locator` as a `file:` tarball. */
export const isFileTarball = (locator: Locator): boolean => new TarballFileFetcher().supports(locator, undefined as never);

/** Tells `onBuilt` of each `file:` tarball Yarn converts (a cache miss). */
export function watchFileTarballBuilds(onBuilt: (locator: Locator, opts: FetchOptions) => void): void {
  watchBuilds(CONVERTED, onBuilt);
}

export async function bindFileTarball(locator: Locator, result: FetchResult, opts: FetchOptions, session: GateSession): Promise<void> {
  const subject = structUtils.stringifyLocator(locator);
  const zipPath = npath.fromPortablePath(result.packageFs.getRealPath());
  const current = fileIdentity(zipPath);
  if (current === undefined) throw reportError(new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${subject}: no archive at ${zipPath} to compare with its tarball`, { subject }));
  const bound = session.boundFileTarballs.get(locator.locatorHash);
  // The link step's second fetch of the archive bound a moment ago.
  if (bound?.zipPath === zipPath && bound.observed === current) return;
  const zipSha512 = await sha512File(zipPath);
  const tgzSha512 = createHash('sha512').update(await fileUtils.fetchArchiveFromLocator(locator, opts)).digest('hex');
  const name = structUtils.stringifyIdent(locator);
  const built = session.builtFileTarballs.has(locator.locatorHash);
  const record = built ? undefined : await session.records.get<FileTarballRecord>('bindings', recordKey(zipSha512));
  const recorded = record?.zipSha512 === zipSha512 && record.tgzSha512 === tgzSha512 && record.name === name;
  if (!built && !recorded && (await rebuiltSha512(CONVERTED, new TarballFileFetcher(), locator, opts)) !== zipSha512) {
    throw reportError(
      new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${subject}: the cached archive is not the one Yarn makes from the tarball in the project (cache tampered, or the tarball changed)`, { subject }),
    );
  }
  if (!recorded) session.records.put('bindings', recordKey(zipSha512), { zipSha512, tgzSha512, name } satisfies FileTarballRecord);
  session.boundFileTarballs.set(locator.locatorHash, { zipPath, observed: current });
}
