/**
 * The package's own registry as a bundle source: one request for a signed
 * package, two for an unsigned one.
 *
 * Order: GET the npm attestations endpoint directly
 * (`<registry>/-/npm/v1/attestations/<name>@<version>`); a 200 is the
 * document. Only a 404 falls back to the full packument, which alone decides
 * "unsigned" (no `dist.attestations`) and whose announced URL is followed as
 * before. Any other failure of the endpoint (network, 5xx, timeout, oversize,
 * bad JSON) is SOURCE_FETCH_FAILED: never "unsigned", never a silent fallback.
 *
 * Thinking as the attacker:
 * - The endpoint and the packument are served by the same registry, with the
 *   same credentials and the same trust: asking the endpoint first gives a
 *   hostile registry nothing the packument did not (it could already point
 *   `dist.attestations.url` at any document it liked). A document from the
 *   endpoint is verified exactly as before: its subject name and sha512 must
 *   bind the installed tarball, and the policy judges its signer.
 * - Downgrade to "unsigned" still needs the registry to 404 the endpoint AND
 *   omit `dist.attestations`; a policy requiring provenance then refuses it.
 *   Stripping only the packument no longer downgrades anything.
 * - A packument that announces attestations the endpoint 404'd is a fault,
 *   not "unsigned". When its URL maps to the same registry path, it is not
 *   requested a second time.
 * - A packument URL elsewhere is followed only after the endpoint 404'd, and
 *   the registry's credentials still never leave the registry (`safeTarget`).
 */
import { get, parseJsonBody, registryGet, sourceError } from './http';
import { escapedName } from './places';
import { fetchPackumentFacts } from './packument';
import type { PackageLookup, SourceOptions, SourcedDocument } from './types';

const ATTESTATIONS_PATH = '/-/npm/v1/attestations/';

/** `/-/npm/v1/attestations/<name, / as %2f>@<version>`: npm's endpoint path, on any registry. */
export function attestationsPath(pkg: { name: string; version: string }): string {
  return `${ATTESTATIONS_PATH}${escapedName(pkg.name)}@${encodeURIComponent(pkg.version)}`;
}

/** A document found at `url`: the body parsed within the size cap, or the package's coded error. */
export function foundDocument(body: Buffer, options: SourceOptions, subject: string, url: string, origin: string): SourcedDocument {
  return { found: true, document: parseJsonBody(body, options.maxResponseBytes, subject, url), bytes: body, origin, url };
}

export async function findOnRegistry(pkg: PackageLookup, options: SourceOptions, searched: string[]): Promise<SourcedDocument> {
  const subject = `${pkg.name}@${pkg.version}`;
  const endpointPath = attestationsPath(pkg);
  const endpointUrl = pkg.registry + endpointPath;
  searched.push(endpointUrl);
  const direct = await registryGet(options, subject, pkg.registry, endpointPath);
  if (direct !== null) return foundDocument(direct, options, subject, endpointUrl, 'registry');

  // The caller may share one packument request with the registry signature and history checks.
  const facts = await (options.packument ? options.packument() : fetchPackumentFacts(pkg, options));
  searched.push(facts.url);
  const attestationsUrl = facts.attestationsUrl;
  if (attestationsUrl === undefined) return { found: false, searched };

  const target = safeTarget(attestationsUrl, pkg.registry);
  // The packument announced attestations: their absence is a fault, not "unsigned".
  const missing = () => sourceError(subject, attestationsUrl, 'the attestations announced by the packument are missing (404)');
  if (target.kind === 'registry' && samePath(target.path, endpointPath)) throw missing();
  searched.push(attestationsUrl);
  const body =
    target.kind === 'registry' ? await registryGet(options, subject, pkg.registry, target.path) : await get(subject, attestationsUrl, () => options.transport.anonymousGet(target.url));
  if (body === null) throw missing();
  return foundDocument(body, options, subject, attestationsUrl, 'registry');
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
