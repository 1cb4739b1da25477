/**
 * The install-time gate. Every fetch of every protocol goes through the
 * fetcher `Configuration.makeFetcher()` returns; we wrap it so that nothing
 * reaches Yarn's link step without a verdict. Registry tarballs are hashed
 * in plugin-npm's loader (cache miss) or bound through a content-keyed record
 * or a fresh download (cache hit).
 */
import { statSync } from 'fs';
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import { Configuration, httpUtils, structUtils, type FetchOptions, type FetchResult, type Fetcher, type Locator } from '@yarnpkg/core';
import { NpmHttpFetcher, NpmSemverFetcher } from '@yarnpkg/plugin-npm';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { parseJsonBody, sourceError } from '../sources/http';
import { fileIdentity, sha512File, sha512Hex, type ComputedDigest } from '../install/bind';
import { reportError } from './errors';
import { checkResolvedManifest, readManifestFacts, resolvedDigest } from './manifest-check';
import { isOutsideProject, npmVersion, patchBase, routeOf, splitProtocol } from './locators';
import { PipelineAdapter } from './pipeline-adapter';
import { bindFileTarball, isFileTarball, watchFileTarballBuilds } from './file-tarball-binding';
import { bindPatchedArchive, watchPatchBuilds } from './patch-binding';
import { patchOnce } from './state';
import { convertTarball, downloadTarball } from './tarball';
import { yarnTransport } from './transport';

const GATED = Symbol.for('yarn-plugin-sigstore.gated-fetcher');

export function installFetcherGate(): void {
  patchOnce('makeFetcher', () => {
    const makeFetcher = Configuration.prototype.makeFetcher;
    Configuration.prototype.makeFetcher = function (this: Configuration) {
      return gateFetcher(makeFetcher.call(this)) as ReturnType<typeof makeFetcher>;
    };
  });
  patchOnce('npmLoaders', () => {
    for (const fetcherClass of [NpmSemverFetcher, NpmHttpFetcher]) replaceNpmLoader(fetcherClass, gatedLoad);
  });
  watchPatchBuilds((locator, opts) => PipelineAdapter.for(opts.project).archives.builtPatches.add(locator.locatorHash));
  watchFileTarballBuilds((locator, opts) => PipelineAdapter.for(opts.project).archives.builtFileTarballs.add(locator.locatorHash));
}

type NpmLoader = typeof gatedLoad;

/**
 * plugin-npm declares its loader `private fetchFromNetwork`, so its typings
 * cannot name it: this is the one place that reaches past them.
 */
function replaceNpmLoader(fetcherClass: typeof NpmSemverFetcher | typeof NpmHttpFetcher, loader: NpmLoader): void {
  (fetcherClass.prototype as unknown as { fetchFromNetwork: NpmLoader }).fetchFromNetwork = loader;
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
  const session = PipelineAdapter.for(opts.project);
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
      await checkSource(locator, session);
      return isFileTarball(locator) ? fetchFileTarball(locator, opts, fetch, session) : fetch(locator, opts);
    case 'foreign':
      return fetchForeign(locator, opts, fetch, session);
  }
}

/** A `file:` tarball of the project: its cached zip must be the one Yarn makes from the tarball (src/yarn/file-tarball-binding.ts). */
async function fetchFileTarball(locator: Locator, opts: FetchOptions, fetch: Fetch, session: PipelineAdapter): Promise<FetchResult> {
  const result = await fetch(locator, opts);
  await bindOrRelease(locator, result, session, () => bindFileTarball(locator, result, opts, session));
  return result;
}

async function fetchForeign(locator: Locator, opts: FetchOptions, fetch: Fetch, session: PipelineAdapter): Promise<FetchResult> {
  const category = await checkSource(locator, session);
  const result = await fetch(locator, opts);
  if (category === 'tarball') await bindOrRelease(locator, result, session, () => bindTarballBundle(locator, result, opts, session));
  return result;
}

