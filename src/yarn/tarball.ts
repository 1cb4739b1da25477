/**
 * Downloads a registry tarball exactly as plugin-npm's fetchers do, so the
 * gate can hash the very bytes that are then converted into Yarn's zip.
 */
import { structUtils, tgzUtils, type FetchOptions, type Locator } from '@yarnpkg/core';
import { NpmSemverFetcher, npmConfigUtils, npmHttpUtils } from '@yarnpkg/plugin-npm';
import type { ZipFS } from '@yarnpkg/libzip';
import { sourceError } from '../sources/http';
import { reportError } from './errors';

export async function downloadTarball(locator: Locator, opts: FetchOptions): Promise<Buffer> {
  const configuration = opts.project.configuration;
  const request = { customErrorMessage: npmHttpUtils.customPackageError, configuration, ident: locator };
  const { params } = structUtils.parseRange(locator.reference);
  const url = params !== null && typeof params.__archiveUrl === 'string' ? params.__archiveUrl : NpmSemverFetcher.getLocatorUrl(locator);
  try {
    try {
      return await npmHttpUtils.get(url, request);
    } catch (error) {
      // As plugin-npm: some registries refuse %2f in tarball paths.
      if (url.includes('%2f')) return await npmHttpUtils.get(url.replace(/%2f/g, '/'), request);
      throw error;
    }
  } catch (error) {
    const subject = structUtils.stringifyLocator(locator);
    const absolute = url.startsWith('/') ? npmConfigUtils.getScopeRegistry(locator.scope, { configuration }).replace(/\/+$/, '') + url : url;
    throw reportError(sourceError(subject, absolute, `downloading the tarball to verify it failed: ${(error as Error).message}`));
  }
}

export function convertTarball(tgz: Buffer, locator: Locator, opts: FetchOptions): Promise<ZipFS> {
  return tgzUtils.convertToZip(tgz, {
    configuration: opts.project.configuration,
    prefixPath: structUtils.getIdentVendorPath(locator),
    stripComponents: 1,
  });
}
