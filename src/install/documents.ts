/**
 * The documents stage: each registry package's attestation document, fetched
 * once per install through src/sources over the transport src/yarn/ makes of
 * Yarn's network settings (src/net), at most `concurrency` at a time. A
 * source that fails is a coded error in the result, never "unsigned".
 */
import { toPluginError, type SigstorePluginError } from '../errors';
import type { PackumentFacts } from '../sources/packument';
import type { SourceOptions, SourceTransport, SourcedDocument } from '../sources/types';
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
  concurrency: number;
}

export class Documents {
  private readonly fetched = new Map<string, Promise<DocumentResult>>();
  /** The packument facts of a package whose document fetch asked for them, until its signals are checked. */
  private readonly packuments = new Map<string, Promise<PackumentFacts>>();
  private readonly pool: <T>(task: () => Promise<T>) => Promise<T>;

  constructor(private readonly options: DocumentOptions) {
    this.pool = createPool(options.concurrency);
  }

  /** The package's document, fetched on first call; `started` says whether this call started it. */
  get(ref: PackageRef): { result: Promise<DocumentResult>; started: boolean } {
    const known = this.fetched.get(ref.key);
    if (known) return { result: known, started: false };
    const result = this.pool(() => this.fetch(ref));
    this.fetched.set(ref.key, result);
    return { result, started: true };
  }

  /** Drops a document once its result is kept: holding every document until the end of the fetch step grows with the package count. */
  forget(ref: PackageRef): void {
    this.fetched.delete(ref.key);
  }

  /** The package's packument facts (registry signature, history), asked once and shared with the unsigned fallback. */
  packument(ref: PackageRef): Promise<PackumentFacts> {
    return this.sourceOptions(ref).packument!();
  }

  /** Drops the packument once the package's signals are checked. */
  forgetPackument(ref: PackageRef): void {
    this.packuments.delete(ref.key);
  }

  private async fetch(ref: PackageRef): Promise<DocumentResult> {
    const { name, version, registry } = ref;
    try {
      const { findAttestations } = await import('../sources');
      const options = this.sourceOptions(ref);
      // Its registry signature and history come from the packument: asked at once, beside the attestations.
      void options.packument!().catch(() => undefined);
      return { ok: await findAttestations({ name, version, registry }, options) };
    } catch (error) {
      return { error: toPluginError(error, `${name}@${version}`) };
    }
  }

  /** How this package's documents are fetched: its transport, and one shared packument request. */
  private sourceOptions(ref: PackageRef): SourceOptions {
    const { name, version, registry } = ref;
    const { transportFor, bundleDirectory, attestationRegistries, maxResponseBytes } = this.options;
    const options: SourceOptions = { transport: transportFor(ref), bundleDirectory, attestationRegistries, maxResponseBytes };
    options.packument = () => {
      let facts = this.packuments.get(ref.key);
      if (!facts) {
        facts = import('../sources/packument').then(({ fetchPackumentFacts }) => fetchPackumentFacts({ name, version, registry }, { ...options, packument: undefined }));
        // A rejection is handled by whoever awaits it; this copy only must not be reported as unhandled.
        facts.catch(() => undefined);
        this.packuments.set(ref.key, facts);
      }
      return facts;
    };
    return options;
  }
}