/**
 * A `patch:` package is judged by its base, fetched (and so gated) even when
 * the patched zip is cached; the patched zip must then be bound to that base
 * plus the patch content (src/yarn/patch-binding.ts).
 */
async function fetchPatch(locator: Locator, opts: FetchOptions, fetch: Fetch, session: PipelineAdapter): Promise<FetchResult> {
  const base = patchBase(locator);
  if (base === null) throw reportError(new SigstorePluginError(ErrorCodes.SOURCE_DENIED, `${structUtils.stringifyLocator(locator)}: patch without a base package`));
  const baseResult = await gatedFetch(base, opts, fetch);
  const baseZipSha512 = await gatedArchiveSha512(base, baseResult, session);
  baseResult.releaseFs?.();
  // The verdict is the base's (counted once); the patch itself is the project's own change.
  session.recordSource(locator, 'local', `patch of ${structUtils.stringifyLocator(base)}`);
  const result = await fetch(locator, opts);
  await bindOrRelease(locator, result, session, () => bindPatchedArchive(locator, baseZipSha512, result, opts, session));
  return result;
}

/** The sha512 of the archive the gate just accepted for `locator`: as bound, else hashed; undefined when it is no file (a linked folder). */
async function gatedArchiveSha512(locator: Locator, result: FetchResult, session: PipelineAdapter): Promise<string | undefined> {
  const { bound: archives, boundZips, boundPatches } = session.archives;
  const bound = archives.get(locator.locatorHash)?.zipSha512 ?? boundZips.get(locator.locatorHash) ?? boundPatches.get(locator.locatorHash)?.zipSha512;
  if (bound !== undefined) return bound;
  const path = npath.fromPortablePath(result.packageFs.getRealPath());
  return statSync(path, { throwIfNoEntry: false })?.isFile() ? sha512File(path) : undefined;
}

async function checkSource(locator: Locator, session: PipelineAdapter): Promise<string> {
  const { policy } = await session.ready();
  const range = locator.reference;
  const { protocol, reference } = splitProtocol(range);
  const decision = policy.judgeSource({
    name: structUtils.stringifyIdent(locator),
    protocol,
    reference,
    outsideProject: routeOf(range) === 'local' ? isOutsideProject(session.project, range) : undefined,
  });
  if (decision.decision === 'deny') {
    session.markFailed(locator, { code: ErrorCodes.SOURCE_DENIED, message: decision.message });
    throw reportError(new SigstorePluginError(ErrorCodes.SOURCE_DENIED, decision.message));
  }
  session.recordSource(locator, decision.category === 'project-local' ? 'local' : 'allowed-source', decision.message);
  return decision.category;
}

async function fetchRegistryPackage(locator: Locator, opts: FetchOptions, fetch: Fetch, session: PipelineAdapter): Promise<FetchResult> {
  if (npmVersion(locator) === null) {
    throw reportError(new SigstorePluginError(ErrorCodes.INTERNAL, `${structUtils.stringifyLocator(locator)}: registry reference without a version`));
  }
  session.prefetch([locator]);
  const sinceNs = BigInt(Date.now()) * 1_000_000n;
  const result = await fetch(locator, opts);
  const computed = checksumYarnComputed(result, opts);
  await bindOrRelease(locator, result, session, () => bindCachedArchive(locator, result, opts, session, computed === undefined ? undefined : { sha512: computed, sinceNs }));
  return result;
}

/**
 * The sha512 Yarn's cache computed of the very archive it hands over, when it
 * did (Cache.fetchPackageFromCache, validateFile): the fetch step hashes every
 * archive, new or a cache hit, except when told to skip the integrity check
 * (the link step: the checksum is then the lockfile's) and for a conditional
 * package (none). On a mismatch with yarn.lock only `throw` (the default) and
 * `update` keep the file's own checksum: `ignore` and `reset` hand over the
 * lockfile's, even for a zip just made from another tarball. Hashing the zip
 * again would read every archive of a cold install or a restored cache twice.
 */
