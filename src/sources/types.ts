/**
 * Where Sigstore bundles come from. Knows nothing of Yarn: the caller supplies
 * a transport that knows how to reach registries with the right credentials.
 */
import type { ContentEncoding } from '../net/decode';

export interface PackageLookup {
  name: string;
  version: string;
  /** The registry this package is installed from (no trailing slash). */
  registry: string;
}

/** A GET that answers the body, or `null` for a 404; anything else throws. The body is the caller's own: a packument's worker reads a copy. */
export interface SourceTransport {
  /** `path` on `registry`, with the credentials configured for that registry and no other. */
  registryGet(registry: string, path: string): Promise<Buffer | null>;
  /** As registryGet, with a compressed body kept as served (the packument worker decodes it); absent: registryGet's decoded body is used. */
  registryGetEncoded?(registry: string, path: string): Promise<EncodedBody | null>;
  /** An absolute URL, fetched without any credentials. */
  anonymousGet(url: string): Promise<Buffer | null>;
}

export interface SourceOptions {
  transport: SourceTransport;
  /** Folder of `<name>@<version>.json` attestation documents (air-gapped CI). */
  bundleDirectory?: string | null;
  /** Scope without `@` (or `*`) -> registry serving `/-/npm/v1/attestations/`. */
  attestationRegistries?: Map<string, string>;
  /** Largest body accepted. */
  maxResponseBytes: number;
  /**
   * Reads a packument's body (limits, parse, facts) elsewhere than on the calling thread: the install hands
   * it to a worker, and it is not used here again. Else read here (readPackumentFacts).
   */
  readPackument?: ReadPackument;
  /** The package's packument facts, when the caller fetches them once for several checks (else fetched here). */
  packument?: () => Promise<PackumentFacts>;
  /**
   * Ask the package's own registry for its packument first and for its attestations only when the packument
   * announces them (one request for an unsigned package); else the attestations endpoint first.
   */
  packumentFirst?: boolean;
}

/** A body as served: still in its content `encoding` when it has one. */
export interface EncodedBody {
  bytes: Buffer;
  encoding?: ContentEncoding;
}

/** The facts of a packument's body as served, for `pkg`, fetched from `url`, within `maxBytes` (decoded); the package's coded error otherwise. */
export type ReadPackument = (body: EncodedBody, pkg: PackageLookup, url: string, maxBytes: number) => Promise<PackumentFacts>;

/** What the registry says a version was published with. */
export type PublishEvidence = 'trusted-publisher' | 'provenance' | 'none';

export interface PackumentFacts {
  url: string;
  /** `dist.attestations.url` of this version, when announced. */
  attestationsUrl?: string;
  /** `dist.signatures` of this version as served (undefined: none). */
  signatures?: unknown;
  /** `time[version]` (unsigned: mirrors rewrite it). */
  publishedAt?: Date;
  /** Every version's publish evidence. */
  history: Map<string, PublishEvidence>;
}

export type SourcedDocument =
  | {
      found: true;
      /** The body as served, within the size cap: parsed where it is verified (src/install/document-verification.ts), once. */
      bytes: Buffer;
      origin: string;
      url: string;
    }
  | { found: false; searched: string[] };
