/**
 * The documents stage: each registry package's attestation document, fetched
 * once per install through src/sources over the transport src/yarn/ makes of
 * Yarn's network settings (src/net), at most `concurrency` requests at a time.
 * A package expected to be signed asks its attestations first; any other its
 * packument first, which it needs anyway and which says whether there are
 * attestations to ask for. A source that fails is a coded error in the
 * result, never "unsigned".
 */
import { toPluginError, type SigstorePluginError } from '../errors';
import type { PackumentFacts } from '../sources/packument';
import { attestationRegistryFor } from '../sources/places';
import type { ReadPackument, SourceOptions, SourceTransport, SourcedDocument } from '../sources/types';
import { packumentReader } from './packument-thread';
import { createPool } from './pool';

/** One registry package as the pipeline knows it: no Yarn type, only what the stages need. */
export interface PackageRef {
  /** Unique in the install (Yarn's locator hash). */
  key: string;
  /** The package as the user reads it (Yarn's locator string). */
  label: string;
  name: string;
  version: string;
  /** The registry it is installed from (no trailing slash), and the attestation registry of its scope if any. */
  registry: string;
  attestationRegistry?: string;
  /** The two above, as a remembered "unsigned" answer is keyed (store.ts `sourcesOf`). */
  sources: string;
  /** Whether Yarn's configuration forbids asking its sources (enableOfflineMode, enableNetwork: false). */
  offline: boolean;
  /** A package for some platforms only (Yarn's conditional locators): never pinned, its history not asked again warm. */
  conditional?: boolean;
}

export type DocumentResult = { ok: SourcedDocument } | { error: SigstorePluginError };

export interface DocumentOptions {
  /** The transport for this package's requests (credentials of its registry only, offline refusals). */
  transportFor(ref: PackageRef): SourceTransport;
  bundleDirectory?: string | null;
  attestationRegistries?: Map<string, string>;
  maxResponseBytes: number;
  /** Requests in flight (`sigstoreNetworkConcurrency`): one per package at a time, its packument and attestations in turn. */
  concurrency: number;
  /**
   * Whether the package is expected to be signed (the judge's answer: pinned as signed in sigstore.lock, or
   * its rule requires an attestation). It only orders the requests: attestations first when expected,
   * else the packument first (one request for an unsigned package). Unset: expected.
   */
  expectsSigned?(ref: PackageRef): Promise<boolean>;
}

export class Documents {
  private readonly fetched = new Map<string, Promise<DocumentResult>>();
  /** The packument facts of a package, asked once (by its document fetch or its signals), until its signals are checked. */
  private readonly packuments = new Map<string, Promise<PackumentFacts>>();
  private readonly pool: <T>(task: () => Promise<T>, urgent?: boolean) => Promise<T>;
  /** Reads packument bodies off the main thread (packument-thread.ts); made with the first one. */
  private readPackument?: ReadPackument;
  /** Loaded once per install: every `import()` of a bundled module copies its exports again (esbuild's __toESM). */
  private sourcesModule?: Promise<typeof import('../sources')>;
  private packumentModule?: Promise<typeof import('../sources/packument')>;

  constructor(private readonly options: DocumentOptions) {
    this.pool = createPool(options.concurrency);
  }

  /** The package's document, fetched on first call; `started` says whether this call started it. */
  get(ref: PackageRef): { result: Promise<DocumentResult>; started: boolean } {
    const known = this.fetched.get(ref.key);
    if (known) return { result: known, started: false };
    // Asked outside the pool: the answer may wait for the policy, which no request needs.
    const expected = this.options.expectsSigned ? this.options.expectsSigned(ref).catch(() => true) : Promise.resolve(true);
    const result = expected.then((signed) => this.pool(() => this.fetch(ref, signed)));
    this.fetched.set(ref.key, result);
    return { result, started: true };
  }

  /** Drops a document once its result is kept: holding every document until the end of the fetch step grows with the package count. */
  forget(ref: PackageRef): void {
    this.fetched.delete(ref.key);
  }

  /** Whether this install already asked for the package's packument (reading it again costs no request). */
  hasPackument(ref: PackageRef): boolean {
    return this.packuments.has(ref.key);
  }

  /**
   * The package's packument facts (registry signature, history), asked once and shared with its document
   * fetch. Asked here (after the document), it takes a pool slot ahead of the documents still waiting:
   * a package being judged holds up Yarn's fetch step.
   */
  packument(ref: PackageRef): Promise<PackumentFacts> {
    return this.packumentFacts(ref, (request) => this.pool(request, true));
  }

  /** Drops the packument once the package's signals are checked. */
  forgetPackument(ref: PackageRef): void {
    this.packuments.delete(ref.key);
  }

  private async fetch(ref: PackageRef, expectsSigned: boolean): Promise<DocumentResult> {
    const { name, version, registry } = ref;
    const { transportFor, bundleDirectory, attestationRegistries, maxResponseBytes } = this.options;
    try {
      const { findAttestations } = await (this.sourcesModule ??= import('../sources'));
      // A configured bundle directory or attestation registry is asked first, then the registry as for an expected package.
      const packumentFirst = !expectsSigned && !bundleDirectory && attestationRegistryFor(name, attestationRegistries) === undefined;
      // Within this package's pool slot: its packument never waits for a slot its own document fetch holds.
      const packument = () => this.packumentFacts(ref, (request) => request());
      const options: SourceOptions = { transport: transportFor(ref), bundleDirectory, attestationRegistries, maxResponseBytes, packument, packumentFirst };
      return { ok: await findAttestations({ name, version, registry }, options) };
    } catch (error) {
      return { error: toPluginError(error, `${name}@${version}`) };
    }
  }

  /** One packument request per package, `run` by the caller's slot or a new one. */
  private packumentFacts(ref: PackageRef, run: (request: () => Promise<PackumentFacts>) => Promise<PackumentFacts>): Promise<PackumentFacts> {
    let facts = this.packuments.get(ref.key);
    if (!facts) {
      const { name, version, registry } = ref;
      const options: SourceOptions = { transport: this.options.transportFor(ref), maxResponseBytes: this.options.maxResponseBytes };
      facts = run(() =>
        (this.packumentModule ??= import('../sources/packument')).then(({ fetchPackumentFacts, readPackumentFacts }) => {
          const readPackument = (this.readPackument ??= packumentReader(readPackumentFacts));
          return fetchPackumentFacts({ name, version, registry }, { ...options, readPackument });
        }),
      );
      // A rejection is handled by whoever awaits it; this copy only must not be reported as unhandled.
      facts.catch(() => undefined);
      this.packuments.set(ref.key, facts);
    }
    return facts;
  }
}
