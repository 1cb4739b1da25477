/**
 * A real npm registry on 127.0.0.1 (random port) speaking the wire format
 * Yarn 4 uses: packuments, tarballs, the attestations endpoint. Tests, the
 * demo and the benchmarks mutate it to stage attacks and transport faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import semver from 'semver';
import { integrityOf, readPackageJson, shasumOf } from './tarball';

/** Old enough for Yarn's npmMinimalAgeGate (default: one day) never to quarantine. */
export const OLD_PUBLISH_TIME = '2020-01-01T00:00:00.000Z';
export const PROVENANCE_PREDICATE_V1 = 'https://slsa.dev/provenance/v1';

/** Attestations as served: an object is JSON-encoded, bytes/strings are served verbatim. */
export type AttestationsBody = Buffer | string | object;

export interface RegistryVersionInput {
  name: string;
  version: string;
  tarball: Buffer;
  /** package.json fields for the packument (dependencies, scripts, bin...). Default: read from the tarball. */
  manifest?: Record<string, unknown>;
  /** The attestations endpoint's answer; absent or null: 404 and no `dist.attestations`. */
  attestations?: AttestationsBody | null;
  /** Overrides `dist.integrity` (an attacker who controls metadata). */
  integrity?: string;
  /** Overrides `dist.attestations.url`. */
  attestationsUrl?: string;
  /** Advertise `dist.attestations` in the packument; default: whether attestations exist. */
  advertiseAttestations?: boolean;
  /** `dist.attestations.provenance.predicateType`; default SLSA v1. */
  provenancePredicateType?: string;
  /** `dist.signatures`: absent, signed by the registry's `signer` (if any) over `dist.integrity`; null: none served; a list: served as is. */
  signatures?: RegistrySignatureEntry[] | null;
  /** `_npmUser.trustedPublisher` (npm's trusted publishing) in the version document. */
  trustedPublisher?: boolean;
}

export interface RegistrySignatureEntry {
  keyid: string;
  sig: string;
}

/** Signs `<name>@<version>:<integrity>` as npm's registry does (MockSigstore.registrySignature). */
export type RegistrySigner = (name: string, version: string, integrity: string) => RegistrySignatureEntry;

interface StoredVersion extends Required<Pick<RegistryVersionInput, 'name' | 'version' | 'tarball'>> {
  signatures?: RegistrySignatureEntry[] | null;
  trustedPublisher: boolean;
  manifest: Record<string, unknown>;
  attestations: Buffer | null;
  integrity?: string;
  attestationsUrl?: string;
  advertiseAttestations: boolean;
  provenancePredicateType: string;
}

export type RequestKind = 'packument' | 'tarball' | 'attestations' | 'keys' | 'route' | 'other';

/** What a fault matcher and the request log see. */
export interface RequestInfo {
  method: string;
  /** Raw request path with query, as received. */
  url: string;
  kind: RequestKind;
  /** Package name (decoded) for packument, tarball and attestations requests. */
  name?: string;
  version?: string;
}

export interface RequestRecord extends RequestInfo {
  host: string | undefined;
  hasAuthorization: boolean;
  authorization: string | undefined;
  /** The Accept header: Yarn asks the abbreviated packument (`application/vnd.npm.install-v1+json`), the plugin the full one (`application/json`). */
  accept: string | undefined;
  /** The status answered (or being answered); -1: a `hang` fault, never answered. */
  status: number;
}

export type FaultAction =
  | { type: 'status'; status: number; body?: string }
  /** Accept the request and never answer (the socket is destroyed by close()). */
  | { type: 'hang' }
  /** 200 with a truncated JSON document. */
  | { type: 'invalid-json' }
  /** The real answer, `chunkBytes` every `intervalMs`. */
  | { type: 'trickle'; chunkBytes?: number; intervalMs?: number }
  /** 200 with a streamed body of this many bytes (default 100 MB), never held in memory. */
  | { type: 'huge'; bytes?: number; contentLength?: boolean }
  /** A redirect (default 302) to `location`, another host's URL for instance. */
  | { type: 'redirect'; location: string; status?: number };

/** A function sees the request's record, its Accept header too (Yarn's abbreviated packument or the plugin's full one). */
export type RequestMatcher = string | RegExp | ((request: RequestRecord) => boolean) | { kind?: RequestKind; name?: string; version?: string; method?: string };

