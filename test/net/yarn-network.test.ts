/**
 * One network stack for the attestation requests AND the TUF repository,
 * with Yarn's network settings read by a real Yarn configuration from
 * .yarnrc.yml: proxies, a CA made in the test, client certificates,
 * enableStrictSsl, unsafeHttpWhitelist, enableNetwork, per-host
 * networkSettings, httpTimeout, httpRetry, networkConcurrency and other
 * plugins' wrapNetworkRequest. Every server is real and on loopback: the
 * testkit registry, a TUF repository, https fronts for both (one of them
 * requiring a client certificate), and a CONNECT proxy that records what it
 * sees.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { Configuration, structUtils, type Hooks, type Plugin } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import npmPlugin from '@yarnpkg/plugin-npm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeIdleConnections } from '../../src/net/agents';
import { createHttpClient, DIRECT } from '../../src/net/client';
import { redactUrl } from '../../src/redact';
import { findAttestations } from '../../src/sources';
import { NPM_KEYS_TARGET, resolveTrustMaterial, TRUSTED_ROOT_TARGET } from '../../src/trust/tuf';
import type { SigstoreSettings } from '../../src/yarn/settings';
import { yarnHttpClient, yarnTransport } from '../../src/yarn/transport';
import { fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { startProxy, type TestProxy } from '../../testkit/proxy';
import { startRegistry, type TestRegistry } from '../../testkit/registry';
import { createTestCa, startTlsFront, type IssuedCertificate, type TestCa, type TlsFront } from '../../testkit/tls';
import { serveRepository, TufTestRepository, type ServedRepository } from '../../testkit/tuf-repository';

const GOGGLES = { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' };
const SUBJECT = `${GOGGLES.name}@${GOGGLES.version}`;
const TOKEN = 'registry-secret-token';
const fixture = loadFixturePackage(GOGGLES.name, GOGGLES.version);
const sigstoreFixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/sigstore', name), 'utf8');

let dir: string;
let ca: TestCa;
let client: IssuedCertificate;
let registry: TestRegistry;
let tuf: ServedRepository;
let tufRootPath: string;
let proxy: TestProxy;
/** https fronts: `tls` with a server certificate from the test CA, `mtls` also requiring a client certificate from it. */
const fronts = {} as Record<'registryTls' | 'registryMtls' | 'tufTls' | 'tufMtls', TlsFront>;

/** Yarn's configuration as it reads a project's .yarnrc.yml (with plugin-npm, whose settings the transport uses, and any test plugin). */
async function configurationWith(lines: string[], extraPlugins: Record<string, Plugin<Hooks>> = {}): Promise<Configuration> {
  const cwd = mkdtempSync(join(dir, 'project-'));
  writeFileSync(join(cwd, 'package.json'), '{"name":"root","private":true}');
  const retry = lines.some((line) => line.startsWith('httpRetry:')) ? [] : ['httpRetry: 0'];
  writeFileSync(join(cwd, '.yarnrc.yml'), [...lines, ...retry, ''].join('\n'));
  const modules = new Map<string, any>([['@yarnpkg/plugin-npm', npmPlugin], ...Object.entries(extraPlugins)]);
  return Configuration.find(npath.toPortablePath(cwd), { modules, plugins: new Set(modules.keys()) }, { strict: false });
}

const settings = (requestTimeoutMs = 5000) => ({ requestTimeoutMs, maxResponseBytes: 10_000_000 }) as SigstoreSettings;

/** The attestation document of the fixture package from `registryUrl`, through the plugin's transport. */
async function attestations(lines: string[], registryUrl: string, options: { timeoutMs?: number; plugins?: Record<string, Plugin<Hooks>> } = {}) {
  const configuration = await configurationWith([`npmRegistryServer: "${registryUrl}"`, `npmAuthToken: ${TOKEN}`, ...lines], options.plugins);
  const transport = yarnTransport(configuration, structUtils.parseIdent(GOGGLES.name), settings(options.timeoutMs));
  return findAttestations({ ...GOGGLES, registry: registryUrl }, { transport, maxResponseBytes: 10_000_000 });
}

/** The trust material from the TUF repository at `mirrorUrl` (a fresh cache: every call asks the repository), through Yarn's network settings. */
async function trust(lines: string[], mirrorUrl: string, plugins?: Record<string, Plugin<Hooks>>) {
  const configuration = await configurationWith(lines, plugins);
  return resolveTrustMaterial({
    cacheDir: mkdtempSync(join(dir, 'tuf-cache-')),
    mode: 'auto',
    tufMirrorUrl: mirrorUrl,
    tufRootPath,
    ci: false,
    http: yarnHttpClient(configuration, { deadlineMs: 5000, maxRetries: 1 }),
  });
}

