/**
 * The install pipeline (src/install/) without Yarn, for unit tests: a fake
 * transport serving documents and packuments from tables, a fake in-memory
 * store that counts lookups and remembers, a printer that keeps what it was
 * given, and a pipeline over them with a real policy and the embedded trust
 * material (real fixtures verify against it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstallPipeline, type PipelineOptions, type PolicyView } from '../src/install/pipeline';
import type { PackageRef } from '../src/install/documents';
import type { Printer } from '../src/install/results';
import { sourcesOf, type ArchiveEntry, type Query, type RecordKind, type Store, type Value } from '../src/install/store';
import { evaluate, evaluateSource, validatePolicyDocument, type LoadedPolicy } from '../src/policy';
import { escapedName } from '../src/sources/places';
import { attestationsPath } from '../src/sources/registry';
import type { SourceTransport } from '../src/sources/types';
import { createTrustContext, embeddedTrustMaterial } from '../src/trust';
import type { FixturePackage } from './fixtures';

export const FAKE_REGISTRY = 'https://registry.fake.test';

/** Answers GETs from its tables (404 elsewhere) and lists every URL asked, in order. */
export class FakeTransport implements SourceTransport {
  readonly requests: string[] = [];
  private readonly bodies = new Map<string, Buffer>();
  /** URLs that fail as a broken network would. */
  readonly failing = new Set<string>();
  /** Requests answered at once, at most (each answer waits a turn of the event loop, so that requests overlap). */
  maxInFlight = 0;
  private inFlight = 0;

  /**
   * A signed package: its attestations endpoint serves the fixture's document (or other bytes), its packument
   * announces them; `signatures`: the packument's `dist.signatures` (default none, as a mirror's).
   */
  signed(fixture: Pick<FixturePackage, 'name' | 'version' | 'attestationsBytes'>, bytes: Buffer | undefined = fixture.attestationsBytes, signatures?: unknown): this {
    if (bytes === undefined) throw new Error(`${fixture.name}@${fixture.version}: no such attestations variant`);
    const url = FAKE_REGISTRY + attestationsPath(fixture);
    this.bodies.set(url, bytes);
    return this.packument(fixture.name, fixture.version, { attestations: { url, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } }, ...(signatures ? { signatures } : {}) });
  }

  /** An unsigned package: no attestations endpoint, a packument without `dist.attestations`. */
  unsigned(name: string, version: string): this {
    return this.packument(name, version, {});
  }

  /** The package's packument, with this version added, its `dist` as given (no registry signatures unless given: a mirror's). */
  private packument(name: string, version: string, dist: Record<string, unknown>): this {
    const url = `${FAKE_REGISTRY}/${escapedName(name)}`;
    const known = this.bodies.get(url);
    const versions = known ? (JSON.parse(known.toString('utf8')) as { versions: Record<string, unknown> }).versions : {};
    this.bodies.set(url, Buffer.from(JSON.stringify({ name, versions: { ...versions, [version]: { name, version, dist } } })));
    return this;
  }

  /** The packuments asked for. */
  get packumentRequests(): string[] {
    return this.requests.filter((url) => !url.includes('/-/npm/v1/attestations/'));
  }

  /** The attestation documents asked for (the packument, asked beside each, left out). */
  get documentRequests(): string[] {
    return this.requests.filter((url) => url.includes('/-/npm/v1/attestations/'));
  }

  registryGet(registry: string, path: string): Promise<Buffer | null> {
    return this.answer(registry + path);
  }

  anonymousGet(url: string): Promise<Buffer | null> {
    return this.answer(url);
  }

  private async answer(url: string): Promise<Buffer | null> {
    this.requests.push(url);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.failing.has(url)) throw new Error('connect ECONNREFUSED');
      return this.bodies.get(url) ?? null;
    } finally {
      this.inFlight--;
    }
  }
}

/** An in-memory store: every record kept as given (no file, no MAC), every call counted. */
export class FakeStore implements Store {
  readonly records = new Map<string, unknown>();
  readonly lookups: Array<{ kind: RecordKind; hit: boolean }> = [];
  readonly remembered: RecordKind[] = [];
  savedArchives?: Map<string, ArchiveEntry>;

  /** The key a record is kept under: its kind and its whole query. */
  static key(kind: RecordKind, query: unknown): string {
    return `${kind}:${JSON.stringify(query)}`;
  }

