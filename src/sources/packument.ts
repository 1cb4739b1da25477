/**
 * What the package's full packument says of one version, read once and kept
 * small (a packument can weigh megabytes; an install holds thousands of
 * packages): where its attestations are announced, its registry signatures
 * (`dist.signatures`), the integrity and publish time the registry claims,
 * and the publish evidence of every version (for no-downgrade). All of it
 * is unsigned metadata except the signatures, which src/verify checks.
 */
import { parseJsonBody, registryGet, sourceError } from './http';
import { escapedName } from './places';
import type { PackageLookup, PackumentFacts, PublishEvidence, SourceOptions } from './types';

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
  const body = await registryGet(options, subject, pkg.registry, path);
  if (body === null) throw sourceError(subject, url, 'the registry does not know the package (404)');
  return options.readPackument ? options.readPackument(body, pkg, url, options.maxResponseBytes) : readPackumentFacts(body, pkg, url, options.maxResponseBytes);
}

/**
 * A packument's facts from its body as served: the size and depth limits, the
 * parse, then packumentFacts. What the packument worker runs
 * (src/install/packument-worker.ts), and the caller itself where there is none.
 */
export function readPackumentFacts(body: Uint8Array, pkg: PackageLookup, url: string, maxBytes: number): PackumentFacts {
  return packumentFacts(parseJsonBody(body, maxBytes, `${pkg.name}@${pkg.version}`, url), pkg, url);
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
