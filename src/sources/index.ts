/**
 * Finds the attestation document of one package version, trying in order: the
 * local bundle directory, the attestation registry configured for its scope,
 * and the package's own registry (its attestations endpoint, then on 404
 * the full packument; or, `packumentFirst`, the packument, then the
 * attestations it announces: see ./registry). No document anywhere means
 * unsigned; a source that fails is an error, never "unsigned".
 */
import { ErrorCodes } from '../errors';
import { readOptionalFile } from '../files';
import { attestationRegistryFor, bundleDirectoryFile } from './places';
import { registryGet } from './http';
import { attestationsPath, findOnRegistry, findThroughPackument, foundDocument } from './registry';
import type { PackageLookup, SourceOptions, SourcedDocument } from './types';

export * from './types';
export { sourceError } from './http';
export { safeTarget } from './registry';
export { attestationRegistryFor, bundleDirectoryFile } from './places';

export async function findAttestations(pkg: PackageLookup, options: SourceOptions): Promise<SourcedDocument> {
  const searched: string[] = [];
  const subject = `${pkg.name}@${pkg.version}`;

  if (options.bundleDirectory) {
    const file = bundleDirectoryFile(options.bundleDirectory, pkg);
    searched.push(file);
    const local = readOptionalFile({ path: file, what: `${subject}: the bundle directory's document`, code: ErrorCodes.SOURCE_FETCH_FAILED });
    if (local !== null) return foundDocument(local, options, subject, file, 'bundle-directory');
  }

  const scopeRegistry = attestationRegistryFor(pkg.name, options.attestationRegistries);
  if (scopeRegistry) {
    const path = attestationsPath(pkg);
    const url = scopeRegistry + path;
    searched.push(url);
    const body = await registryGet(options, subject, scopeRegistry, path);
    if (body !== null) return foundDocument(body, options, subject, url, 'attestation-registry');
  }

  return options.packumentFirst ? findThroughPackument(pkg, options, searched) : findOnRegistry(pkg, options, searched);
}

