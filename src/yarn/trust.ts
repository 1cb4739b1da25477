/**
 * The gate's trust material: resolved through TUF (src/trust/tuf.ts) with the
 * cache in Yarn's global folder, offline when Yarn or the settings say so,
 * and described (source, age, warnings) for the install report and evidence.
 */
import { npath, type PortablePath } from '@yarnpkg/fslib';
import type { Configuration } from '@yarnpkg/core';
import { SigstorePluginError, ErrorCodes } from '../errors';
import type { TrustMode } from '../trust/tuf';
import type { TrustView } from '../install/pipeline';
import { originPath, projectScope } from './dlx';
import { reportError } from './errors';
import { enforceOverrides, environmentChoices } from './overrides';
import type { SigstoreSettings } from './settings';
import { yarnHttpClient } from './transport';

/** The trust material as the install pipeline takes it (src/install/pipeline.ts `TrustView`). */
export type GateTrust = TrustView;

/** Yarn's own offline mode implies ours: an offline install must not reach the TUF repository. */
export function trustModeOf(configuration: Configuration, settings: SigstoreSettings): TrustMode {
  if (configuration.get('enableOfflineMode')) return 'offline';
  const mode = settings.trustMode ?? 'auto';
  if (mode !== 'auto' && mode !== 'offline') {
    throw reportError(new SigstorePluginError(ErrorCodes.TRUST_CONFIG_INVALID, `sigstoreTrustMode must be "auto" or "offline", not ${JSON.stringify(mode)}`));
  }
  return mode;
}

/** Resolves and prepares the trust material; any failure is a coded ReportError that fails the install. */
export async function loadGateTrust(configuration: Configuration, settings: SigstoreSettings): Promise<GateTrust> {
  const [{ resolveTrustMaterial }, { createTrustContext }] = await Promise.all([import('../trust/tuf'), import('../trust')]);
  const globalFolder = configuration.get('globalFolder') as PortablePath;
  const scope = await projectScope(npath.fromPortablePath(configuration.projectCwd ?? configuration.startingCwd));
  // In a `yarn dlx` project, relative paths of the copied .yarnrc.yml name files of the project dlx runs from.
  const local = (value: string | null) => (scope.dlx ? originPath(value, scope.dlx.tempDir, scope.dir) : value);
  try {
    const overrideWarnings = enforceOverrides(environmentChoices(settings), scope.dir);
    const resolved = await resolveTrustMaterial({
      // The TUF cache lands in <globalFolder>/sigstore-tuf/<mirror>/ (as docs/trust-roots.md says).
      cacheDir: npath.fromPortablePath(globalFolder),
      mode: trustModeOf(configuration, settings),
      tufMirrorUrl: settings.tufMirrorUrl ?? undefined,
      tufRootPath: local(settings.tufRootPath) ?? undefined,
      trustedRootPath: local(settings.trustedRootPath) ?? undefined,
      npmKeysPath: local(settings.npmKeysPath) ?? undefined,
      maxAgeDays: settings.trustMaxAgeDays ?? undefined,
      ci: configuration.isCI,
      // Yarn's proxies, CAs and client certificates, as for the attestation requests; few retries (an install waits for them).
      http: yarnHttpClient(configuration, { deadlineMs: Math.min(settings.requestTimeoutMs, 10_000), maxRetries: 1 }),
    });
    return {
      context: createTrustContext(resolved.material),
      material: resolved.material,
      summary: resolved.summary,
      source: resolved.source,
      ageDays: resolved.ageDays,
      warnings: [...overrideWarnings, ...resolved.warnings],
      fromEnvironment: environmentChoices(settings).map((setting) => setting.variable),
    };
  } catch (error) {
    if (error instanceof Error && error.name === 'SigstorePluginError') throw reportError(error as SigstorePluginError);
    throw error;
  }
}
