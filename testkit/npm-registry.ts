/**
 * The npm registry this machine's npm is configured with: the real trees of the
 * real-world tests and the real-tree bench come from it. No vitest import, so
 * the bench can use it too.
 */
import { execFileSync } from 'node:child_process';

/** The registry `npm config get registry` names, without a trailing slash. */
export function configuredNpmRegistry(): string {
  return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim().replace(/\/+$/, '');
}

/** Fails (never skips) with the registry's URL when it does not serve a packument. */
export async function assertRegistryReachable(registryUrl: string, probePackage = 'react'): Promise<void> {
  const url = `${registryUrl}/${probePackage}`;
  let failure: string;
  try {
    const response = await fetch(url, { headers: { accept: 'application/vnd.npm.install-v1+json' }, signal: AbortSignal.timeout(30_000) });
    if (response.ok) return;
    failure = `HTTP ${response.status} for ${url}`;
  } catch (error) {
    failure = `${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ''}`;
  }
  throw new Error(`The real-world tests install from the npm registry ${registryUrl} (\`npm config get registry\`), which cannot be reached: ${failure}. They need it and do not skip.`);
}
