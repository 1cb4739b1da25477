/**
 * The attestation requests follow Yarn's proxy settings (httpProxy,
 * httpsProxy, per-host networkSettings, enableNetwork): a real Yarn
 * configuration read from .yarnrc.yml, the plugin's transport, a loopback
 * proxy that records what it sees, and the testkit registry (behind a TLS
 * front with a self-signed certificate for the https cases).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration, structUtils } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import npmPlugin from '@yarnpkg/plugin-npm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findAttestations } from '../../src/sources';
import { closeIdleConnections, httpGet } from '../../src/sources/httpClient';
import { redactUrl } from '../../src/redact';
import { yarnTransport } from '../../src/yarn/transport';
import type { SigstoreSettings } from '../../src/yarn/settings';
import { fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { startProxy, type TestProxy } from '../../testkit/proxy';
import { startRegistry, type TestRegistry } from '../../testkit/registry';

const GOGGLES = { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' };
const TOKEN = 'registry-secret-token';
const fixture = loadFixturePackage(GOGGLES.name, GOGGLES.version);

let dir: string;
let registry: TestRegistry;
let proxy: TestProxy;
let tlsFront: { url: string; close(): Promise<void> };

/** An https server with a self-signed certificate for 127.0.0.1 that hands every request to the registry. */
async function startTlsFront(target: TestRegistry): Promise<{ url: string; close(): Promise<void> }> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (request, response) => {
    const upstream = http.request(target.url + request.url, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Yarn's configuration as it reads a project's .yarnrc.yml (with plugin-npm, whose settings the transport uses). */
async function configurationWith(lines: string[]): Promise<Configuration> {
  const cwd = mkdtempSync(join(dir, 'project-'));
  writeFileSync(join(cwd, 'package.json'), '{"name":"root","private":true}');
  writeFileSync(join(cwd, '.yarnrc.yml'), [...lines, 'httpRetry: 0', ''].join('\n'));
  const plugins = { modules: new Map<string, any>([['@yarnpkg/plugin-npm', npmPlugin]]), plugins: new Set(['@yarnpkg/plugin-npm']) };
  return Configuration.find(npath.toPortablePath(cwd), plugins, { strict: false });
}

async function fetchThrough(lines: string[], registryUrl = registry.url, timeoutMs = 5000) {
  const configuration = await configurationWith([`npmRegistryServer: "${registryUrl}"`, `npmAuthToken: ${TOKEN}`, ...lines]);
  const ident = structUtils.parseIdent(GOGGLES.name);
  const settings = { requestTimeoutMs: timeoutMs, maxResponseBytes: 10_000_000 } as SigstoreSettings;
  return findAttestations({ ...GOGGLES, registry: registryUrl }, { transport: yarnTransport(configuration, ident, settings), maxResponseBytes: 10_000_000 });
}

const connects = () => proxy.seen.filter((sighting) => sighting.method === 'CONNECT');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigstore-proxy-'));
  registry = await startRegistry({ versions: [fixtureToRegistryVersion(fixture)] });
  proxy = await startProxy();
  tlsFront = await startTlsFront(registry);
});

afterEach(() => {
  closeIdleConnections();
  proxy.seen.length = 0;
  proxy.mode = 'forward';
  registry.clearRequests();
});

