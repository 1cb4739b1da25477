/**
 * Downloads a registry tarball exactly as plugin-npm's fetchers do, so the
 * gate can hash the very bytes that are then converted into Yarn's zip.
 */
import { structUtils, tgzUtils, type FetchOptions, type Locator } from '@yarnpkg/core';
import { NpmSemverFetcher, npmConfigUtils, npmHttpUtils } from '@yarnpkg/plugin-npm';
import type { ZipFS } from '@yarnpkg/libzip';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { sourceError } from '../sources/http';
import { reportError } from './errors';
import { networkRefusal } from './offline';

export async function downloadTarball(locator: Locator, opts: FetchOptions): Promise<Buffer> {
  const configuration = opts.project.configuration;
  const request = { customErrorMessage: npmHttpUtils.customPackageError, configuration, ident: locator };
  const { params } = structUtils.parseRange(locator.reference);
  const url = params !== null && typeof params.__archiveUrl === 'string' ? params.__archiveUrl : NpmSemverFetcher.getLocatorUrl(locator);
  const absolute = () => (url.startsWith('/') ? npmConfigUtils.getScopeRegistry(locator.scope, { configuration }).replace(/\/+$/, '') + url : url);
  // Offline, a download is only ever needed where nothing cached vouches for the archive: say that, not "download failed".
  const refusal = networkRefusal(configuration, absolute());
  if (refusal !== undefined) {
    const subject = structUtils.stringifyLocator(locator);
    throw reportError(
      new SigstorePluginError(ErrorCodes.SOURCE_OFFLINE, `${subject}: no cached record binds its archive to a verified tarball, and the network is disabled (${refusal}); run one install with the network`, { subject }),
    );
  }
  try {
    try {
      return await npmHttpUtils.get(url, request);
    } catch (error) {
      // As plugin-npm: some registries refuse %2f in tarball paths.
      if (url.includes('%2f')) return await npmHttpUtils.get(url.replace(/%2f/g, '/'), request);
      throw error;
    }
  } catch (error) {
    throw reportError(sourceError(structUtils.stringifyLocator(locator), absolute(), `downloading the tarball to verify it failed: ${(error as Error).message}`));
  }
}

export function convertTarball(tgz: Buffer, locator: Locator, opts: FetchOptions): Promise<ZipFS> {
  return tgzUtils.convertToZip(tgz, {
    configuration: opts.project.configuration,
    prefixPath: structUtils.getIdentVendorPath(locator),
    stripComponents: 1,
  });
}