const failure = (promise: Promise<unknown>) => promise.then(() => expect.unreachable('expected a failure'), (error: unknown) => error as Error & { code?: string });
const connects = () => proxy.seen.filter((sighting) => sighting.method === 'CONNECT');
const caLine = () => `httpsCaFilePath: "${ca.certPath}"`;
const clientLines = () => [`httpsCertFilePath: "${client.certPath}"`, `httpsKeyFilePath: "${client.keyPath}"`];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigstore-network-'));
  ca = createTestCa(dir);
  client = ca.issue('yarn-client', 'client');
  registry = await startRegistry({ versions: [fixtureToRegistryVersion(fixture)] });
  const repository = new TufTestRepository().setTarget(TRUSTED_ROOT_TARGET, sigstoreFixture('trusted_root.production.json')).setTarget(NPM_KEYS_TARGET, sigstoreFixture('npm_registry_keys.json'));
  repository.publish();
  tuf = await serveRepository(repository);
  tufRootPath = join(dir, 'tuf-root.json');
  writeFileSync(tufRootPath, repository.rootJson);
  proxy = await startProxy();
  fronts.registryTls = await startTlsFront(registry.url, ca);
  fronts.registryMtls = await startTlsFront(registry.url, ca, { clientCertificate: true });
  fronts.tufTls = await startTlsFront(tuf.url, ca);
  fronts.tufMtls = await startTlsFront(tuf.url, ca, { clientCertificate: true });
});

afterEach(() => {
  closeIdleConnections();
  proxy.seen.length = 0;
  proxy.mode = 'forward';
  registry.clearRequests();
  registry.clearFaults();
  tuf.requests.length = 0;
  for (const front of Object.values(fronts)) front.clients.length = 0;
});