function checksumYarnComputed(result: FetchResult, opts: FetchOptions): string | undefined {
  if (opts.cacheOptions?.skipIntegrityCheck || !FILE_CHECKSUM_BEHAVIORS.has(opts.project.configuration.get('checksumBehavior'))) return undefined;
  return /^[^/]+\/([0-9a-f]{128})$/.exec(result.checksum ?? '')?.[1];
}

const FILE_CHECKSUM_BEHAVIORS: ReadonlySet<unknown> = new Set(['throw', 'update']);

/** Runs a binding step; on failure, releases the archive and records the package as failed. */
async function bindOrRelease(locator: Locator, result: FetchResult, session: PipelineAdapter, bind: () => Promise<void>): Promise<void> {
  try {
    await bind();
  } catch (error) {
    result.releaseFs?.();
    const failure = error instanceof Error ? error : new Error(String(error));
    if (session.status(locator) !== 'failed') session.markFailed(locator, { code: (failure as { sigstoreCode?: string }).sigstoreCode ?? ErrorCodes.INTERNAL, message: failure.message });
    throw error;
  }
}

/**
 * plugin-npm's loader, replaced: download, hash, verify and judge the tarball,
 * and only then convert it (a denied package never enters the cache).
 */
async function gatedLoad(locator: Locator, opts: FetchOptions) {
  const session = PipelineAdapter.for(opts.project);
  const tgz = await downloadTarball(locator, opts);
  // Hashed here: WebCrypto's digest, meant to move the work off Yarn's main thread, cost that thread more than hashing a tarball on it (profiled).
  const sha512 = sha512Hex(tgz);
  await session.judge(locator, sha512, opts.report);
  session.archives.loaderHashes.set(locator.locatorHash, sha512);
  const zip = await convertTarball(tgz, locator, opts);
  // The zip is open in memory now: reading its package.json here spares opening the cache file again.
  session.archives.loaderManifests.set(locator.locatorHash, await readManifestFacts({ packageFs: zip, prefixPath: structUtils.getIdentVendorPath(locator) }));
  return zip;
}

/**
 * Binds the zip Yarn hands over to a verified tarball: hashed by this install's
 * loader, or known from the project's archive index or a binding record in the
 * user's cache, or else downloaded, verified and converted again, and the
 * archives compared. Then checks what Yarn resolved against its package.json.
 */