  async lookup<K extends RecordKind>(kind: K, query: Query<K>): Promise<Value<K> | undefined> {
    const value = this.records.get(FakeStore.key(kind, query)) as Value<K> | undefined;
    this.lookups.push({ kind, hit: value !== undefined });
    return value;
  }

  remember<K extends Exclude<RecordKind, 'archive'>>(kind: K, query: Query<K>, value: Value<K>): void {
    this.remembered.push(kind);
    this.records.set(FakeStore.key(kind, query), value);
  }

  async flush(): Promise<void> {}

  async saveArchives(entries: Map<string, ArchiveEntry>): Promise<void> {
    this.savedArchives = entries;
  }

  async recordedZip(locatorHash: string): Promise<string | undefined> {
    return this.savedArchives?.get(locatorHash)?.zipSha512;
  }

  hits(kind: RecordKind): number {
    return this.lookups.filter((lookup) => lookup.kind === kind && lookup.hit).length;
  }
}

/** A printer that keeps every line and event. */
export class KeptPrinter implements Printer {
  readonly lines: string[] = [];
  readonly warnings: string[] = [];
  readonly events: Array<Record<string, unknown>> = [];
  constructor(readonly json = true) {}
  info(text: string): void {
    this.lines.push(text);
  }
  warning(text: string): void {
    this.warnings.push(text);
  }
  event(data: Record<string, unknown>): void {
    this.events.push(data);
  }
}

/** A policy view over a plain policy document (undefined: zero-config). */
export function policyView(document?: unknown): PolicyView {
  let loaded: LoadedPolicy | undefined;
  if (document !== undefined) {
    const { model, problems } = validatePolicyDocument(document, 'test-policy.yml');
    if (!model) throw new Error(`invalid test policy: ${JSON.stringify(problems)}`);
    loaded = { model, digest: 'test', warnings: problems };
  }
  return {
    loaded,
    label: loaded ? 'test-policy.yml' : 'none (zero-config)',
    notes: [],
    judge: (pkg, outcome) => evaluate(loaded, pkg, outcome),
    judgeSource: (request) => evaluateSource(loaded?.model, request),
  };
}

/** A registry package of the fake registry as the pipeline's ref. */
export function refOf(name: string, version: string, options: { offline?: boolean } = {}): PackageRef {
  return { key: `${name}@${version}`, label: `${name}@npm:${version}`, name, version, registry: FAKE_REGISTRY, sources: sourcesOf(FAKE_REGISTRY, undefined), offline: options.offline ?? false };
}

/**
 * For a test file that writes MAC'd records: a temporary folder, with the
 * user's record key (XDG_CONFIG_HOME) inside it for the file's duration.
 * Call at the top of a describe; read `folder()` inside its tests.
 */
export function temporaryRecordKey(hooks: { beforeAll(fn: () => void): void; afterAll(fn: () => void): void }, prefix: string): { folder(): string } {
  let folder = '';
  const saved = process.env.XDG_CONFIG_HOME;
  hooks.beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), prefix));
    process.env.XDG_CONFIG_HOME = join(folder, 'config');
  });
  hooks.afterAll(() => {
    if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = saved;
    rmSync(folder, { recursive: true, force: true });
  });
  return { folder: () => folder };
}

/** A folder for one test's files (sigstore.lock). */
export const scratchFolder = () => mkdtempSync(join(tmpdir(), 'sigstore-pipeline-'));

/** A pipeline over the fakes: embedded trust material, zero-config unless `policy` is given, no recheck. */
export function fakePipeline(options: { transport: FakeTransport; store: Store; policy?: unknown; folder?: string; concurrency?: number } & Partial<Omit<PipelineOptions, 'store' | 'documents' | 'load'>>): InstallPipeline {
  const material = embeddedTrustMaterial();
  const trustInfo = { context: createTrustContext(material), material, summary: 'embedded', source: 'embedded' as const, warnings: [], fromEnvironment: [] };
  const policy = policyView(options.policy);
  return new InstallPipeline({
    store: options.store,
    documents: { transportFor: () => options.transport, maxResponseBytes: 10 * 1024 * 1024, concurrency: options.concurrency ?? 4 },
    pinLockPath: join(options.folder ?? scratchFolder(), 'sigstore.lock'),
    load: async () => ({ policy, trustInfo }),
    recheck: options.recheck ?? false,
    unsignedMaxAgeDays: options.unsignedMaxAgeDays ?? 7,
    bundleDirectory: options.bundleDirectory,
  });
}