export interface Fault {
  match: RequestMatcher;
  action: FaultAction;
  /** Apply to this many matching requests, then stop (default: forever). */
  times?: number;
}

export interface RegistryOptions {
  versions?: RegistryVersionInput[];
  /** Added to every answer (also to faults), to simulate a real registry's round trip. */
  latencyMs?: number;
  /** When set, every request without `Authorization: Bearer <token>` gets 401. */
  requiredToken?: string;
  /** Served at `/-/npm/v1/keys` when given (`keys.json` format). */
  npmKeys?: unknown;
  /** Signs every version's `dist.signatures` (at serve time, over the `dist.integrity` served) unless the version says otherwise. */
  signer?: RegistrySigner;
}

export interface StaticRoute {
  status?: number;
  body: Buffer | string | object;
  contentType?: string;
}

export interface TestRegistry {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  latencyMs: number;
  requiredToken: string | undefined;
  readonly requests: RequestRecord[];
  clearRequests(): void;
  /** Add a version, or replace it if it exists. */
  addVersion(input: RegistryVersionInput): void;
  removeVersion(name: string, version: string): void;
  /** Replace the tarball bytes (integrity follows the new bytes unless overridden). */
  setTarball(name: string, version: string, tarball: Buffer): void;
  /** Replace the attestations answer (raw bytes allowed); null: 404. Does not change advertising. */
  setAttestations(name: string, version: string, body: AttestationsBody | null): void;
  setIntegrity(name: string, version: string, integrity: string | undefined): void;
  /** undefined: signed by the registry's signer; null: no `dist.signatures`; a list: served as is. */
  setSignatures(name: string, version: string, signatures: RegistrySignatureEntry[] | null | undefined): void;
  /** false: omit `dist.attestations` from the packument (the endpoint still answers). */
  setAdvertiseAttestations(name: string, version: string, advertise: boolean): void;
  /** Point `dist.attestations.url` elsewhere (undefined: back to this server). */
  setAttestationsUrl(name: string, version: string, url: string | undefined): void;
  setDistTag(name: string, tag: string, version: string): void;
  /** Serve a fixed answer at an exact path (foreign bundles, odd documents). */
  setRoute(path: string, route: StaticRoute | undefined): void;
  /** Inject a fault; returns a function that removes it. */
  addFault(fault: Fault): () => void;
  clearFaults(): void;
  packumentUrl(name: string): string;
  tarballUrl(name: string, version: string): string;
  attestationsUrl(name: string, version: string): string;
  /** The packument this registry serves for a name (what `GET /<name>` answers). */
  packument(name: string): Record<string, unknown> | undefined;
  /** Copy a version's attestations to `host` at the same path and point `dist.attestations.url` there. */
  moveAttestationsTo(host: TestRegistry, name: string, version: string): string;
  close(): Promise<void>;
}

