/**
 * Kept-alive connections, one agent per origin (or per proxy and origin). A
 * proxy is reached as Yarn reaches it: hpagent, the library Yarn itself uses,
 * opening a CONNECT tunnel for http: and https: targets alike, so any proxy
 * that lets Yarn download tarballs lets us fetch. Headers of the proxied
 * request (a registry's Authorization) travel inside the tunnel: the proxy
 * sees only `CONNECT host:port` and, when the proxy URL has credentials, its
 * own Proxy-Authorization. For an https: target the tunnel is TLS end to end.
 * A fresh TCP/TLS handshake per request was ~0.6 s of a 1,000-package install;
 * a request that fails is aborted, which destroys its socket, so only sockets
 * that delivered a complete answer are reused.
 */
import dns, { type LookupAddress, type LookupOptions } from 'dns';
import http from 'http';
import https from 'https';
import type { LookupFunction } from 'net';
import { HttpProxyAgent, HttpsProxyAgent, type ProxyAgentRequestOptions } from 'hpagent';
import { redactUrl } from '../redact';

/** TLS settings of one host: applied to the target, and (as Yarn does) to an https: proxy in front of it. */
export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** Thrown when the proxy opens no tunnel; `retryable` false for an answer (a refusal), true for a network error. */
export class ProxyTunnelError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ProxyTunnelError';
  }
}

const agents = new Map<string, http.Agent>();

/** The kept-alive agent for `target`, through `proxy` when there is one (its URL already checked). */
export function agentFor(target: URL, proxy: URL | undefined, tls: TlsSettings): http.Agent {
  const key = proxy ? `${proxy.href} ${target.origin}` : target.origin;
  let agent = agents.get(key);
  if (!agent) {
    agent = proxy ? tunnelling(target, proxy, tls) : direct(target);
    agents.set(key, agent);
  }
  return agent;
}

function direct(target: URL): http.Agent {
  const options = { keepAlive: true, lookup: sharedLookup };
  return target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/** Each host's addresses, looked up once per fetch step (closeIdleConnections forgets them). */
const addresses = new Map<string, Promise<LookupAddress[]>>();

/**
 * A fetch step opens up to `sigstoreNetworkConcurrency` connections at once,
 * beside Yarn's own. A lookup each is a burst of parallel DNS queries: a
 * resolver that drops one (UDP; Kubernetes' conntrack race is the known case)
 * stalls it for the resolver's 5 s retry, holding one of libuv's four threads,
 * on which Yarn's file work waits too. One lookup per host, shared.
 */
const sharedLookup: LookupFunction = (hostname, options, callback) => {
  addressesOf(hostname).then((found) => {
    const family = familyOf(options);
    const usable = family === 0 ? found : found.filter((address) => address.family === family);
    if (usable.length === 0) return callback(Object.assign(new Error(`no IPv${family} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    if (options.all) return (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, usable);
    callback(null, usable[0].address, usable[0].family);
  }, (error: NodeJS.ErrnoException) => callback(error, '', 0));
};

function addressesOf(hostname: string): Promise<LookupAddress[]> {
  let pending = addresses.get(hostname);
  if (!pending) {
    pending = dns.promises.lookup(hostname, { all: true });
    addresses.set(hostname, pending);
    // A failed lookup is not kept: the next connection asks again.
    pending.catch(() => addresses.delete(hostname));
  }
  return pending;
}

/**
 * Looks these hosts up now, before Yarn's fetch step opens its own burst of
 * connections: a query of ours lost in that burst held every package's
 * verdict, and so all of Yarn's fetches, for the resolver's 5 s retry.
 * Never fails: a host that does not resolve fails its requests as before.
 */
export async function lookAhead(hostnames: Iterable<string>): Promise<void> {
  await Promise.allSettled([...new Set(hostnames)].map(addressesOf));
}

function familyOf(options: LookupOptions): 0 | 4 | 6 {
  const family = options.family as unknown;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

function tunnelling(target: URL, proxy: URL, tls: TlsSettings): http.Agent {
  // hpagent hands every option to the CONNECT request (Yarn relies on it too); its types list fewer.
  const options = { keepAlive: true, proxy, proxyRequestOptions: { ...tls } as unknown as ProxyAgentRequestOptions };
  const agent = target.protocol === 'https:' ? new HttpsProxyAgent(options) : new HttpProxyAgent(options);
  return withNamedTunnelErrors(agent, proxy);
}

type Connect = (options: { host: string; port: number; timeout?: number }, callback: (error: Error | null, socket?: unknown) => void) => void;

/** hpagent says `Bad response: 407`: our errors name the proxy (never its credentials) and the tunnel's target. */
function withNamedTunnelErrors(agent: http.Agent, proxy: URL): http.Agent {
  const connect = (agent as unknown as { createConnection: Connect }).createConnection.bind(agent);
  const named = redactUrl(proxy);
  const patched: Connect = (options, callback) =>
    connect(options, (error, socket) => {
      if (!error) return callback(null, socket);
      const authority = `${options.host}:${options.port}`;
      const refused = /^Bad response: (\d+)$/.exec(error.message);
      if (refused) return callback(new ProxyTunnelError(`proxy ${named} refused the tunnel to ${authority} (HTTP ${refused[1]})`, false));
      if (error.message === 'Proxy timeout') return callback(new ProxyTunnelError(`proxy ${named} opened no tunnel to ${authority} within ${options.timeout} ms`, true));
      callback(new ProxyTunnelError(`proxy ${named}: ${error.message}`, true));
    });
  (agent as unknown as { createConnection: Connect }).createConnection = patched;
  return agent;
}

/**
 * Closes every idle kept-alive connection and forgets the agents (when a fetch
 * step ends). Requests still running finish on their own sockets; idle sockets
 * are unref'd by Node, so none keeps the process alive.
 */
export function closeIdleConnections(): void {
  for (const agent of agents.values()) {
    for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }
  agents.clear();
  addresses.clear();
}