afterAll(async () => {
  closeIdleConnections();
  await tlsFront.close();
  await proxy.close();
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('attestation requests through a proxy', () => {
  it('go straight to the registry when no proxy is configured', async () => {
    const found = await fetchThrough([]);
    expect(found.found).toBe(true);
    expect(proxy.seen).toEqual([]);
  });

  it('tunnel through httpProxy to an http registry, the token inside the tunnel', async () => {
    const found = await fetchThrough([`httpProxy: "${proxy.url}"`]);
    expect(found).toMatchObject({ found: true, origin: 'registry' });
    expect(found.found && found.document).toEqual(fixture.attestations);
    expect(connects().map((sighting) => sighting.target)).toEqual([`127.0.0.1:${registry.port}`]);
    expect(connects()[0].headers.authorization).toBeUndefined();
    expect(registry.requests.find((request) => request.kind === 'attestations')?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('keep one tunnel alive per proxy and origin, also after an idle pause', async () => {
    const server = http.createServer((_request, response) => response.end('{}'));
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/doc`;
    try {
      const get = () => httpGet(url, { timeoutMs: 300, maxBytes: 100, retries: 0, proxy: proxy.url });
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(200);
      // Idle longer than the tunnel's CONNECT deadline: the kept-alive tunnel must survive it.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await get()).status).toBe(200);
      expect(connects()).toHaveLength(1);
      expect(connections).toBe(1);
    } finally {
      closeIdleConnections();
      server.closeAllConnections();
      server.close();
    }
  });

  it('honour a per-host networkSettings proxy', async () => {
    const found = await fetchThrough(['networkSettings:', '  "127.0.0.*":', `    httpProxy: "${proxy.url}"`]);
    expect(found.found).toBe(true);
    expect(connects()).toHaveLength(1);
  });

  it('open a CONNECT tunnel through httpsProxy to an https registry (CA from httpsCaFilePath); the proxy never sees the token', async () => {
    const found = await fetchThrough([`httpsProxy: "${proxy.url}"`, `httpsCaFilePath: "${join(dir, 'ca.pem')}"`], tlsFront.url);
    expect(found).toMatchObject({ found: true, url: `${tlsFront.url}/-/npm/v1/attestations/@trishankatdatadog%2fsupreme-goggles@1.0.5` });
    expect(connects().map((sighting) => sighting.target)).toEqual([tlsFront.url.replace('https://', '')]);
    expect(JSON.stringify(proxy.seen)).not.toContain(TOKEN);
    expect(registry.requests.find((request) => request.kind === 'attestations')?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('use httpsProxy (not httpProxy) for an https registry', async () => {
    const found = await fetchThrough([`httpProxy: "http://127.0.0.1:1"`, `httpsProxy: "${proxy.url}"`, `httpsCaFilePath: "${join(dir, 'ca.pem')}"`], tlsFront.url);
    expect(found.found).toBe(true);
    expect(connects()).toHaveLength(1);
  });

  it('fail closed with SOURCE_FETCH_FAILED naming the package and URL when the proxy refuses, without its credentials', async () => {
    proxy.mode = { refuse: 407 };
    const withCredentials = proxy.url.replace('http://', 'http://proxy-user:proxy-pass@');
    const failure = await fetchThrough([`httpProxy: "${withCredentials}"`]).catch((error) => error);
    expect(failure).toMatchObject({ name: 'SigstorePluginError', code: 'SOURCE_FETCH_FAILED' });
    expect(failure.message).toContain(`${GOGGLES.name}@${GOGGLES.version}: fetching ${registry.url}/-/npm/v1/attestations/`);
    expect(failure.message).toContain(`proxy ${proxy.url} refused the tunnel to 127.0.0.1:${registry.port} (HTTP 407)`);
    expect(failure.message).not.toContain('proxy-pass');
    expect(failure.message).not.toContain('proxy-user');
    expect(connects()[0].headers['proxy-authorization']).toBe(`Basic ${Buffer.from('proxy-user:proxy-pass').toString('base64')}`);
    expect(registry.requests).toEqual([]);
  });

  it('fail closed when the proxy cannot be reached, without its credentials', async () => {
    const failure = await fetchThrough(['httpProxy: "http://someone:hunter2@127.0.0.1:1"']).catch((error) => error);
    expect(failure).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(failure.message).toContain('proxy http://127.0.0.1:1');
    expect(failure.message).not.toContain('hunter2');
    expect(registry.requests).toEqual([]);
  });

  it('give up at the deadline when the proxy never answers the CONNECT', async () => {
    proxy.mode = 'silent';
    const failure = await fetchThrough([`httpProxy: "${proxy.url}"`], registry.url, 300).catch((error) => error);
    expect(failure).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(failure.message).toContain('no complete answer within 300 ms');
  });

  it('refuse a proxy URL it cannot use, without printing it', async () => {
    const failure = await fetchThrough(['httpProxy: "socks5://user:pw@127.0.0.1:1080"']).catch((error) => error);
    expect(failure).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(failure.message).toContain('unsupported proxy protocol socks5:');
    expect(failure.message).not.toContain('pw@');
  });
});

describe('enableNetwork', () => {
  it('false globally: a coded failure naming the package, never "unsigned", and no request', async () => {
    const failure = await fetchThrough(['enableNetwork: false']).catch((error) => error);
    expect(failure).toMatchObject({ name: 'SigstorePluginError', code: 'SOURCE_FETCH_FAILED' });
    expect(failure.message).toContain(`${GOGGLES.name}@${GOGGLES.version}: fetching ${registry.url}`);
    expect(failure.message).toContain("network access to 127.0.0.1 is disabled by Yarn's configuration (enableNetwork: false)");
    expect(registry.requests).toEqual([]);
  });

  it('false for the registry host in networkSettings', async () => {
    const failure = await fetchThrough(['networkSettings:', '  "127.0.0.1":', '    enableNetwork: false']).catch((error) => error);
    expect(failure).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(registry.requests).toEqual([]);
  });
});

describe('redactUrl', () => {
  it('drops user and password and keeps the rest', () => {
    expect(redactUrl('http://u:p%40ss@proxy.example:3128/')).toBe('http://proxy.example:3128');
    expect(redactUrl('https://proxy.example')).toBe('https://proxy.example');
    expect(redactUrl('not a url')).toBe('<invalid URL>');
  });
});
