/**
 * The bundle sources' transport: the plugin's own HTTP client (deadline that
 * aborts, size cap, bounded retries) with Yarn's network settings for each
 * URL (per-host `networkSettings` over the global ones: enableNetwork, proxy,
 * CA, client certificate), and credentials only for the registry they were
 * configured for (see `credentialsFor`). Absolute URLs on other hosts go
 * without credentials; redirects are never followed.
 */
import { httpUtils, type Configuration, type Ident } from '@yarnpkg/core';
import { npmConfigUtils } from '@yarnpkg/plugin-npm';
import { readFileSync } from 'fs';
import { HttpGetError, httpGet, type HttpGetOptions } from '../sources/httpClient';
import type { SourceTransport } from '../sources/types';
import type { SigstoreSettings } from './settings';

type BaseOptions = Omit<HttpGetOptions, 'headers'>;

export function yarnTransport(configuration: Configuration, ident: Ident, settings: SigstoreSettings): SourceTransport {
  const base: BaseOptions = {
    timeoutMs: settings.requestTimeoutMs,
    maxBytes: settings.maxResponseBytes,
    retries: Math.min(Number(configuration.get('httpRetry') ?? 2), 5),
    rejectUnauthorized: configuration.get('enableStrictSsl') as boolean,
  };
  return {
    registryGet: async (registry, path) => {
      const url = registry + path;
      const network = networkOptions(configuration, url);
      const authorization = await authorizationFor(configuration, registry, ident);
      return bodyOrNull(url, { ...base, ...network, headers: authorization ? { authorization } : {} });
    },
    anonymousGet: async (url) => bodyOrNull(url, { ...base, ...networkOptions(configuration, url) }),
  };
}

async function bodyOrNull(url: string, options: HttpGetOptions): Promise<Buffer | null> {
  const answer = await httpGet(url, options);
  if (answer.status === 404) return null;
  if (answer.status < 200 || answer.status >= 300) throw new HttpGetError(`HTTP ${answer.status}`, false, answer.status);
  return answer.body;
}

/** Yarn's settings for this URL, as its own HTTP client applies them; a host with the network disabled is refused (never "unsigned"). */
function networkOptions(configuration: Configuration, url: string): Pick<HttpGetOptions, 'ca' | 'cert' | 'key' | 'proxy'> {
  const target = new URL(url);
  const network = httpUtils.getNetworkSettings(target, { configuration });
  if (network.enableNetwork === false) throw new HttpGetError(`network access to ${target.hostname} is disabled by Yarn's configuration (enableNetwork: false)`, false);
  const proxy = target.protocol === 'https:' ? network.httpsProxy : network.httpProxy;
  return {
    ca: cachedFile(network.httpsCaFilePath),
    cert: cachedFile(network.httpsCertFilePath),
    key: cachedFile(network.httpsKeyFilePath),
    proxy: proxy || undefined,
  };
}

const files = new Map<string, Buffer>();

/** Read once per process, as Yarn does (every attestation request would otherwise read the CA file again). */
function cachedFile(path: string | null): Buffer | undefined {
  if (!path) return undefined;
  let content = files.get(path);
  if (!content) {
    content = readFileSync(path);
    files.set(path, content);
  }
  return content;
}

/**
 * The settings whose credentials may go to `registry`, or null when none may.
 * The package's own registry gets what Yarn itself sends there for the
 * tarball (plugin-npm's choice: the scope's credentials, the registry's
 * `npmRegistries` entry, else the global ones). Any other host (an attestation
 * registry) gets only credentials configured for that very registry: its
 * `npmRegistries` entry, or the global ones when it is `npmRegistryServer`.
 * A scope's token or the global token never travels to a host they were not
 * configured for.
 */
export function credentialsFor(configuration: Configuration, registry: string, ident: Ident): { auth: npmConfigUtils.MapLike; ownRegistry: boolean } | null {
  const target = npmConfigUtils.normalizeRegistry(registry);
  if (target === npmConfigUtils.normalizeRegistry(npmConfigUtils.getScopeRegistry(ident.scope, { configuration }))) {
    return { auth: npmConfigUtils.getAuthConfiguration(registry, { configuration, ident }), ownRegistry: true };
  }
  const entry = npmConfigUtils.getRegistryConfiguration(registry, { configuration });
  if (entry) return { auth: entry, ownRegistry: false };
  return target === npmConfigUtils.normalizeRegistry(npmConfigUtils.getDefaultRegistry({ configuration })) ? { auth: configuration, ownRegistry: false } : null;
}

/** As plugin-npm's best-effort authentication: a plugin's header hook (own registry only), then npmAuthToken, then npmAuthIdent. */
async function authorizationFor(configuration: Configuration, registry: string, ident: Ident): Promise<string | null> {
  const credentials = credentialsFor(configuration, registry, ident);
  if (!credentials) return null;
  const { auth, ownRegistry } = credentials;
  if (!ident.scope && !auth.get('npmAlwaysAuth') && !auth.get('npmAuthToken') && !auth.get('npmAuthIdent')) return null;
  // A hook computes credentials for whatever registry it is given: ask it only for the registry Yarn itself asks it for.
  const hooked = ownRegistry ? await configuration.reduceHook((hooks: any) => hooks.getNpmAuthenticationHeader, undefined as string | undefined, registry, { configuration, ident }) : undefined;
  if (hooked) return hooked;
  const token = auth.get('npmAuthToken');
  if (token) return `Bearer ${token}`;
  const identity = auth.get('npmAuthIdent') as string | null;
  if (identity) return identity.includes(':') ? `Basic ${Buffer.from(identity).toString('base64')}` : `Basic ${identity}`;
  return null;
}
