/**
 * What the package's full packument says of one version, read once and kept
 * small (a packument can weigh megabytes; an install holds thousands of
 * packages): where its attestations are announced, its registry signatures
 * (`dist.signatures`), the integrity and publish time the registry claims,
 * and the publish evidence of every version (for no-downgrade). All of it
 * is unsigned metadata except the signatures, which src/verify checks.
 */
import { DecodedTooLarge, decodeBody } from '../net/decode';
import { get, parseJsonBody, registryGet, sourceError } from './http';
import { escapedName } from './places';
import type { EncodedBody, PackageLookup, PackumentFacts, PublishEvidence, SourceOptions } from './types';

export type { PackumentFacts, PublishEvidence };

/** `_npmUser.trustedPublisher` or `dist.attestations.provenance` of a version document (as pnpm and npm's site read them). */
export function evidenceOf(manifest: unknown): PublishEvidence {
  const document = manifest as { _npmUser?: { trustedPublisher?: unknown }; dist?: { attestations?: { provenance?: unknown } } } | null;
  if (document?._npmUser?.trustedPublisher) return 'trusted-publisher';
  if (document?.dist?.attestations?.provenance) return 'provenance';
  return 'none';
}

/** Fetches `/<name>` from the package's registry with its credentials; a 404 or a failure is the package's source error. */
export async function fetchPackumentFacts(pkg: PackageLookup, options: SourceOptions, searched: string[] = []): Promise<PackumentFacts> {
  const subject = `${pkg.name}@${pkg.version}`;
  const path = `/${escapedName(pkg.name)}`;
  const url = pkg.registry + path;
  searched.push(url);
  // Kept encoded only for a reader elsewhere (the worker): decoding here would only repeat the client's streaming decode.
  const { transport } = options;
  const body: EncodedBody | null =
    options.readPackument && transport.registryGetEncoded
      ? await get(subject, url, () => transport.registryGetEncoded!(pkg.registry, path))
      : await registryGet(options, subject, pkg.registry, path).then((bytes) => bytes && { bytes });
  if (body === null) throw sourceError(subject, url, 'the registry does not know the package (404)');
  return options.readPackument ? options.readPackument(body, pkg, url, options.maxResponseBytes) : readPackumentFacts(body, pkg, url, options.maxResponseBytes);
}

/**
 * A packument's facts from its body as served: decoded, the size and depth
 * limits, the parse, then packumentFacts. What the packument worker runs
 * (src/install/packument-worker.ts), and the caller itself where there is none.
 */
export function readPackumentFacts(body: EncodedBody, pkg: PackageLookup, url: string, maxBytes: number): PackumentFacts {
  const subject = `${pkg.name}@${pkg.version}`;
  return packumentFacts(parseJsonBody(decoded(body, subject, url, maxBytes), maxBytes, subject, url), pkg, url);
}

/** The body's bytes, decoded within `maxBytes`; a body that cannot be is the package's source error, as the client's own decoding fails. */
function decoded({ bytes, encoding }: EncodedBody, subject: string, url: string, maxBytes: number): Uint8Array {
  if (!encoding) return bytes;
  try {
    return decodeBody(bytes, encoding, maxBytes);
  } catch (error) {
    if (error instanceof DecodedTooLarge) throw sourceError(subject, url, error.message);
    throw sourceError(subject, url, `the ${encoding} answer cannot be decoded`, error);
  }
}

export function packumentFacts(packument: unknown, pkg: PackageLookup, url: string): PackumentFacts {
  const subject = `${pkg.name}@${pkg.version}`;
  const versions = (packument as { versions?: Record<string, any> } | null)?.versions;
  if (typeof versions !== 'object' || versions === null) throw sourceError(subject, url, 'packument has no `versions`');
  const manifest = versions[pkg.version];
  if (typeof manifest !== 'object' || manifest === null) throw sourceError(subject, url, `packument has no version ${pkg.version}`);
  const attestations = manifest.dist?.attestations;
  if (attestations !== undefined && attestations !== null && typeof attestations.url !== 'string') throw sourceError(subject, url, '`dist.attestations.url` is not a string');
  const time = (packument as { time?: Record<string, unknown> }).time?.[pkg.version];
  const publishedAt = typeof time === 'string' && !Number.isNaN(Date.parse(time)) ? new Date(time) : undefined;
  const history = new Map<string, PublishEvidence>();
  for (const [version, document] of Object.entries(versions)) history.set(version, evidenceOf(document));
  return { url, attestationsUrl: attestations?.url ?? undefined, signatures: manifest.dist?.signatures ?? undefined, publishedAt, history };
}
