/**
 * A small GET client for bundle sources: an overall deadline per attempt
 * that aborts the socket (so a silent server can neither stall the install
 * nor keep the process alive), a body size cap enforced while streaming,
 * bounded retries on network errors and 5xx, no redirects (a redirect could
 * carry credentials elsewhere). Connections are kept alive per origin (a
 * fresh TCP/TLS handshake per request was ~0.6 s of a 1,000-package install);
 * a request that fails is aborted, which destroys its socket, so only sockets
 * that delivered a complete answer are reused. With a proxy, the sockets are
 * CONNECT tunnels (see proxy.ts), kept alive per proxy and origin.
 */
import http from 'http';
import https from 'https';
import { ProxyTunnelError, proxyAgent } from './proxy';

export interface HttpGetOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  /** Extra attempts after the first, on network errors and 5xx answers. */
  retries: number;
  /** TLS settings taken from the package manager's configuration. */
  ca?: Buffer;
  /** Client certificate and key (Yarn's httpsCertFilePath / httpsKeyFilePath). */
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  /** Proxy URL for this target (may carry user:password; never printed). */
  proxy?: string;
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** Thrown for a transport failure; `retryable` marks network errors and 5xx. */
export class HttpGetError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpGetError';
  }
}

/** No cap of the agent's own: the callers' pool (sigstoreNetworkConcurrency) bounds the requests in flight, so the connections. */
const MAX_SOCKETS_PER_ORIGIN = Infinity;

const agents = new Map<string, http.Agent>();

/** The keep-alive agent of one origin, or of one proxy and origin (TLS options are part of Node's own socket pool key). */
function agentFor(target: URL, options: HttpGetOptions): http.Agent {
  const key = options.proxy ? `${options.proxy} ${target.origin}` : target.origin;
  let agent = agents.get(key);
  if (!agent) {
    agent = options.proxy ? viaProxy(target, options) : direct(target);
    agents.set(key, agent);
  }
  return agent;
}

function direct(target: URL): http.Agent {
  const options = { keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN };
  return target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

function viaProxy(target: URL, options: HttpGetOptions): http.Agent {
  const { ca, cert, key, rejectUnauthorized } = options;
  return proxyAgent(target, new URL(options.proxy!), { maxSockets: MAX_SOCKETS_PER_ORIGIN, connectTimeoutMs: options.timeoutMs, tls: { ca, cert, key, rejectUnauthorized } });
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
}

export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      const answer = await attemptGet(url, options);
      if (answer.status >= 500) throw new HttpGetError(`HTTP ${answer.status}`, true, answer.status);
      return answer;
    } catch (error) {
      const retryable = error instanceof HttpGetError && error.retryable;
      if (!retryable || attempt >= options.retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

function attemptGet(url: string, options: HttpGetOptions): Promise<HttpAnswer> {
  const target = new URL(url);
  const unusableProxy = proxyProblem(options.proxy);
  if (unusableProxy) return Promise.reject(unusableProxy);
  const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
  if (!client) return Promise.reject(new HttpGetError(`unsupported protocol ${target.protocol}`, false));
  return new Promise<HttpAnswer>((resolve, reject) => {
    const abort = new AbortController();
    const timer = setTimeout(() => fail(new HttpGetError(`no complete answer within ${options.timeoutMs} ms`, true)), options.timeoutMs);
    let settled = false;
    function fail(error: HttpGetError): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort.abort();
      reject(error);
    }
    const request = client.get(
      target,
      { headers: { accept: 'application/json', ...options.headers }, agent: agentFor(target, options), signal: abort.signal, ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized },
      (response) => {
        const status = response.statusCode ?? 0;
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxBytes) return fail(new HttpGetError(`answer of ${declared} bytes exceeds the ${options.maxBytes}-byte limit`, false, status));
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) return fail(new HttpGetError(`answer exceeds the ${options.maxBytes}-byte limit`, false, status));
          chunks.push(chunk);
        });
        response.on('error', (error) => fail(new HttpGetError(error.message, true, status)));
        response.on('end', () => {
          if (settled) return;
          if (!response.complete) return fail(new HttpGetError('connection closed before the answer was complete', true, status));
          settled = true;
          clearTimeout(timer);
          resolve({ status, body: Buffer.concat(chunks) });
        });
      },
    );
    request.on('error', (error) => fail(new HttpGetError(error.message, error instanceof ProxyTunnelError ? error.retryable : true)));
  });
}

/** An error for a proxy URL this client cannot use, or undefined when it can (or there is none). */
function proxyProblem(proxy: string | undefined): HttpGetError | undefined {
  if (!proxy) return undefined;
  let protocol: string;
  try {
    protocol = new URL(proxy).protocol;
  } catch {
    return new HttpGetError('the configured proxy is not a valid URL', false);
  }
  return protocol === 'http:' || protocol === 'https:' ? undefined : new HttpGetError(`unsupported proxy protocol ${protocol} (http: or https: only)`, false);
}
