/**
 * The plugin's one HTTP client, for attestation documents, packuments and the
 * TUF repository alike. It knows nothing of Yarn: the caller hands it plain
 * settings per URL (what Yarn's configuration says for that host) and the
 * client enforces them:
 * - a host with the network disabled, or plain http: to a host not allowed
 *   it, is refused before any connection;
 * - a proxy (http: or https: proxy URL, `user:password@` as
 *   Proxy-Authorization) is used through a CONNECT tunnel (./agents);
 * - CA, client certificate and key, and strict TLS, per host;
 * - an overall deadline per attempt that aborts the socket (a silent server
 *   can neither stall the install nor keep the process alive), and a
 *   shorter silence limit when the caller sets one;
 * - compressed answers (gzip, deflate, br: a full packument is ~10x smaller
 *   gzipped), decoded while streaming with the size cap on the DECODED bytes
 *   (a small bomb cannot expand past it), or handed over still encoded when
 *   the caller decodes elsewhere (./decode); an encoding we cannot decode fails;
 * - a body size cap enforced while streaming;
 * - bounded retries on network errors and 5xx;
 * - redirects are never followed (one could carry credentials elsewhere);
 * - a limit on requests in flight, and a wrapper around each request, when
 *   the caller gives them (Yarn's networkConcurrency and wrapNetworkRequest).
 */
import http from 'http';
import https from 'https';
import type { Readable } from 'stream';
import { redactUrl } from '../redact';
import { agentFor, ProxyTunnelError } from './agents';
import { ACCEPTED_ENCODINGS, contentEncodingOf, DecodedTooLarge, decodeBody, streamDecoder, type ContentEncoding } from './decode';

/** What the configuration says for one URL's host. */
export interface HostSettings {
  /** false: this host is never contacted. */
  enableNetwork: boolean;
  /** Whether plain http: may be used to this host (https: always may). */
  allowHttp: boolean;
  /** Proxy URL for this URL's protocol (may carry user:password; never printed). */
  proxy?: string;
  ca?: Buffer;
  /** Client certificate and key presented to the host. */
  cert?: Buffer;
  key?: Buffer;
  /** false: certificate errors are ignored. */
  rejectUnauthorized: boolean;
}

/** No proxy, no extra CA, strict TLS: what a caller without a configuration gets. */
export const DIRECT: HostSettings = { enableNetwork: true, allowHttp: true, rejectUnauthorized: true };

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Asked for with `keepEncoding`: the body is still in this encoding (absent: as served, unencoded). */
  encoding?: ContentEncoding;
}

export interface RequestInfo {
  url: string;
  headers: Record<string, string>;
  maxBytes: number;
}

export interface NetworkOptions {
  /** The settings of the host of `url` (per-host settings over the global ones, already merged). */
  settingsFor(url: URL): HostSettings;
  /** An attempt that has no complete answer within this is aborted. */
  deadlineMs: number;
  /** An attempt whose socket stays silent this long is aborted (at most the deadline). */
  idleTimeoutMs?: number;
  /** Extra attempts after the first, on network errors and 5xx answers. */
  retries: number;
  /** Runs each attempt when a slot is free (a limit shared with the caller's own requests). */
  limit?: <T>(attempt: () => Promise<T>) => Promise<T>;
  /** Wraps each request, retries included: it may observe it, or answer in its place. */
  wrap?: (send: () => Promise<HttpAnswer>, request: RequestInfo) => Promise<HttpAnswer>;
}

export interface GetRequest {
  headers?: Record<string, string>;
  /** Largest body accepted (decoded). */
  maxBytes: number;
  /** A compressed answer is handed over as served, with its `encoding`, for the caller to decode (./decode) off this thread; its size cap then bounds the encoded bytes too. */
  keepEncoding?: boolean;
}

export interface HttpClient {
  /** The answer, whatever its status below 500; throws NetworkError otherwise. */
  get(url: string, request: GetRequest): Promise<HttpAnswer>;
}

/**
 * Why a request got no usable answer. `refused`: the settings forbid it, no
 * connection was made; `network`: no complete answer (connection, TLS, proxy,
 * silence, deadline); `status`: 5xx after every retry; `too-large`: an answer
 * over the size cap.
 */
export type NetworkFailure = 'refused' | 'network' | 'status' | 'too-large';

