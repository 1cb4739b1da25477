/**
 * The bundle sources' transport: the plugin's own HTTP client (deadline that
 * aborts, size cap, bounded retries) with Yarn's TLS settings, and the
 * registry's credentials computed as plugin-npm does but sent only to that
 * registry. Absolute URLs on other hosts go without credentials.
 */
import { type Configuration, type Ident } from '@yarnpkg/core';
import { npmConfigUtils } from '@yarnpkg/plugin-npm';
import { readFileSync } from 'fs';
import { HttpGetError, httpGet, type HttpGetOptions } from '../sources/httpClient';
import type { SourceTransport } from '../sources/types';
import type { SigstoreSettings } from './settings';

export function yarnTransport(configuration: Configuration, ident: Ident, settings: SigstoreSettings): SourceTransport {
  const base = tlsOptions(configuration, settings);
  return {
    registryGet: async (registry, path) => {
      const authorization = await authorizationFor(configuration, registry, ident);
      return bodyOrNull(registry + path, { ...base, headers: authorization ? { authorization } : {} });
    },
    anonymousGet: (url) => bodyOrNull(url, base),
  };
}

async function bodyOrNull(url: string, options: HttpGetOptions): Promise<Buffer | null> {
  const answer = await httpGet(url, options);
  if (answer.status === 404) return null;
  if (answer.status < 200 || answer.status >= 300) throw new HttpGetError(`HTTP ${answer.status}`, false, answer.status);
  return answer.body;
}

function tlsOptions(configuration: Configuration, settings: SigstoreSettings): HttpGetOptions {
  const caPath = configuration.get('httpsCaFilePath') as string | null;
  return {
    timeoutMs: settings.requestTimeoutMs,
    maxBytes: settings.maxResponseBytes,
    retries: Math.min(Number(configuration.get('httpRetry') ?? 2), 5),
    rejectUnauthorized: configuration.get('enableStrictSsl') as boolean,
    ca: caPath ? readFileSync(caPath) : undefined,
  };
}

/** As plugin-npm's best-effort authentication: a plugin's header hook, then npmAuthToken, then npmAuthIdent. */
async function authorizationFor(configuration: Configuration, registry: string, ident: Ident): Promise<string | null> {
  const auth = npmConfigUtils.getAuthConfiguration(registry, { configuration, ident });
  if (!ident.scope && !auth.get('npmAlwaysAuth') && !auth.get('npmAuthToken') && !auth.get('npmAuthIdent')) return null;
  const hooked = await configuration.reduceHook((hooks: any) => hooks.getNpmAuthenticationHeader, undefined as string | undefined, registry, { configuration, ident });
  if (hooked) return hooked;
  const token = auth.get('npmAuthToken');
  if (token) return `Bearer ${token}`;
  const identity = auth.get('npmAuthIdent') as string | null;
  if (identity) return identity.includes(':') ? `Basic ${Buffer.from(identity).toString('base64')}` : `Basic ${identity}`;
  return null;
}
