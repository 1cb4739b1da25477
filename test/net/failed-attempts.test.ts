/**
 * An attempt that fails (deadline, silence, size cap) closes its connection:
 * a kept-alive socket must never carry the rest of a refused answer into the
 * next request, and a silent server must not keep the install alive. A real
 * server on loopback watches its own sockets close.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, DIRECT, type NetworkError } from '../../src/net/client';

let server: http.Server;
let base: string;
/** Resolves when the server sees the socket of the request to that path close. */
const closed = new Map<string, Promise<void>>();

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const socket: Socket = request.socket;
    closed.set(request.url ?? '', new Promise<void>((resolve) => socket.once('close', () => resolve())));
    if (request.url === '/hang') return; // headers never come
    if (request.url === '/slow-body') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"start": true,'); // and the rest never comes
      return;
    }
    if (request.url === '/huge') {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 32);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      return pump();
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as NetworkError,
  );

/** The server saw the connection close within a second of the failure. */
async function closesItsConnection(path: string): Promise<boolean> {
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref());
  return Promise.race([closed.get(path)!.then(() => true), timeout]);
}

describe('a failed attempt closes its connection', () => {
  it('at the deadline, when no answer comes', async () => {
    const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 200, retries: 0 });
    const error = await failureOf(client.get(`${base}/hang`, { maxBytes: 1_000_000 }));
    expect(error.message).toBe('no complete answer within 200 ms');
    expect(await closesItsConnection('/hang')).toBe(true);
  });

  it('at the silence limit, when the body stops', async () => {
    const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 60_000, idleTimeoutMs: 200, retries: 0 });
    const error = await failureOf(client.get(`${base}/slow-body`, { maxBytes: 1_000_000 }));
    expect(error.message).toBe('the connection was silent for 200 ms');
    expect(await closesItsConnection('/slow-body')).toBe(true);
  });

  it('at the size cap, while the server is still sending', async () => {
    const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 60_000, retries: 0 });
    const error = await failureOf(client.get(`${base}/huge`, { maxBytes: 1_000_000 }));
    expect(error.message).toBe('answer exceeds the 1000000-byte limit');
    expect(await closesItsConnection('/huge')).toBe(true);
  });
});