const toBuffer = (body: AttestationsBody): Buffer => (Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

/** `/@scope%2fname` or `/name`: the path npm clients use for a packument. */
export function packumentPath(name: string): string {
  return '/' + name.replace('/', '%2f');
}

/** `/<name>/-/<basename>-<version>.tgz`, as the public registry lays tarballs out. */
export function tarballPath(name: string, version: string): string {
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `/${name}/-/${base}-${version}.tgz`;
}

export function attestationsPath(name: string, version: string): string {
  return `/-/npm/v1/attestations/${name}@${version}`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Splits `name@version` (name possibly scoped) at its last `@`. */
function splitSpec(spec: string): { name: string; version: string } | undefined {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

class Registry implements TestRegistry {
  url = '';
  port = 0;
  latencyMs: number;
  requiredToken: string | undefined;
  readonly requests: RequestRecord[] = [];
  private readonly packages = new Map<string, Map<string, StoredVersion>>();
  private readonly distTags = new Map<string, Map<string, string>>();
  private readonly routes = new Map<string, StaticRoute>();
  private faults: { fault: Fault; remaining: number }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private npmKeys: unknown;
  private readonly signer?: RegistrySigner;

  constructor(options: RegistryOptions) {
    this.signer = options.signer;
    this.latencyMs = options.latencyMs ?? 0;
    this.requiredToken = options.requiredToken;
    this.npmKeys = options.npmKeys;
    for (const version of options.versions ?? []) this.addVersion(version);
    this.server = createServer((request, response) => this.handle(request, response));
    // As a real registry keeps connections: Node's agents (Yarn's and ours) stop reusing a socket a second
    // before the announced timeout, so `Keep-Alive: timeout=1` meant no connection was ever reused.
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  // ---- content ----

  addVersion(input: RegistryVersionInput): void {
    const versions = this.packages.get(input.name) ?? new Map<string, StoredVersion>();
    this.packages.set(input.name, versions);
    versions.set(input.version, {
      name: input.name,
      version: input.version,
      tarball: input.tarball,
      manifest: input.manifest ?? readPackageJson(input.tarball),
      attestations: input.attestations == null ? null : toBuffer(input.attestations),
      integrity: input.integrity,
      attestationsUrl: input.attestationsUrl,
      advertiseAttestations: input.advertiseAttestations ?? input.attestations != null,
      provenancePredicateType: input.provenancePredicateType ?? PROVENANCE_PREDICATE_V1,
      signatures: input.signatures,
      trustedPublisher: input.trustedPublisher ?? false,
    });
  }

  removeVersion(name: string, version: string): void {
    this.packages.get(name)?.delete(version);
  }

  private stored(name: string, version: string): StoredVersion {
    const found = this.packages.get(name)?.get(version);
    if (!found) throw new Error(`test registry has no ${name}@${version}`);
    return found;
  }

  setTarball(name: string, version: string, tarball: Buffer): void {
    this.stored(name, version).tarball = tarball;
  }

  setAttestations(name: string, version: string, body: AttestationsBody | null): void {
    this.stored(name, version).attestations = body === null ? null : toBuffer(body);
  }

  setIntegrity(name: string, version: string, integrity: string | undefined): void {
    this.stored(name, version).integrity = integrity;
  }

  setSignatures(name: string, version: string, signatures: RegistrySignatureEntry[] | null | undefined): void {
    this.stored(name, version).signatures = signatures;
  }

  setAdvertiseAttestations(name: string, version: string, advertise: boolean): void {
    this.stored(name, version).advertiseAttestations = advertise;
  }

  setAttestationsUrl(name: string, version: string, url: string | undefined): void {
    this.stored(name, version).attestationsUrl = url;
  }

  setDistTag(name: string, tag: string, version: string): void {
    const tags = this.distTags.get(name) ?? new Map<string, string>();
    this.distTags.set(name, tags);
    tags.set(tag, version);
  }

  setRoute(path: string, route: StaticRoute | undefined): void {
    if (route) this.routes.set(path, route);
    else this.routes.delete(path);
  }

  moveAttestationsTo(host: TestRegistry, name: string, version: string): string {
    const stored = this.stored(name, version);
    if (!stored.attestations) throw new Error(`${name}@${version} has no attestations to move`);
    const path = attestationsPath(name, version);
    host.setRoute(path, { body: stored.attestations, contentType: 'application/json' });
    stored.attestationsUrl = host.url + path;
    return stored.attestationsUrl;
  }

  addFault(fault: Fault): () => void {
    const entry = { fault, remaining: fault.times ?? Infinity };
    this.faults.push(entry);
    return () => {
      this.faults = this.faults.filter((candidate) => candidate !== entry);
    };
  }

  clearFaults(): void {
    this.faults = [];
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  packumentUrl(name: string): string {
    return this.url + packumentPath(name);
  }

  tarballUrl(name: string, version: string): string {
    return this.url + tarballPath(name, version);
  }

  attestationsUrl(name: string, version: string): string {
    return this.url + attestationsPath(name, version);
  }

  packument(name: string): Record<string, unknown> | undefined {
    const versions = this.packages.get(name);
    if (!versions || versions.size === 0) return undefined;
    const time: Record<string, string> = { created: OLD_PUBLISH_TIME, modified: OLD_PUBLISH_TIME };
    const documents: Record<string, unknown> = {};
    for (const stored of versions.values()) {
      time[stored.version] = OLD_PUBLISH_TIME;
      documents[stored.version] = this.versionDocument(stored);
    }
    const sorted = [...versions.keys()].filter((version) => semver.valid(version)).sort(semver.compare);
    const tags: Record<string, string> = { latest: sorted.filter((version) => !semver.prerelease(version)).at(-1) ?? sorted.at(-1) ?? [...versions.keys()][0] };
    for (const [tag, version] of this.distTags.get(name) ?? []) tags[tag] = version;
    return { _id: name, name, 'dist-tags': tags, modified: OLD_PUBLISH_TIME, time, versions: documents };
  }

  private versionDocument(stored: StoredVersion): Record<string, unknown> {
    const integrity = stored.integrity ?? integrityOf(stored.tarball);
    const dist: Record<string, unknown> = { tarball: this.tarballUrl(stored.name, stored.version), integrity, shasum: shasumOf(stored.tarball) };
    const signatures = stored.signatures === undefined ? (this.signer ? [this.signer(stored.name, stored.version, integrity)] : undefined) : stored.signatures;
    if (signatures) dist.signatures = signatures;
    if (stored.advertiseAttestations) {
      dist.attestations = {
        url: stored.attestationsUrl ?? this.attestationsUrl(stored.name, stored.version),
        provenance: { predicateType: stored.provenancePredicateType },
      };
    }
    const publisher = stored.trustedPublisher ? { _npmUser: { name: 'GitHub Actions', email: 'npm-oidc-no-reply@github.com', trustedPublisher: { id: 'github', oidcConfigId: 'oidc:test' } } } : {};
    return { ...stored.manifest, ...publisher, name: stored.name, version: stored.version, _id: `${stored.name}@${stored.version}`, dist };
  }

  // ---- HTTP ----

  private classify(method: string, rawUrl: string): RequestInfo {
    const path = rawUrl.split('?')[0];
    const info: RequestInfo = { method, url: rawUrl, kind: 'other' };
    if (this.routes.has(path)) return { ...info, kind: 'route' };
    if (path === '/-/npm/v1/keys') return { ...info, kind: 'keys' };
    const attestationsPrefix = '/-/npm/v1/attestations/';
    if (path.startsWith(attestationsPrefix)) {
      const spec = splitSpec(safeDecode(path.slice(attestationsPrefix.length)));
      return spec ? { ...info, kind: 'attestations', ...spec } : info;
    }
    if (path.startsWith('/-/')) return info;
    const separator = path.indexOf('/-/');
    if (separator > 0) {
      const name = safeDecode(path.slice(1, separator));
      const file = path.slice(separator + 3);
      const version = [...(this.packages.get(name)?.keys() ?? [])].find((candidate) => tarballPath(name, candidate).endsWith('/' + file));
      return { ...info, kind: 'tarball', name, version };
    }
    // `/@scope%2fname`, `/@scope/name`, `/name`; a trailing `/<version>` is the per-version document.
    const decoded = safeDecode(path.slice(1));
    const parts = decoded.split('/');
    const scoped = decoded.startsWith('@');
    const nameParts = scoped ? 2 : 1;
    const name = parts.slice(0, nameParts).join('/');
    const version = parts.length > nameParts ? parts.slice(nameParts).join('/') : undefined;
    return { ...info, kind: 'packument', name, version };
  }

  private matches(matcher: RequestMatcher, request: RequestRecord): boolean {
    if (typeof matcher === 'string') return request.url === matcher || request.url.split('?')[0] === matcher;
    if (matcher instanceof RegExp) return matcher.test(request.url);
    if (typeof matcher === 'function') return matcher(request);
    return (
      (matcher.kind === undefined || matcher.kind === request.kind) &&
      (matcher.name === undefined || matcher.name === request.name) &&
      (matcher.version === undefined || matcher.version === request.version) &&
      (matcher.method === undefined || matcher.method === request.method)
    );
  }

  private takeFault(request: RequestRecord): FaultAction | undefined {
    const entry = this.faults.find((candidate) => candidate.remaining > 0 && this.matches(candidate.fault.match, request));
    if (!entry) return undefined;
    entry.remaining -= 1;
    return entry.fault.action;
  }

  private later(ms: number, callback: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const info = this.classify(request.method ?? 'GET', request.url ?? '/');
    const authorization = request.headers.authorization;
    const record: RequestRecord = { ...info, host: request.headers.host, hasAuthorization: authorization !== undefined, authorization, accept: request.headers.accept, status: 0 };
    this.requests.push(record);
    const answer = () => {
      if (this.requiredToken !== undefined && authorization !== `Bearer ${this.requiredToken}`) {
        record.status = 401;
        return this.send(response, 401, { error: 'authentication required' });
      }
      const fault = this.takeFault(record);
      const [status, body, contentType] = this.route(info);
      record.status = status;
      if (fault) return this.applyFault(fault, record, response, status, body, contentType);
      this.send(response, status, body, contentType);
    };
    // Drain the request body (PUTs, POSTs) before answering.
    request.resume();
    if (this.latencyMs > 0) this.later(this.latencyMs, answer);
    else answer();
  }

  private route(info: RequestInfo): [number, Buffer | object, string] {
    const json = 'application/json';
    if (info.method !== 'GET' && info.method !== 'HEAD') return [405, { error: 'method not allowed' }, json];
    const notFound: [number, object, string] = [404, { error: 'not found' }, json];
    switch (info.kind) {
      case 'route': {
        const route = this.routes.get(info.url.split('?')[0])!;
        return [route.status ?? 200, Buffer.isBuffer(route.body) || typeof route.body === 'string' ? toBuffer(route.body) : route.body, route.contentType ?? json];
      }
      case 'keys':
        return this.npmKeys === undefined ? notFound : [200, this.npmKeys as object, json];
      case 'attestations': {
        const attestations = this.packages.get(info.name!)?.get(info.version!)?.attestations;
        return attestations ? [200, attestations, json] : notFound;
      }
      case 'tarball': {
        const stored = info.version ? this.packages.get(info.name!)?.get(info.version) : undefined;
        return stored ? [200, stored.tarball, 'application/octet-stream'] : notFound;
      }
      case 'packument': {
        const packument = this.packument(info.name!);
        if (!packument) return notFound;
        if (info.version === undefined) return [200, packument, json];
        const version = (packument.versions as Record<string, unknown>)[info.version];
        return version ? [200, version as object, json] : notFound;
      }
      default:
        return notFound;
    }
  }

  private send(response: ServerResponse, status: number, body: Buffer | object, contentType = 'application/json'): void {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    response.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
    response.end(bytes);
  }

  private applyFault(fault: FaultAction, record: RequestRecord, response: ServerResponse, status: number, body: Buffer | object, contentType: string): void {
    switch (fault.type) {
      case 'status':
        record.status = fault.status;
        return this.send(response, fault.status, Buffer.from(fault.body ?? JSON.stringify({ error: `injected ${fault.status}` })));
      case 'hang':
        record.status = -1;
        return;
      case 'invalid-json':
        record.status = 200;
        return this.send(response, 200, Buffer.from('{"attestations":[{"predicateType":"https://slsa.dev/provenance/v1","bundle":{'));
      case 'trickle':
        return this.trickle(response, status, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), contentType, fault.chunkBytes ?? 1, fault.intervalMs ?? 1000);
      case 'huge':
        record.status = 200;
        return this.huge(response, fault.bytes ?? 100 * 1024 * 1024, fault.contentLength ?? true);
      case 'redirect':
        record.status = fault.status ?? 302;
        response.writeHead(record.status, { location: fault.location, 'content-length': 0 });
        return void response.end();
    }
  }

  private trickle(response: ServerResponse, status: number, bytes: Buffer, contentType: string, chunkBytes: number, intervalMs: number): void {
    response.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
    let offset = 0;
    const step = () => {
      if (response.destroyed) return;
      response.write(bytes.subarray(offset, offset + chunkBytes));
      offset += chunkBytes;
      if (offset >= bytes.length) response.end();
      else this.later(intervalMs, step);
    };
    step();
  }

  /** Streams `total` bytes of a never-ending JSON string, honouring backpressure, one 64 KB chunk reused. */
  private huge(response: ServerResponse, total: number, contentLength: boolean): void {
    const head = Buffer.from('{"attestations":[{"predicateType":"');
    const chunk = Buffer.alloc(64 * 1024, 'a');
    response.writeHead(200, { 'content-type': 'application/json', ...(contentLength ? { 'content-length': total } : {}) });
    let sent = 0;
    const pump = () => {
      while (sent < total && !response.destroyed) {
        const piece = sent === 0 ? head.subarray(0, Math.min(head.length, total)) : chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!response.write(piece)) return void response.once('drain', pump);
      }
      if (!response.destroyed) response.end();
    };
    pump();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }
}

/** Starts a registry on 127.0.0.1 with a random port. */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const registry = new Registry(options);
  await registry.listen();
  return registry;
}

/**
 * A second server on another port, standing for a host elsewhere (an
 * attestation store, an attacker's host): serve documents with `setRoute` or
 * `registry.moveAttestationsTo(foreign, ...)`, read what reached it in `requests`.
 */
export function startForeignHost(options: Omit<RegistryOptions, 'versions'> = {}): Promise<TestRegistry> {
  return startRegistry(options);
}
