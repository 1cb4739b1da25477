/**
 * Downloads a registry tarball exactly as plugin-npm's fetchers do, so the
 * gate can hash the very bytes that are then converted into Yarn's zip.
 */
import { structUtils, tgzUtils, type FetchOptions, type Locator } from '@yarnpkg/core';
import { NpmSemverFetcher, npmHttpUtils } from '@yarnpkg/plugin-npm';
import type { ZipFS } from '@yarnpkg/libzip';

export async function downloadTarball(locator: Locator, opts: FetchOptions): Promise<Buffer> {
  const configuration = opts.project.configuration;
  const request = { customErrorMessage: npmHttpUtils.customPackageError, configuration, ident: locator };
  const { params } = structUtils.parseRange(locator.reference);
  if (params !== null && typeof params.__archiveUrl === 'string') return await npmHttpUtils.get(params.__archiveUrl, request);
  const url = NpmSemverFetcher.getLocatorUrl(locator);
  try {
    return await npmHttpUtils.get(url, request);
  } catch {
    // As plugin-npm: some registries refuse %2f in tarball paths.
    return await npmHttpUtils.get(url.replace(/%2f/g, '/'), request);
  }
}

export function convertTarball(tgz: Buffer, locator: Locator, opts: FetchOptions): Promise<ZipFS> {
  return tgzUtils.convertToZip(tgz, {
    configuration: opts.project.configuration,
    prefixPath: structUtils.getIdentVendorPath(locator),
    stripComponents: 1,
  });
}
