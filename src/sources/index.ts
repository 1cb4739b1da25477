/**
 * Finds the attestation document of one package version, trying in order: the
 * local bundle directory, the attestation registry configured for its scope,
 * and the `dist.attestations.url` of the registry's full packument. No
 * document anywhere means unsigned; a source that fails is an error, never
 * "unsigned".
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseJsonBody, sourceError } from './http';
import type { PackageLookup, SourceOptions, SourcedDocument } from './types';

export * from './types';
export { sourceError } from './http';

const ATTESTATIONS_PATH = '/-/npm/v1/attestations/';

export async function findAttestations(pkg: PackageLookup, options: SourceOptions): Promise<SourcedDocument> {
  const searched: string[] = [];
  const subject = `${pkg.name}@${pkg.version}`;

  if (options.bundleDirectory) {
    const file = join(options.bundleDirectory, `${pkg.name.replace('/', '%2f')}@${pkg.version}.json`);
    searched.push(file);
    if (existsSync(file)) {
      const document = parseJsonBody(readFileSync(file), options.maxResponseBytes, subject, file);
      return { found: true, document, origin: 'bundle-directory', url: file };
    }
  }

  const scopeRegistry = attestationRegistryFor(pkg.name, options.attestationRegistries);
  if (scopeRegistry) {
    const path = attestationsPath(pkg);
    const url = scopeRegistry + path;
    searched.push(url);
    const body = await get(options, subject, url, () => options.transport.registryGet(scopeRegistry, path));
    if (body !== null) return { found: true, document: parseJsonBody(body, options.maxResponseBytes, subject, url), origin: 'attestation-registry', url };
  }

  const packumentPath = `/${pkg.name.replace('/', '%2f')}`;
  const packumentUrl = pkg.registry + packumentPath;
  searched.push(packumentUrl);
  const packumentBody = await get(options, subject, packumentUrl, () => options.transport.registryGet(pkg.registry, packumentPath));
  if (packumentBody === null) throw sourceError(subject, packumentUrl, 'the registry does not know the package (404)');
  const attestationsUrl = attestationsUrlFromPackument(parseJsonBody(packumentBody, options.maxResponseBytes, subject, packumentUrl), pkg, packumentUrl);
  if (attestationsUrl === undefined) return { found: false, searched };

  searched.push(attestationsUrl);
  const target = safeTarget(attestationsUrl, pkg.registry);
  const body = await get(options, subject, attestationsUrl, () =>
    target.kind === 'registry' ? options.transport.registryGet(pkg.registry, target.path) : options.transport.anonymousGet(target.url),
  );
  // The packument announced attestations: their absence now is a fault, not "unsigned".
  if (body === null) throw sourceError(subject, attestationsUrl, 'the attestations announced by the packument are missing (404)');
  return { found: true, document: parseJsonBody(body, options.maxResponseBytes, subject, attestationsUrl), origin: 'registry', url: attestationsUrl };
}

function attestationsPath(pkg: { name: string; version: string }): string {
  return `${ATTESTATIONS_PATH}${pkg.name.replace('/', '%2f')}@${encodeURIComponent(pkg.version)}`;
}

function attestationRegistryFor(name: string, registries: Map<string, string> | undefined): string | undefined {
  if (!registries || registries.size === 0) return undefined;
  const scope = name.startsWith('@') ? name.slice(1, name.indexOf('/')) : null;
  return (scope !== null ? registries.get(scope) : undefined) ?? registries.get('*');
}

function attestationsUrlFromPackument(packument: unknown, pkg: PackageLookup, url: string): string | undefined {
  const versions = (packument as { versions?: Record<string, any> } | null)?.versions;
  if (typeof versions !== 'object' || versions === null) throw sourceError(`${pkg.name}@${pkg.version}`, url, 'packument has no `versions`');
  const manifest = versions[pkg.version];
  if (typeof manifest !== 'object' || manifest === null) throw sourceError(`${pkg.name}@${pkg.version}`, url, `packument has no version ${pkg.version}`);
  const attestations = manifest.dist?.attestations;
  if (attestations === undefined || attestations === null) return undefined;
  if (typeof attestations.url !== 'string') throw sourceError(`${pkg.name}@${pkg.version}`, url, '`dist.attestations.url` is not a string');
  return attestations.url;
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

async function get(options: SourceOptions, subject: string, url: string, request: () => Promise<Buffer | null>): Promise<Buffer | null> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof Error && error.name === 'SigstorePluginError') throw error;
    throw sourceError(subject, url, error instanceof Error ? error.message : String(error));
  }
}