async function bindCachedArchive(locator: Locator, result: FetchResult, opts: FetchOptions, session: PipelineAdapter, computed?: ComputedDigest): Promise<void> {
  const name = structUtils.stringifyIdent(locator);
  const version = npmVersion(locator)!;
  const zipPath = npath.fromPortablePath(result.packageFs.getRealPath());
  const current = fileIdentity(zipPath);
  if (current === undefined) {
    // Packages for other platforms are mocked: nothing of them is installed.
    if (opts.cacheOptions?.mockedPackages?.has(locator.locatorHash)) return session.recordSource(locator, 'skipped', 'not installed on this platform');
    throw reportError(new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${name}@${version}: no archive at ${zipPath} to verify`, { subject: `${name}@${version}` }));
  }
  const bound = session.archives.bound.get(locator.locatorHash);
  // The link step's second fetch of the archive this install bound and checked already.
  if (bound?.zipPath === zipPath && bound.observed === current) return;
  const { sha512: zipSha512, observed, identity, entry } = await session.archiveDigest(locator, zipPath, current, computed);
  if (bound?.zipSha512 === zipSha512) return;

  let tgzSha512 = session.archives.loaderHashes.get(locator.locatorHash);
  if (tgzSha512 === undefined) {
    tgzSha512 = await session.boundTarball(zipSha512, name, version, entry);
    if (tgzSha512 !== undefined) await session.judge(locator, tgzSha512, opts.report);
    else tgzSha512 = await rederive(locator, zipSha512, opts, session);
  } else {
    session.rememberBinding({ zipSha512, tgzSha512, name, version });
  }
  const manifest = entry?.manifest ?? session.archives.loaderManifests.get(locator.locatorHash) ?? (await readManifestFacts(result));
  const pkg = opts.project.originalPackages.get(locator.locatorHash);
  const digest = pkg && resolvedDigest(pkg, opts.project.configuration);
  // The same package as when these very bytes' manifest last matched it in full: the check would find nothing again.
  const matched = (digest !== undefined && entry?.resolved === digest) || (await checkResolvedManifest(locator, manifest, pkg, session, opts.report));
  session.archives.bound.set(locator.locatorHash, { zipPath, observed, identity, zipSha512, tgzSha512, name, version, manifest, resolved: matched ? digest : undefined });
}

async function rederive(locator: Locator, zipSha512: string, opts: FetchOptions, session: PipelineAdapter): Promise<string> {
  const tgz = await downloadTarball(locator, opts);
  const tgzSha512 = sha512Hex(tgz);
  await session.judge(locator, tgzSha512, opts.report);
  await assertSameArchive(tgz, locator, zipSha512, opts);
  session.rememberBinding({ zipSha512, tgzSha512, name: structUtils.stringifyIdent(locator), version: npmVersion(locator)! });
  return tgzSha512;
}

/** Converts the verified tarball as Yarn does and checks that the result is the very archive Yarn holds. */
async function assertSameArchive(tgz: Buffer, locator: Locator, zipSha512: string, opts: FetchOptions): Promise<void> {
  const zip = await convertTarball(tgz, locator, opts);
  const freshPath = npath.fromPortablePath(zip.getRealPath());
  zip.discardAndClose();
  if ((await sha512File(freshPath)) !== zipSha512) {
    const subject = structUtils.stringifyLocator(locator);
    throw reportError(
      new SigstorePluginError(ErrorCodes.CACHE_BINDING_MISSING, `${subject}: the cached archive does not match the archive made from the verified tarball (cache tampered or built from other bytes)`, { subject }),
    );
  }
}

/**
 * A tarball-URL dependency the policy's sources allow: a bundle published at
 * `<url>.sigstore.json` is verified like a registry bundle (subject: the
 * tarball's own name, version and sha512) and must pass; without one the
 * source allowance alone admits it.
 */
async function bindTarballBundle(locator: Locator, result: FetchResult, opts: FetchOptions, session: PipelineAdapter): Promise<void> {
  const zipSha512 = await sha512File(npath.fromPortablePath(result.packageFs.getRealPath()));
  if (session.archives.boundZips.get(locator.locatorHash) === zipSha512) return;
  const url = locator.reference;
  const bundleUrl = `${url}.sigstore.json`;
  const subjectName = structUtils.stringifyLocator(locator);
  const transport = yarnTransport(opts.project.configuration, locator, session.settings);
  let bundleBody: Buffer | null;
  try {
    bundleBody = await transport.anonymousGet(bundleUrl);
  } catch (error) {
    throw reportError(sourceError(subjectName, bundleUrl, (error as Error).message, error));
  }
  if (bundleBody !== null) {
    const bundle = parseJsonBody(bundleBody, session.settings.maxResponseBytes, subjectName, bundleUrl);
    // Yarn's HTTP layer memoizes bodies per URL: in this process this is the very buffer Yarn converted.
    const tgz: Buffer = await httpUtils.get(url, { configuration: opts.project.configuration });
    const manifest = await result.packageFs.readJsonPromise(ppath.join(result.prefixPath, 'package.json' as PortablePath));
    await session.judgeTarballBundle(locator, { name: String(manifest.name), version: String(manifest.version), sha512Hex: sha512Hex(tgz) }, bundle, bundleUrl, opts.report);
    await assertSameArchive(tgz, locator, zipSha512, opts);
  }
  session.archives.boundZips.set(locator.locatorHash, zipSha512);
}
