/**
 * Agents that reach an origin through an HTTP(S) proxy with a CONNECT tunnel,
 * as Yarn itself does (hpagent, for http: and https: targets alike), so any
 * proxy that lets Yarn download tarballs lets the plugin fetch attestations.
 * Headers of the proxied request (the registry's Authorization) travel inside
 * the tunnel: the proxy sees only `CONNECT host:port` and, when the proxy URL
 * has credentials, its own Proxy-Authorization. For an https: target the
 * tunnel is TLS end to end; for an http: target the proxy can read the bytes.
 */
import { redactUrl } from '../redact';
import http from 'http';
import https from 'https';
import type { Duplex } from 'stream';

export interface ProxyAgentOptions {
  maxSockets: number;
  /** How long the proxy may take to open a tunnel before the attempt fails. */
  connectTimeoutMs: number;
  /** TLS settings for an https: proxy (Yarn applies the target's CA/cert/key to the proxy too). */
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean };
}

/** Thrown when the proxy cannot open a tunnel; `retryable` false for an answer (a refusal), true for a network error. */
export class ProxyTunnelError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ProxyTunnelError';
  }
}

type Callback = (error: Error | null, socket?: Duplex) => void;

function openTunnel(proxy: URL, host: string, port: number, options: ProxyAgentOptions, callback: Callback): void {
  const authority = `${host}:${port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxy.username || proxy.password) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const secureProxy = proxy.protocol === 'https:';
  const request = (secureProxy ? https : http).request({
    method: 'CONNECT',
    host: proxy.hostname,
    port: proxy.port || (secureProxy ? 443 : 80),
    path: authority,
    setHost: false,
    headers,
    agent: false,
    timeout: options.connectTimeoutMs,
    ...(secureProxy ? { ...options.tls, servername: proxy.hostname } : {}),
  });
  const named = redactUrl(proxy);
  let done = false;
  const finish = (error: Error | null, socket?: Duplex) => {
    if (done) return;
    done = true;
    callback(error, socket);
  };
  request.once('connect', (response, socket, head) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      return finish(new ProxyTunnelError(`proxy ${named} refused the tunnel to ${authority} (HTTP ${response.statusCode})`, false));
    }
    // The tunnel now belongs to the agent: the CONNECT deadline must not close it when idle.
    socket.setTimeout(0);
    request.removeAllListeners('timeout');
    if (head.length > 0) socket.unshift(head);
    finish(null, socket);
  });
  request.once('timeout', () => request.destroy(new ProxyTunnelError(`proxy ${named} opened no tunnel to ${authority} within ${options.connectTimeoutMs} ms`, true)));
  request.on('error', (error) => finish(error instanceof ProxyTunnelError ? error : new ProxyTunnelError(`proxy ${named}: ${error.message}`, true)));
  request.end();
}

/** A keep-alive agent whose sockets are tunnels through `proxy` (TLS on top for an https: target). */
export function proxyAgent(target: URL, proxy: URL, options: ProxyAgentOptions): http.Agent {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  if (target.protocol === 'https:') {
    return new (class extends https.Agent {
      override createConnection(connection: any, callback: Callback): undefined {
        openTunnel(proxy, connection.host, connection.port, options, (error, socket) => {
          if (error) return callback(error);
          callback(null, (https.Agent.prototype as any).createConnection.call(this, { ...connection, socket }));
        });
        return undefined;
      }
    })(agentOptions);
  }
  return new (class extends http.Agent {
    override createConnection(connection: any, callback: Callback): undefined {
      openTunnel(proxy, connection.host, connection.port, options, callback);
      return undefined;
    }
  })(agentOptions);
}