afterAll(async () => {
  closeIdleConnections();
  await Promise.all(Object.values(fronts).map((front) => front.close()));
  await proxy?.close();
  await tuf?.close();
  await registry?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Target = 'http' | 'tls' | 'mtls';

interface Case {
  name: string;
  target: Target;
  lines: () => string[];
  /** Undefined: the fetch succeeds; else what the failure says. */
  fails?: RegExp;
  /** The failure happens before anything reaches the server. */
  nothingSent?: boolean;
}

const cases: Case[] = [
  { name: 'TLS verified against the CA in httpsCaFilePath', target: 'tls', lines: () => [caLine()] },
  { name: 'TLS from a CA the configuration does not name is refused', target: 'tls', lines: () => [], fails: /certificate/i },
  { name: 'enableStrictSsl: false accepts a certificate from an unknown CA', target: 'tls', lines: () => ['enableStrictSsl: false'] },
  { name: 'a per-host httpsCaFilePath in networkSettings', target: 'tls', lines: () => ['networkSettings:', '  "127.0.0.*":', `    ${caLine()}`] },
  { name: "another host's networkSettings CA does not apply", target: 'tls', lines: () => ['networkSettings:', '  "registry.example.com":', `    ${caLine()}`], fails: /certificate/i },
  { name: 'a client certificate from httpsCertFilePath / httpsKeyFilePath', target: 'mtls', lines: () => [caLine(), ...clientLines()] },
  { name: 'a client certificate per host in networkSettings', target: 'mtls', lines: () => [caLine(), 'networkSettings:', '  "127.0.0.1":', ...clientLines().map((line) => `    ${line}`)] },
  { name: 'no client certificate where the server requires one: refused', target: 'mtls', lines: () => [caLine()], fails: /socket hang up|certificate|alert|ECONNRESET/i },
  { name: 'plain http to a host in unsafeHttpWhitelist', target: 'http', lines: () => ['unsafeHttpWhitelist: ["127.0.0.1"]'] },
  { name: 'plain http to a host matched by an unsafeHttpWhitelist glob', target: 'http', lines: () => ['unsafeHttpWhitelist: ["localhost", "127.0.0.*"]'] },
  { name: 'plain http to a host not in unsafeHttpWhitelist: refused, nothing sent', target: 'http', lines: () => ['unsafeHttpWhitelist: ["localhost"]'], fails: /plain http: to 127\.0\.0\.1 is refused: the host is not in unsafeHttpWhitelist/, nothingSent: true },
  { name: 'enableNetwork: false: refused, nothing sent', target: 'tls', lines: () => [caLine(), 'enableNetwork: false'], fails: /network access to 127\.0\.0\.1 is disabled by the configuration \(enableNetwork: false\)/, nothingSent: true },
  { name: 'enableNetwork: false for the host in networkSettings: refused, nothing sent', target: 'tls', lines: () => [caLine(), 'networkSettings:', '  "127.0.0.1":', '    enableNetwork: false'], fails: /enableNetwork: false/, nothingSent: true },
  { name: 'httpsProxy: a CONNECT tunnel to the https host, TLS inside it', target: 'tls', lines: () => [caLine(), `httpsProxy: "${proxy.url}"`, 'httpProxy: "http://127.0.0.1:1"'] },
  { name: 'httpProxy: a CONNECT tunnel to the http host', target: 'http', lines: () => ['unsafeHttpWhitelist: ["127.0.0.1"]', `httpProxy: "${proxy.url}"`, 'httpsProxy: "http://127.0.0.1:1"'] },
  { name: 'a per-host proxy in networkSettings, with a client certificate through the tunnel', target: 'mtls', lines: () => [caLine(), ...clientLines(), 'networkSettings:', '  "127.0.0.1":', `    httpsProxy: "${proxy.url}"`] },
];

const registryUrl = (target: Target) => (target === 'http' ? registry.url : target === 'tls' ? fronts.registryTls.url : fronts.registryMtls.url);
const mirrorUrl = (target: Target) => (target === 'http' ? tuf.url : target === 'tls' ? fronts.tufTls.url : fronts.tufMtls.url);
const proxied = (testCase: Case) => testCase.lines().some((line) => line.includes(proxy.url));
const portOf = (url: string) => new URL(url).port;

describe('attestation requests with Yarn network settings', () => {
  it.each(cases)('$name', async (testCase) => {
    const url = registryUrl(testCase.target);
    const attempt = attestations(testCase.lines(), url);
    if (testCase.fails) {
      const error = await failure(attempt);
      expect(error).toMatchObject({ name: 'SigstorePluginError', code: 'SOURCE_FETCH_FAILED' });
      expect(error.message).toContain(`${SUBJECT}: fetching ${url}/-/npm/v1/attestations/`);
      expect(error.message).toMatch(testCase.fails);
      expect(error.message).not.toContain(TOKEN);
      if (testCase.nothingSent) expect(registry.requests).toEqual([]);
      return;
    }
    const found = await attempt;
    expect(found).toMatchObject({ found: true, origin: 'registry', url: `${url}/-/npm/v1/attestations/@trishankatdatadog%2fsupreme-goggles@1.0.5` });
    expect(found.found && JSON.parse(found.bytes.toString('utf8'))).toEqual(fixture.attestations);
    expect(registry.requests.find((request) => request.kind === 'attestations')?.authorization).toBe(`Bearer ${TOKEN}`);
    if (testCase.target === 'mtls') expect(fronts.registryMtls.clients).toContain('yarn-client');
    if (proxied(testCase)) {
      expect(connects().map((sighting) => sighting.target)).toEqual([`127.0.0.1:${portOf(url)}`]);
      // The token travels inside the tunnel (readable by the proxy only for a plain-http host, as Yarn's own).
      expect(JSON.stringify(proxy.seen)).not.toContain(TOKEN);
    } else expect(proxy.seen).toEqual([]);
  });
});

describe('TUF requests with the same settings', () => {
  it.each(cases)('$name', async (testCase) => {
    const url = mirrorUrl(testCase.target);
    const attempt = trust(testCase.lines(), url);
    if (testCase.fails) {
      // A private mirror that cannot be read, nothing cached: the coded failure names the mirror and the cause.
      const error = await failure(attempt);
      expect(error).toMatchObject({ name: 'SigstorePluginError', code: 'TUF_UNREACHABLE' });
      expect(error.message).toContain(`TUF repository ${url} unreachable (`);
      expect(error.message).toMatch(testCase.fails);
      if (testCase.nothingSent) expect(tuf.requests).toEqual([]);
      return;
    }
    const resolved = await attempt;
    expect(resolved).toMatchObject({ source: 'tuf', summary: `trusted root refreshed from TUF ${url}` });
    expect(tuf.requests).toEqual(expect.arrayContaining(['timestamp.json', '1.snapshot.json', '1.targets.json']));
    expect(tuf.requests.filter((path) => path.startsWith('targets/'))).toHaveLength(2);
    if (testCase.target === 'mtls') expect(fronts.tufMtls.clients).toContain('yarn-client');
    if (proxied(testCase)) expect(new Set(connects().map((sighting) => sighting.target))).toEqual(new Set([`127.0.0.1:${portOf(url)}`]));
    else expect(proxy.seen).toEqual([]);
  });
});

describe('through a proxy', () => {
  it('keeps one tunnel alive per proxy and origin, also after an idle pause', async () => {
    const server = http.createServer((_request, response) => response.end('{}'));
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/doc`;
    try {
      const stack = createHttpClient({ settingsFor: () => ({ ...DIRECT, proxy: proxy.url }), deadlineMs: 300, retries: 0 });
      const get = () => stack.get(url, { maxBytes: 100 });
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

  it('fails closed with SOURCE_FETCH_FAILED naming the package and URL when the proxy refuses, without its credentials', async () => {
    proxy.mode = { refuse: 407 };
    const withCredentials = proxy.url.replace('http://', 'http://proxy-user:proxy-pass@');
    const error = await failure(attestations(['unsafeHttpWhitelist: ["127.0.0.1"]', `httpProxy: "${withCredentials}"`], registry.url));
    expect(error).toMatchObject({ name: 'SigstorePluginError', code: 'SOURCE_FETCH_FAILED' });
    expect(error.message).toContain(`${SUBJECT}: fetching ${registry.url}/-/npm/v1/attestations/`);
    expect(error.message).toContain(`proxy ${proxy.url} refused the tunnel to 127.0.0.1:${registry.port} (HTTP 407)`);
    expect(error.message).not.toMatch(/proxy-pass|proxy-user/);
    expect(connects()[0].headers['proxy-authorization']).toBe(`Basic ${Buffer.from('proxy-user:proxy-pass').toString('base64')}`);
    expect(registry.requests).toEqual([]);
  });

  it('fails closed when the proxy cannot be reached, without its credentials', async () => {
    const error = await failure(attestations(['unsafeHttpWhitelist: ["127.0.0.1"]', 'httpProxy: "http://someone:hunter2@127.0.0.1:1"'], registry.url));
    expect(error).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(error.message).toContain('proxy http://127.0.0.1:1');
    expect(error.message).not.toContain('hunter2');
    expect(registry.requests).toEqual([]);
  });

  it('gives up at the deadline when the proxy never answers the CONNECT', async () => {
    proxy.mode = 'silent';
    const error = await failure(attestations(['unsafeHttpWhitelist: ["127.0.0.1"]', `httpProxy: "${proxy.url}"`], registry.url, { timeoutMs: 300 }));
    expect(error).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(error.message).toMatch(/no complete answer within 300 ms|opened no tunnel to 127\.0\.0\.1:\d+ within 300 ms/);
  });

  it('refuses a proxy URL it cannot use, without printing its credentials', async () => {
    const error = await failure(attestations(['unsafeHttpWhitelist: ["127.0.0.1"]', 'httpProxy: "socks5://user:pw@127.0.0.1:1080"'], registry.url));
    expect(error).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(error.message).toContain('unsupported proxy protocol socks5:');
    expect(error.message).not.toContain('pw@');
  });
});

describe('httpTimeout, httpRetry, networkConcurrency', () => {
  const http_ = ['unsafeHttpWhitelist: ["127.0.0.1"]'];

  it('httpTimeout: a silent registry fails at the silence limit, before the overall deadline', async () => {
    registry.addFault({ match: { kind: 'attestations' }, action: { type: 'hang' } });
    const error = await failure(attestations([...http_, 'httpTimeout: 200'], registry.url, { timeoutMs: 60_000 }));
    expect(error).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(error.message).toContain('the connection was silent for 200 ms');
  });

  it('httpRetry: a 503 is asked again as many times as it says', async () => {
    registry.addFault({ match: { kind: 'attestations' }, action: { type: 'status', status: 503 }, times: 1 });
    const error = await failure(attestations([...http_, 'httpRetry: 0'], registry.url));
    expect(error.message).toContain('HTTP 503');
    registry.addFault({ match: { kind: 'attestations' }, action: { type: 'status', status: 503 }, times: 1 });
    expect(await attestations([...http_, 'httpRetry: 1'], registry.url)).toMatchObject({ found: true });
  });

  /** A server that counts requests in flight; with `barrier`, it answers none until that many are in flight together. */
  async function countingServer(barrier?: number) {
    let inFlight = 0;
    let most = 0;
    const held: http.ServerResponse[] = [];
    const server = http.createServer((_request, response) => {
      most = Math.max(most, ++inFlight);
      const answer = (r: http.ServerResponse) => setImmediate(() => (inFlight--, r.end('{}')));
      if (barrier === undefined) return answer(response);
      held.push(response);
      if (held.length === barrier) held.splice(0).forEach(answer);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, most: () => most, close: () => (server.closeAllConnections(), server.close()) };
  }

  async function fetchFour(networkConcurrency: number, url: string) {
    const configuration = await configurationWith([...http_, `networkConcurrency: ${networkConcurrency}`]);
    const transport = yarnTransport(configuration, structUtils.parseIdent(GOGGLES.name), settings());
    return Promise.all([1, 2, 3, 4].map((n) => transport.anonymousGet(`${url}/doc-${n}`)));
  }

  it('networkConcurrency: never more requests in flight than it allows', async () => {
    const server = await countingServer();
    try {
      await fetchFour(1, server.url);
      expect(server.most()).toBe(1);
    } finally {
      server.close();
    }
  });

  it('networkConcurrency (control): four in flight together when it allows four', async () => {
    const server = await countingServer(4);
    try {
      await fetchFour(4, server.url);
      expect(server.most()).toBe(4);
    } finally {
      server.close();
    }
  });
});

describe("other plugins' wrapNetworkRequest", () => {
  it('sees the attestation and the TUF requests, as it sees Yarn’s', async () => {
    const seen: string[] = [];
    const audit: Plugin<Hooks> = {
      hooks: {
        wrapNetworkRequest: async (executor, extra) => async () => {
          seen.push(`${extra.method} ${String(extra.target)}`);
          return executor();
        },
      },
    };
    expect(await attestations([caLine()], fronts.registryTls.url, { plugins: { audit } })).toMatchObject({ found: true });
    expect(seen).toEqual([`GET ${fronts.registryTls.url}/-/npm/v1/attestations/@trishankatdatadog%2fsupreme-goggles@1.0.5`]);
    seen.length = 0;
    await trust([caLine()], fronts.tufTls.url, { audit });
    expect(seen).toContain(`GET ${fronts.tufTls.url}/timestamp.json`);
  });

  it('sees a packument kept encoded for the packument worker decoded, as from Yarn’s client; without a hook it stays as served', async () => {
    const packument = Buffer.from(JSON.stringify(registry.packument(GOGGLES.name)));
    const gzipped = zlib.gzipSync(packument);
    const server = http.createServer((request, response) => response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipped));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const bodies: unknown[] = [];
      const audit: Plugin<Hooks> = {
        hooks: {
          wrapNetworkRequest: async (executor) => async () => {
            const response = await executor();
            bodies.push(response.body);
            return response;
          },
        },
      };
      const transportWith = async (plugins?: Record<string, Plugin<Hooks>>) =>
        yarnTransport(await configurationWith([`npmRegistryServer: "${url}"`, 'unsafeHttpWhitelist: ["127.0.0.1"]'], plugins), structUtils.parseIdent(GOGGLES.name), settings());
      const path = `/${GOGGLES.name.replace('/', '%2f')}`;
      expect(await (await transportWith()).registryGetEncoded!(url, path)).toEqual({ bytes: gzipped, encoding: 'gzip' });
      const hooked = await (await transportWith({ audit })).registryGetEncoded!(url, path);
      expect(bodies).toEqual([packument]);
      expect(hooked).toEqual({ bytes: packument, encoding: undefined });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an answer in the request’s place is checked like a real one: no status and body fails closed', async () => {
    const broken: Plugin<Hooks> = { hooks: { wrapNetworkRequest: async () => async () => ({ statusCode: 200, headers: {}, body: { attestations: [] } }) } };
    const error = await failure(attestations([caLine()], fronts.registryTls.url, { plugins: { broken } }));
    expect(error).toMatchObject({ code: 'SOURCE_FETCH_FAILED' });
    expect(error.message).toContain('the request wrapper answered no status and body');
  });
});

describe('redactUrl', () => {
  it('drops user and password and keeps the rest', () => {
    expect(redactUrl('http://u:p%40ss@proxy.example:3128/')).toBe('http://proxy.example:3128');
    expect(redactUrl('https://proxy.example')).toBe('https://proxy.example');
    expect(redactUrl('not a url')).toBe('<invalid URL>');
  });
});
