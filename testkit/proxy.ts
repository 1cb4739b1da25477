/**
 * A forward proxy on 127.0.0.1 for tests: CONNECT tunnels (what Yarn and the
 * plugin use) and absolute-URL requests, recording what it saw of each so a
 * test can assert what a proxy learns. `mode` makes it refuse tunnels or
 * stay silent.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface ProxySighting {
  method: string;
  /** `host:port` for CONNECT, the absolute URL otherwise. */
  target: string;
  headers: IncomingHttpHeaders;
}

export type ProxyMode = 'forward' | { refuse: number } | 'silent';

export interface TestProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly seen: ProxySighting[];
  /** Request lines (`GET /path`) read in cleartext tunnels: what a proxy learns of plain-http traffic it tunnels. */
  readonly tunnelled: string[];
  mode: ProxyMode;
  close(): Promise<void>;
}

export async function startProxy(mode: ProxyMode = 'forward'): Promise<TestProxy> {
  const seen: ProxySighting[] = [];
  const tunnelled: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = http.createServer((request, response) => {
    seen.push({ method: request.method ?? '', target: request.url ?? '', headers: request.headers });
    if (proxy.mode === 'silent') return;
    if (typeof proxy.mode === 'object') return void response.writeHead(proxy.mode.refuse).end();
    const upstream = http.request(request.url ?? '', { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  server.on('connection', track);
  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push({ method: 'CONNECT', target: request.url ?? '', headers: request.headers });
    client.on('error', () => client.destroy());
    if (proxy.mode === 'silent') return;
    if (typeof proxy.mode === 'object') return void client.end(`HTTP/1.1 ${proxy.mode.refuse} Refused\r\nContent-Length: 0\r\n\r\n`);
    const [host, port] = splitAuthority(request.url ?? '');
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    client.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString('latin1').matchAll(/^([A-Z]+) (\/\S*) HTTP\/1\.[01]\r$/gm)) tunnelled.push(`${match[1]} ${match[2]}`);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: TestProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    tunnelled,
    mode,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return proxy;
}

function splitAuthority(authority: string): [string, number] {
  const colon = authority.lastIndexOf(':');
  return [authority.slice(0, colon).replace(/^\[|\]$/g, ''), Number(authority.slice(colon + 1))];
}
