/**
 * The install-time gate. Every fetch of every protocol goes through the
 * fetcher `Configuration.makeFetcher()` returns; we wrap it so that nothing
 * reaches Yarn's link step without a verdict. Registry tarballs are hashed
 * in plugin-npm's loader (cache miss) or bound through a content-keyed record
 * or a fresh download (cache hit).
 */
import { npath } from '@yarnpkg/fslib';
import { Configuration, structUtils, type FetchOptions, type FetchResult, type Fetcher, type Locator } from '@yarnpkg/core';
import { NpmHttpFetcher, NpmSemverFetcher } from '@yarnpkg/plugin-npm';
import { existsSync } from 'fs';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { sha512File, sha512Hex } from './bindings';
import { reportError } from './errors';
import { isOutsideProject, npmVersion, patchBase, routeOf, splitProtocol } from './locators';
import { GateSession } from './session';
import { patchOnce } from './state';
import { convertTarball, downloadTarball } from './tarball';

const GATED = Symbol.for('yarn-plugin-sigstore.gated-fetcher');

export function installFetcherGate(): void {
  patchOnce('makeFetcher', () => {
    const makeFetcher = Configuration.prototype.makeFetcher;
    Configuration.prototype.makeFetcher = function (this: Configuration) {
      return gateFetcher(makeFetcher.call(this)) as ReturnType<typeof makeFetcher>;
    };
  });
  patchOnce('npmLoaders', () => {
    for (const fetcherClass of [NpmSemverFetcher, NpmHttpFetcher]) {
      (fetcherClass.prototype as any).fetchFromNetwork = gatedLoad;
    }
  });
}

function gateFetcher(fetcher: Fetcher): Fetcher {
  const gated = fetcher as Fetcher & { [GATED]?: true };
  if (gated[GATED]) return fetcher;
  const fetch = fetcher.fetch.bind(fetcher);
  gated.fetch = (locator, opts) => gatedFetch(locator, opts, fetch);
  gated[GATED] = true;
  return fetcher;
}

type Fetch = (locator: Locator, opts: FetchOptions) => Promise<FetchResult>;

async function gatedFetch(locator: Locator, opts: FetchOptions, fetch: Fetch): Promise<FetchResult> {
  const session = GateSession.for(opts.project);
  switch (routeOf(locator.reference)) {
    case 'virtual':
      // The virtual fetcher fetches the devirtualized package through this same gate.
      return fetch(locator, opts);
    case 'workspace':
      session.recordSource(locator, 'local', 'workspace');
      return fetch(locator, opts);
    case 'patch':
      return fetchPatch(locator, opts, fetch, session);
    case 'npm':
      return fetchRegistryPackage(locator, opts, fetch, session);
    case 'local':
    case 'foreign':
      await checkSource(locator, session);
      return fetch(locator, opts);
  }
}

/** A `patch:` package is judged by its base, fetched (and so gated) even when the patched zip is cached. */
async function fetchPatch(locator: Locator, opts: FetchOptions, fetch: Fetch, session: GateSession): Promise<FetchResult> {
  const base = patchBase(locator);
  if (base === null) throw reportError(new SigstorePluginError(ErrorCodes.SOURCE_DENIED, `${structUtils.stringifyLocator(locator)}: patch without a base package`));
  const baseResult = await gatedFetch(base, opts, fetch);
  baseResult.releaseFs?.();
  session.recordSource(locator, session.mayRunScripts(base) ? 'allowed-source' : 'local', `patch of ${structUtils.stringifyLocator(base)}`);
  return fetch(locator, opts);
}