export class NetworkError extends Error {
  constructor(
    message: string,
    readonly kind: NetworkFailure,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

export function createHttpClient(options: NetworkOptions): HttpClient {
  return {
    async get(url, request) {
      const target = new URL(url);
      const host = options.settingsFor(target);
      const proxy = usableProxy(target, host);
      const headers = { accept: 'application/json', 'accept-encoding': ACCEPTED_ENCODINGS, ...request.headers };
      const send = () => withRetries(options.retries, () => (options.limit ? options.limit(() => attempt(target, host, proxy, headers, request, options)) : attempt(target, host, proxy, headers, request, options)));
      if (!options.wrap) return send();
      return checkedAnswer(await wrapped(options.wrap, send, { url, headers, maxBytes: request.maxBytes }), request.maxBytes);
    },
  };
}

/** The proxy to use, or none; throws when the settings forbid the request or name a proxy we cannot use. */
function usableProxy(target: URL, host: HostSettings): URL | undefined {
  if (!host.enableNetwork) throw new NetworkError(`network access to ${target.hostname} is disabled by the configuration (enableNetwork: false)`, 'refused', false);
  if (target.protocol === 'http:' && !host.allowHttp) {
    throw new NetworkError(`plain http: to ${target.hostname} is refused: the host is not in unsafeHttpWhitelist`, 'refused', false);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new NetworkError(`unsupported protocol ${target.protocol}`, 'refused', false);
  if (!host.proxy) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(host.proxy);
  } catch {
    throw new NetworkError('the configured proxy is not a valid URL', 'refused', false);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new NetworkError(`unsupported proxy protocol ${proxy.protocol} (http: or https: only) in ${redactUrl(proxy)}`, 'refused', false);
  }
  return proxy;
}

async function withRetries(retries: number, once: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      const answer = await once();
      if (answer.status >= 500) throw new NetworkError(`HTTP ${answer.status}`, 'status', true, answer.status);
      return answer;
    } catch (error) {
      if (!(error instanceof NetworkError && error.retryable) || attempt >= retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

/** The wrapper's answer; whatever it throws that is not ours counts as a failed request (never as an answer). */
async function wrapped(wrap: NonNullable<NetworkOptions['wrap']>, send: () => Promise<HttpAnswer>, request: RequestInfo): Promise<HttpAnswer> {
  try {
    return await wrap(send, request);
  } catch (error) {
    if (error instanceof NetworkError) throw error;
    throw new NetworkError(error instanceof Error ? error.message : String(error), 'network', false);
  }
}

/** A wrapper may answer in the request's place: the same checks as for a real answer. */
function checkedAnswer(answer: HttpAnswer, maxBytes: number): HttpAnswer {
  if (!answer || !Number.isInteger(answer.status) || !Buffer.isBuffer(answer.body)) throw new NetworkError('the request wrapper answered no status and body', 'network', false);
  if (answer.body.length > maxBytes) throw new NetworkError(`answer of ${answer.body.length} bytes exceeds the ${maxBytes}-byte limit`, 'too-large', false, answer.status);
  if (answer.status >= 500) throw new NetworkError(`HTTP ${answer.status}`, 'status', false, answer.status);
  return answer;
}

/** An answer kept encoded, decoded here: the same failures as decoding while streaming. */
export function decodedAnswer(answer: HttpAnswer, maxBytes: number): HttpAnswer {
  if (!answer.encoding) return answer;
  const { encoding, ...rest } = answer;
  try {
    return { ...rest, body: decodeBody(answer.body, encoding, maxBytes) };
  } catch (error) {
    if (error instanceof DecodedTooLarge) throw new NetworkError(error.message, 'too-large', false, answer.status);
    throw new NetworkError(`the ${encoding} answer cannot be decoded: ${(error as Error).message}`, 'network', false, answer.status);
  }
}

function attempt(target: URL, host: HostSettings, proxy: URL | undefined, headers: Record<string, string>, { maxBytes, keepEncoding }: GetRequest, options: NetworkOptions): Promise<HttpAnswer> {
  const client = target.protocol === 'https:' ? https : http;
  const tls = { ca: host.ca, cert: host.cert, key: host.key, rejectUnauthorized: host.rejectUnauthorized };
  const silenceMs = Math.min(options.idleTimeoutMs ?? options.deadlineMs, options.deadlineMs);
  return new Promise<HttpAnswer>((resolve, reject) => {
    // Destroyed directly when it fails: an AbortSignal per request cost ~0.05 ms of Yarn's main thread.
    let request: http.ClientRequest | undefined;
    const timer = setTimeout(() => fail(new NetworkError(`no complete answer within ${options.deadlineMs} ms`, 'network', true)), options.deadlineMs);
    let settled = false;
    function fail(error: NetworkError): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request?.destroy();
      reject(error);
    }
    // `timeout` is also how long a proxy may take to open the tunnel (hpagent reads it).
    request = client.get(target, { headers, agent: agentFor(target, proxy, tls), timeout: silenceMs, ...tls }, (response) => {
      const status = response.statusCode ?? 0;
      const header = String(response.headers['content-encoding'] ?? 'identity');
      const encoding = contentEncodingOf(header);
      if (encoding === null) return fail(new NetworkError(`answer in a content encoding the client cannot decode (${JSON.stringify(header.trim().toLowerCase().slice(0, 40))})`, 'network', false, status));
      const decoder = encoding && !keepEncoding ? streamDecoder(encoding) : undefined;
      // Compressed bytes never exceed what they decode to for a real answer: the declared length bounds both.
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) return fail(new NetworkError(`answer of ${declared} bytes exceeds the ${maxBytes}-byte limit`, 'too-large', false, status));
      const body: Readable = decoder ? response.pipe(decoder) : response;
      const chunks: Buffer[] = [];
      let size = 0;
      body.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          decoder?.destroy();
          return fail(new NetworkError(`answer exceeds the ${maxBytes}-byte limit${decoder ? ' once decoded' : ''}`, 'too-large', false, status));
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => fail(new NetworkError(error.message, 'network', true, status)));
      decoder?.on('error', (error) => fail(new NetworkError(`the ${encoding} answer cannot be decoded: ${error.message}`, 'network', true, status)));
      body.on('end', () => {
        if (settled) return;
        if (!response.complete) return fail(new NetworkError('connection closed before the answer was complete', 'network', true, status));
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers: response.headers, body: Buffer.concat(chunks), ...(encoding && keepEncoding ? { encoding } : {}) });
      });
    });
    request.on('timeout', () => fail(new NetworkError(`the connection was silent for ${silenceMs} ms`, 'network', true)));
    request.on('error', (error) => fail(new NetworkError(error.message, 'network', error instanceof ProxyTunnelError ? error.retryable : true)));
  });
}
