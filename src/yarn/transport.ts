/**
 * The bundle sources' transport on top of Yarn's HTTP stack (proxies, CA,
 * retries, `httpTimeout` all apply). Credentials: `npmHttpUtils.get` on a
 * registry-relative path sends only that registry's token; absolute URLs go
 * through `httpUtils.get`, which adds none.
 */
import { httpUtils, type Configuration, type Ident } from '@yarnpkg/core';
import { npmHttpUtils } from '@yarnpkg/plugin-npm';
import type { SourceTransport } from '../sources/types';

export function yarnTransport(configuration: Configuration, ident: Ident): SourceTransport {
  return {
    registryGet: (registry, path) =>
      orNullOn404(npmHttpUtils.get(path, { configuration, ident, registry, jsonResponse: false })),
    anonymousGet: (url) => orNullOn404(httpUtils.get(url, { configuration, jsonResponse: false })),
  };
}

async function orNullOn404(request: Promise<unknown>): Promise<Buffer | null> {
  try {
    const body = await request;
    return Buffer.isBuffer(body) ? body : Buffer.from(String(body));
  } catch (error) {
    const status = (error as { originalError?: { response?: { statusCode?: number } } }).originalError?.response?.statusCode;
    if (status === 404) return null;
    throw error;
  }
}
