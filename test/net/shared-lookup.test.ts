/**
 * One DNS lookup per host per fetch step: the plugin's connections share it,
 * it can be made ahead of Yarn's own burst of connections (a resolver that
 * drops a query from a burst stalls it for its 5 s retry), a failed lookup is
 * not kept, and the fetch step's end forgets it. A real server on loopback,
 * reached by the name `localhost`; `dns.promises.lookup` is counted, not replaced.
 */
import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeIdleConnections, lookAhead } from '../../src/net/agents';
import { createHttpClient, DIRECT } from '../../src/net/client';

let server: http.Server;
let url: string;
const client = createHttpClient({ settingsFor: () => DIRECT, deadlineMs: 5000, retries: 0 });

beforeAll(async () => {
  server = http.createServer((_request, response) => response.end('{}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://localhost:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  closeIdleConnections();
  vi.restoreAllMocks();
});

const lookupsOf = (spy: { mock: { calls: unknown[][] } }, host: string) => spy.mock.calls.filter(([name]) => name === host).length;

describe('the shared DNS lookup', () => {
  it('is made once for many connections opened at once to one host, and again after the fetch step ends', async () => {
    const lookup = vi.spyOn(dns.promises, 'lookup');
    const answers = await Promise.all(Array.from({ length: 12 }, () => client.get(url, { maxBytes: 100 })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    expect(lookupsOf(lookup, 'localhost')).toBe(1);
    closeIdleConnections();
    await client.get(url, { maxBytes: 100 });
    expect(lookupsOf(lookup, 'localhost')).toBe(2);
  });

  it('can be made ahead: the connections then look up nothing', async () => {
    const lookup = vi.spyOn(dns.promises, 'lookup');
    await lookAhead(['localhost', 'localhost']);
    expect(lookupsOf(lookup, 'localhost')).toBe(1);
    await Promise.all([client.get(url, { maxBytes: 100 }), client.get(url, { maxBytes: 100 })]);
    expect(lookupsOf(lookup, 'localhost')).toBe(1);
  });

  it('a host that does not resolve: lookAhead still resolves, the request fails with the lookup error, and the next one asks again', async () => {
    const lookup = vi.spyOn(dns.promises, 'lookup');
    const host = 'no-such-host.invalid';
    await expect(lookAhead([host])).resolves.toBeUndefined();
    const error = await client.get(`http://${host}/`, { maxBytes: 100 }).catch((failure: Error) => failure);
    expect((error as Error).message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(lookupsOf(lookup, host)).toBe(2);
  });
});
