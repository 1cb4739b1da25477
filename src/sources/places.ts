/**
 * Where a package's attestations are looked for, without fetching anything:
 * small enough for the plugin's load-time part (the install gate asks it
 * before deciding whether a request is needed).
 */
import { join } from 'path';

/** A package name as npm's registry paths (and the bundle directory's file names) write it: `@scope%2fname`. */
export function escapedName(name: string): string {
  return name.replace('/', '%2f');
}

/** The file the bundle directory holds for this package version, if it has one. */
export function bundleDirectoryFile(directory: string, pkg: { name: string; version: string }): string {
  return join(directory, `${escapedName(pkg.name)}@${pkg.version}.json`);
}

/** The attestation registry configured for the package's scope (or `*`), asked before the package's own registry. */
export function attestationRegistryFor(name: string, registries: Map<string, string> | undefined): string | undefined {
  if (!registries || registries.size === 0) return undefined;
  const scope = name.startsWith('@') ? name.slice(1, name.indexOf('/')) : null;
  return (scope !== null ? registries.get(scope) : undefined) ?? registries.get('*');
}
