/**
 * Finds the attestation document of one package version, trying in order: the
 * local bundle directory, the attestation registry configured for its scope,
 * and the package's own registry (its attestations endpoint directly, then,
 * on 404 only, the full packument: see ./registry). No document anywhere
 * means unsigned; a source that fails is an error, never "unsigned".
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { attestationsPath, escapedName, findOnRegistry, foundDocument, registryGet } from './registry';
import type { PackageLookup, SourceOptions, SourcedDocument } from './types';

export * from './types';
export { sourceError } from './http';
export { safeTarget } from './registry';

export async function findAttestations(pkg: PackageLookup, options: SourceOptions): Promise<SourcedDocument> {
  const searched: string[] = [];
  const subject = `${pkg.name}@${pkg.version}`;

  if (options.bundleDirectory) {
    const file = join(options.bundleDirectory, `${escapedName(pkg.name)}@${pkg.version}.json`);
    searched.push(file);
    if (existsSync(file)) return foundDocument(readFileSync(file), options, subject, file, 'bundle-directory');
  }

  const scopeRegistry = attestationRegistryFor(pkg.name, options.attestationRegistries);
  if (scopeRegistry) {
    const path = attestationsPath(pkg);
    const url = scopeRegistry + path;
    searched.push(url);
    const body = await registryGet(options, subject, scopeRegistry, path);
    if (body !== null) return foundDocument(body, options, subject, url, 'attestation-registry');
  }

  return findOnRegistry(pkg, options, searched);
}

function attestationRegistryFor(name: string, registries: Map<string, string> | undefined): string | undefined {
  if (!registries || registries.size === 0) return undefined;
  const scope = name.startsWith('@') ? name.slice(1, name.indexOf('/')) : null;
  return (scope !== null ? registries.get(scope) : undefined) ?? registries.get('*');
}