async function checkSource(locator: Locator, session: GateSession): Promise<void> {
  const { policy } = await session.ready();
  const range = locator.reference;
  const { protocol, reference } = splitProtocol(range);
  const decision = policy.judgeSource({
    name: structUtils.stringifyIdent(locator),
    protocol,
    reference,
    outsideProject: routeOf(range) === 'local' ? isOutsideProject(session.project, range) : undefined,
  });
  if (decision.decision === 'deny') throw reportError(new SigstorePluginError(ErrorCodes.SOURCE_DENIED, decision.message));
  session.recordSource(locator, decision.category === 'project-local' ? 'local' : 'allowed-source', decision.message);
}

async function fetchRegistryPackage(locator: Locator, opts: FetchOptions, fetch: Fetch, session: GateSession): Promise<FetchResult> {
  if (npmVersion(locator) === null) {
    throw reportError(new SigstorePluginError(ErrorCodes.INTERNAL, `${structUtils.stringifyLocator(locator)}: registry reference without a version`));
  }
  void session.documentFor(locator);
  const result = await fetch(locator, opts);
  try {
    await bindCachedArchive(locator, result, opts, session);
  } catch (error) {
    result.releaseFs?.();
    throw error;
  }
  return result;
}

/**
 * plugin-npm's loader, replaced: download, hash, verify and judge the tarball,
 * and only then convert it (a denied package never enters the cache).
 */
async function gatedLoad(locator: Locator, opts: FetchOptions) {
  const session = GateSession.for(opts.project);
  const tgz = await downloadTarball(locator, opts);
  const sha512 = sha512Hex(tgz);
  await session.judge(locator, sha512, opts.report);
  session.loaderHashes.set(locator.locatorHash, sha512);
  return convertTarball(tgz, locator, opts);
}

/**
 * Binds the zip Yarn hands over to a verified tarball: hashed by this install's
 * loader, or a record in the user's cache, or else downloaded, verified and
 * converted again, and the archives compared.
 */
async function bindCachedArchive(locator: Locator, result: FetchResult, opts: FetchOptions, session: GateSession): Promise<void> {
  const name = structUtils.stringifyIdent(locator);
  const version = npmVersion(locator)!;
  const zipPath = npath.fromPortablePath(result.packageFs.getRealPath());
  if (!existsSync(zipPath)) {
    // Packages for other platforms are mocked: nothing of them is installed.
    if (opts.cacheOptions?.mockedPackages?.has(locator.locatorHash)) return session.recordSource(locator, 'local', 'not installed on this platform');
    throw reportError(new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${name}@${version}: no archive at ${zipPath} to verify`, { subject: `${name}@${version}` }));
  }
  const zipSha512 = await sha512File(zipPath);
  if (session.boundZips.get(locator.locatorHash) === zipSha512) return;

  const loaderSha = session.loaderHashes.get(locator.locatorHash);
  if (loaderSha !== undefined) {
    await session.bindings.write({ zipSha512, tgzSha512: loaderSha, name, version });
  } else {
    const record = await session.bindings.read(zipSha512);
    if (record && record.name === name && record.version === version) {
      await session.judge(locator, record.tgzSha512, opts.report);
    } else {
      await rederive(locator, zipSha512, opts, session);
    }
  }
  session.boundZips.set(locator.locatorHash, zipSha512);
}

async function rederive(locator: Locator, zipSha512: string, opts: FetchOptions, session: GateSession): Promise<void> {
  const name = structUtils.stringifyIdent(locator);
  const version = npmVersion(locator)!;
  const tgz = await downloadTarball(locator, opts);
  const tgzSha512 = sha512Hex(tgz);
  await session.judge(locator, tgzSha512, opts.report);
  const zip = await convertTarball(tgz, locator, opts);
  const freshPath = npath.fromPortablePath(zip.getRealPath());
  zip.discardAndClose();
  if ((await sha512File(freshPath)) !== zipSha512) {
    throw reportError(
      new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${name}@${version}: the cached archive does not match the archive made from the verified tarball (cache tampered or built from other bytes)`, { subject: `${name}@${version}` }),
    );
  }
  await session.bindings.write({ zipSha512, tgzSha512, name, version });
}
