/**
 * A loopback forwarder to a real registry (the npm registry npm is configured
 * with): Yarn and the plugin talk to 127.0.0.1, every request is counted (by
 * kind, with its body size) and passed upstream, and the upstream's own
 * address in JSON bodies is rewritten to the forwarder's so that tarballs come
 * through it too (and yarn.lock records no foreign archive URL). A JSON answer
 * is gzipped for a client that accepts it, as the real registry does. Kept-alive
 * connections on both sides, as a real registry keeps them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

export type ForwardedKind = 'tarball' | 'attestations' | 'packument' | 'other';

export interface ForwardedRequest {
  path: string;
  kind: ForwardedKind;
  status: number;
  /** The body as sent (gzipped when it was). */
  bytes: number;
}

export interface RegistryForwarder {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly requests: ForwardedRequest[];
  close(): Promise<void>;
}

export function kindOf(path: string): ForwardedKind {
  if (path.startsWith('/-/npm/v1/attestations/')) return 'attestations';
  if (path.endsWith('.tgz')) return 'tarball';
  if (path.startsWith('/-/')) return 'other';
  return 'packument';
}

/** Starts forwarding to `upstream` (e.g. `https://registry.npmjs.org`); upstream failures are answered 502 with the cause. */
export async function startRegistryForwarder(upstream: string): Promise<RegistryForwarder> {
  const origin = upstream.replace(/\/+$/, '');
  const requests: ForwardedRequest[] = [];
  let url = '';
  const server = http.createServer(async (request, response) => {
    const path = request.url ?? '/';
    const kind = kindOf(path);
    try {
      const headers: Record<string, string> = {};
      if (request.headers.accept) headers.accept = String(request.headers.accept);
      const answer = await fetch(origin + path, { headers, redirect: 'follow' });
      let body = Buffer.from(await answer.arrayBuffer());
      const type = answer.headers.get('content-type') ?? 'application/octet-stream';
      const headersOut: http.OutgoingHttpHeaders = { 'content-type': type };
      if (type.includes('json')) {
        body = Buffer.from(body.toString('utf8').replaceAll(origin, url));
        if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
          body = zlib.gzipSync(body, { level: 6 });
          headersOut['content-encoding'] = 'gzip';
        }
      }
      requests.push({ path, kind, status: answer.status, bytes: body.length });
      response.writeHead(answer.status, { ...headersOut, 'content-length': body.length });
      response.end(body);
    } catch (error) {
      requests.push({ path, kind, status: 502, bytes: 0 });
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`forwarding to ${origin} failed: ${(error as Error).message}`);
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
