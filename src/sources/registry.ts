/**
 * The package's own registry as a bundle source, asked in one of two orders;
 * the documents stage (src/install/documents.ts) picks the order from what
 * the package is expected to be, so that the common case costs one request.
 *
 * Attestations first (`findOnRegistry`: a package expected to be signed,
 * pinned as signed in sigstore.lock or required to be by its rule): GET the
 * npm attestations endpoint directly
 * (`<registry>/-/npm/v1/attestations/<name>@<version>`); a 200 is the
 * document. Only a 404 falls back to the full packument, which alone decides
 * "unsigned" (no `dist.attestations`) and whose announced URL is followed.
 *
 * Packument first (`findThroughPackument`: any other package): GET the full
 * packument, needed anyway for the registry signature and the history of a
 * package without provenance; no `dist.attestations` is "unsigned" after one
 * request, an announced URL is followed as above.
 *
 * Either way, any failure (network, 5xx, timeout, oversize, bad JSON) is
 * SOURCE_FETCH_FAILED: never "unsigned", never a silent fallback.
 *
 * Thinking as the attacker:
 * - The endpoint and the packument are served by the same registry, with the
 *   same credentials and the same trust: a hostile registry can 404 the
 *   endpoint and omit `dist.attestations` in either order, so neither order
 *   gives it anything. A document is verified the same wherever it came
 *   from: its subject name and sha512 must bind the installed tarball, and
 *   the policy judges its signer.
 * - Downgrade to "unsigned" needs the registry to omit `dist.attestations`
 *   (and, attestations first, to 404 the endpoint too); a policy requiring
 *   provenance, or a sigstore.lock pin, then refuses it. A package allowed to
 *   be unsigned gains nothing from being found unsigned.
 * - A packument that announces attestations that are missing is a fault,
 *   not "unsigned". When its URL maps to the endpoint path already asked, it
 *   is not requested a second time.
 * - An announced URL elsewhere is followed, and the registry's credentials
 *   still never leave the registry (`safeTarget`).
 */
import { get, oversized, registryGet, sourceError } from './http';
import { escapedName } from './places';
import { fetchPackumentFacts } from './packument';
import type { PackageLookup, SourceOptions, SourcedDocument } from './types';

const ATTESTATIONS_PATH = '/-/npm/v1/attestations/';

/** `/-/npm/v1/attestations/<name, / as %2f>@<version>`: npm's endpoint path, on any registry. */
export function attestationsPath(pkg: { name: string; version: string }): string {
  return `${ATTESTATIONS_PATH}${escapedName(pkg.name)}@${encodeURIComponent(pkg.version)}`;
}

/**
 * A document found at `url`: its body within the size cap, or the package's
 * coded error. Parsed where it is verified, with the nesting cap and errors
 * of parseJsonBody (src/install/document-verification.ts).
 */
export function foundDocument(body: Buffer, options: SourceOptions, subject: string, url: string, origin: string): SourcedDocument {
  if (body.length > options.maxResponseBytes) throw oversized(subject, url, body.length, options.maxResponseBytes);
  return { found: true, bytes: body, origin, url };
}

export async function findOnRegistry(pkg: PackageLookup, options: SourceOptions, searched: string[]): Promise<SourcedDocument> {
  const subject = `${pkg.name}@${pkg.version}`;
  const endpointPath = attestationsPath(pkg);
  const endpointUrl = pkg.registry + endpointPath;
  searched.push(endpointUrl);
  const direct = await registryGet(options, subject, pkg.registry, endpointPath);
  if (direct !== null) return foundDocument(direct, options, subject, endpointUrl, 'registry');
  return findThroughPackument(pkg, options, searched, endpointPath);
}

/**
 * The packument's word: unsigned without `dist.attestations` (one request), else the document it announces.
 * `asked`: the endpoint path that already answered 404.
 */
export async function findThroughPackument(pkg: PackageLookup, options: SourceOptions, searched: string[], asked?: string): Promise<SourcedDocument> {
  const subject = `${pkg.name}@${pkg.version}`;
  // The caller may share one packument request with the registry signature and history checks.
  const facts = await (options.packument ? options.packument() : fetchPackumentFacts(pkg, options));
  searched.push(facts.url);
  const attestationsUrl = facts.attestationsUrl;
  if (attestationsUrl === undefined) return { found: false, searched };

  const target = safeTarget(attestationsUrl, pkg.registry);
  // The packument announced attestations: their absence is a fault, not "unsigned".
  const missing = () => sourceError(subject, attestationsUrl, 'the attestations announced by the packument are missing (404)');
  if (asked !== undefined && target.kind === 'registry' && samePath(target.path, asked)) throw missing();
  searched.push(attestationsUrl);
  const body =
    target.kind === 'registry' ? await registryGet(options, subject, pkg.registry, target.path) : await get(subject, attestationsUrl, () => options.transport.anonymousGet(target.url));
  if (body === null) throw missing();
  // Recorded as parsed (control characters percent-encoded): the registry wrote this URL.
  return foundDocument(body, options, subject, new URL(attestationsUrl).href, 'registry');
}

/** Paths equal once percent-decoded (`@scope/name` and `@scope%2fname` name one document). */
function samePath(a: string, b: string): boolean {
  const decode = (path: string) => {
    try {
      return decodeURIComponent(path);
    } catch {
      return path;
    }
  };
  return decode(a) === decode(b);
}

/**
 * The registry's credentials go to the registry only: an attestation URL on the
 * registry's origin, or an npm attestations path on another host, is fetched
 * from the registry itself (as pacote does); anything else goes without credentials.
 */
export function safeTarget(url: string, registry: string): { kind: 'registry'; path: string } | { kind: 'anonymous'; url: string } {
  const target = new URL(url);
  const base = new URL(registry);
  const basePath = base.pathname.replace(/\/+$/, '');
  if (target.origin === base.origin && target.pathname.startsWith(basePath + '/')) {
    return { kind: 'registry', path: target.pathname.slice(basePath.length) + target.search };
  }
  const at = target.pathname.indexOf(ATTESTATIONS_PATH);
  if (at >= 0) return { kind: 'registry', path: target.pathname.slice(at) + target.search };
  return { kind: 'anonymous', url };
}
