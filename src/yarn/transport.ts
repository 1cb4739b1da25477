/**
 * Yarn's configuration read into the plugin's network stack (src/net/): for
 * each URL, Yarn's settings as its own HTTP client applies them (per-host
 * `networkSettings` over the global ones: enableNetwork, proxy, CA, client
 * certificate; `unsafeHttpWhitelist`, `enableStrictSsl`), `httpTimeout`,
 * `httpRetry`, Yarn's own `networkConcurrency` limit (shared with its
 * downloads) and other plugins' `wrapNetworkRequest` hooks. The bundle
 * sources' transport adds credentials only for the registry they were
 * configured for (see `credentialsFor`). Absolute URLs on other hosts go
 * without credentials; redirects are never followed.
 */
import { httpUtils, type Configuration, type Hooks, type Ident } from '@yarnpkg/core';
import { npmConfigUtils } from '@yarnpkg/plugin-npm';
import { readFileSync } from 'fs';
import { isMatch } from 'picomatch';
import { lookAhead } from '../net/agents';
import { createHttpClient, decodedAnswer, NetworkError, type HostSettings, type HttpAnswer, type HttpClient, type NetworkOptions, type RequestInfo } from '../net/client';
import type { SourceTransport } from '../sources/types';
import type { SigstoreSettings } from './settings';

/** Most retries of one attestation request, whatever httpRetry says: an install waits for them. */
const MAX_RETRIES = 5;

export function yarnTransport(configuration: Configuration, ident: Ident, settings: SigstoreSettings): SourceTransport {
  const client = yarnHttpClient(configuration, { deadlineMs: settings.requestTimeoutMs, maxRetries: MAX_RETRIES });
  const maxBytes = settings.maxResponseBytes;
  const fromRegistry = async (registry: string, path: string, keepEncoding: boolean) => {
    const authorization = await authorizationFor(configuration, registry, ident);
    return answerOrNull(await client.get(registry + path, { maxBytes, headers: authorization ? { authorization } : {}, keepEncoding }));
  };
  return {
    registryGet: async (registry, path) => (await fromRegistry(registry, path, false))?.body ?? null,
    registryGetEncoded: async (registry, path) => {
      const answer = await fromRegistry(registry, path, true);
      return answer && { bytes: answer.body, encoding: answer.encoding };
    },
    anonymousGet: async (url) => answerOrNull(await client.get(url, { maxBytes }))?.body ?? null,
  };
}

/** Looks up the hosts of these URLs that requests reach directly (network enabled, no proxy: a proxy resolves them itself). */
export function lookAheadDirect(configuration: Configuration, urls: Iterable<string>): Promise<void> {
  const direct = [...new Set(urls)].filter((url) => URL.canParse(url)).map((url) => new URL(url)).filter((url) => {
    const settings = hostSettings(configuration, url);
    return settings.enableNetwork && !settings.proxy;
  });
  return lookAhead(direct.map((url) => url.hostname));
}

/** The network stack with Yarn's settings: `deadlineMs` per attempt, at most `maxRetries` (and httpRetry) retries. */
export function yarnHttpClient(configuration: Configuration, { deadlineMs, maxRetries }: { deadlineMs: number; maxRetries: number }): HttpClient {
  const options: NetworkOptions = {
    settingsFor: (url) => hostSettings(configuration, url),
    deadlineMs,
    idleTimeoutMs: configuration.get('httpTimeout'),
    retries: Math.max(0, Math.min(configuration.get('httpRetry'), maxRetries)),
    limit: configuration.getLimit('networkConcurrency'),
    wrap: (send, request) => wrapNetworkRequest(configuration, send, request),
  };
  return createHttpClient(options);
}

function answerOrNull(answer: HttpAnswer): HttpAnswer | null {
  if (answer.status === 404) return null;
  if (answer.status < 200 || answer.status >= 300) throw new NetworkError(`HTTP ${answer.status}`, 'status', false, answer.status);
  return answer;
}

const settingsByOrigin = new WeakMap<Configuration, Map<string, HostSettings>>();

/**
 * Yarn's settings for this URL's host, read once per configuration and
 * origin: a command's settings do not change while it runs, and matching
 * them (globs compiled per call) cost every attestation request ~0.07 ms of
 * Yarn's main thread.
 */
function hostSettings(configuration: Configuration, url: URL): HostSettings {
  let known = settingsByOrigin.get(configuration);
  if (!known) settingsByOrigin.set(configuration, (known = new Map()));
  let settings = known.get(url.origin);
  if (!settings) known.set(url.origin, (settings = readHostSettings(configuration, url)));
  return settings;
}

/** Yarn's settings for this URL's host, read as Yarn's own HTTP client reads them (httpUtils.request). */
function readHostSettings(configuration: Configuration, url: URL): HostSettings {
  const network = httpUtils.getNetworkSettings(url, { configuration });
  const proxy = url.protocol === 'https:' ? network.httpsProxy : network.httpProxy;
  return {
    enableNetwork: network.enableNetwork !== false,
    // Yarn matches with micromatch.isMatch, which is picomatch's.
    allowHttp: isMatch(url.hostname, configuration.get('unsafeHttpWhitelist')),
    proxy: proxy || undefined,
    ca: cachedFile(network.httpsCaFilePath),
    cert: cachedFile(network.httpsCertFilePath),
    key: cachedFile(network.httpsKeyFilePath),
    rejectUnauthorized: configuration.get('enableStrictSsl'),
  };
}

/**
 * Other plugins' `wrapNetworkRequest` hooks see our requests as they see
 * Yarn's (an audit of every host an install contacts stays complete). The
 * executor answers as Yarn's does (statusCode, headers, body); a hook that
 * answers in its place is checked like any answer, and its document must
 * still verify. A plugin is code already running in Yarn: this gives it
 * nothing it did not have. Hooks see bodies decoded, as from Yarn's client.
 */
async function wrapNetworkRequest(configuration: Configuration, send: () => Promise<HttpAnswer>, request: RequestInfo): Promise<HttpAnswer> {
  const executor = async (): Promise<httpUtils.Response> => {
    const answer = decodedAnswer(await send(), request.maxBytes);
    return { statusCode: answer.status, headers: answer.headers, body: answer.body };
  };
  const info = { target: request.url, body: null, configuration, headers: request.headers, jsonRequest: false, jsonResponse: false, method: httpUtils.Method.GET };
  const wrapped = await configuration.reduceHook((hooks: Hooks) => hooks.wrapNetworkRequest, executor, info);
  if (wrapped === executor) return send();
  const response = await wrapped();
  return { status: response?.statusCode, headers: response?.headers ?? {}, body: response?.body };
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
