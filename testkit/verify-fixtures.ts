/** Loading the real npm attestation fixtures (copied from the shared store into fixtures/). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageSubject } from '../src/verify';

export const FIXTURES = join(__dirname, '..', 'fixtures');
export const NPM_FIXTURES = join(FIXTURES, 'npm-attestations');

export interface NpmFixture {
  dir: string;
  name: string;
  version: string;
}

export const NPM_PACKAGES: NpmFixture[] = JSON.parse(readFileSync(join(NPM_FIXTURES, 'manifest.json'), 'utf8'));

export function fixture(name: string, version: string): NpmFixture {
  const found = NPM_PACKAGES.find((entry) => entry.name === name && entry.version === version);
  if (!found) throw new Error(`no fixture for ${name}@${version}`);
  return found;
}

export function readJson(...path: string[]): any {
  return JSON.parse(readFileSync(join(...path), 'utf8'));
}

export function attestationsOf(pkg: NpmFixture, variant = 'attestations.json'): any {
  return readJson(NPM_FIXTURES, pkg.dir, variant);
}

export function tarballSha512(pkg: NpmFixture): string {
  return createHash('sha512').update(readFileSync(join(NPM_FIXTURES, pkg.dir, 'package.tgz'))).digest('hex');
}

export function subjectOf(pkg: NpmFixture): PackageSubject {
  return { name: pkg.name, version: pkg.version, sha512Hex: tarballSha512(pkg) };
}

/** Runs `fn` and returns the SigstorePluginError code it threw (fails the test if it did not throw). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? `untyped: ${String(error)}`;
  }
  throw new Error('expected a rejection, but verification passed');
}
