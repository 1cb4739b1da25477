/**
 * The gate's trust material: resolved through TUF (src/trust/tuf.ts) with the
 * cache in Yarn's global folder, offline when Yarn or the settings say so,
 * and described (source, age, warnings) for the install report and evidence.
 */
import { npath, type PortablePath } from '@yarnpkg/fslib';
import type { Configuration } from '@yarnpkg/core';
import { SigstorePluginError, ErrorCodes } from '../errors';
import type { TrustContext, TrustMaterialInput } from '../trust';
import type { ResolvedTrust, TrustMode } from '../trust/tuf';
import { reportError } from './errors';
import { settingsFromEnvironment, type EnvironmentSetting, type SigstoreSettings } from './settings';

export interface GateTrust {
  context: TrustContext;
  /** The material itself, for the verification worker to prepare its own context from. */
  material: TrustMaterialInput;
  /** One line: which root, from where, how old. */
  summary: string;
  source: ResolvedTrust['source'];
  ageDays?: number;
  /** To print through the install report (unreachable repository, stale root, trust settings from the environment...). */
  warnings: string[];
  /** The `YARN_*` variables that chose trust settings: a CI variable swapping the root must show in the evidence. */
  fromEnvironment: string[];
}

/** The trust settings a `YARN_*` variable may set, named as the warning says them. */
const TRUST_SETTING_LABELS = {
  sigstoreTrustedRootPath: 'the trusted root',
  sigstoreNpmKeysPath: 'the npm registry keys file',
  sigstoreTufMirrorUrl: 'the TUF mirror',
  sigstoreTufRootPath: 'the TUF root',
  sigstoreTrustMode: 'the trust mode',
  sigstoreTrustMaxAgeDays: 'the trust maximum age',
} as const;

/** One warning per trust setting taken from the environment; values are paths, URLs or words, never file contents. */
export function environmentTrustWarnings(settings: EnvironmentSetting[]): string[] {
  return settings.map(({ key, variable, value }) => {
    const label = TRUST_SETTING_LABELS[key as keyof typeof TRUST_SETTING_LABELS] ?? key;
    return `${label} was set by the environment (${variable}=${withoutCredentials(String(value))}): check that this CI variable is intended`;
  });
}

/** A mirror URL may carry a user and password: print it without them. */
function withoutCredentials(value: string): string {
  if (!URL.canParse(value)) return value;
  const url = new URL(value);
  if (!url.username && !url.password) return value;
  url.username = '';
  url.password = '';
  return url.href;
}

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
  const environment = settingsFromEnvironment(configuration, Object.keys(TRUST_SETTING_LABELS) as Array<keyof typeof TRUST_SETTING_LABELS>);
  try {
    const resolved = await resolveTrustMaterial({
      // The TUF cache lands in <globalFolder>/sigstore-tuf/<mirror>/ (as the README's "Trust roots" section says).
      cacheDir: npath.fromPortablePath(globalFolder),
      mode: trustModeOf(configuration, settings),
      tufMirrorUrl: settings.tufMirrorUrl ?? undefined,
      tufRootPath: settings.tufRootPath ?? undefined,
      trustedRootPath: settings.trustedRootPath ?? undefined,
      npmKeysPath: settings.npmKeysPath ?? undefined,
      maxAgeDays: settings.trustMaxAgeDays ?? undefined,
      ci: configuration.isCI,
      timeoutMs: Math.min(settings.requestTimeoutMs, 10_000),
    });
    return {
      context: createTrustContext(resolved.material),
      material: resolved.material,
      summary: resolved.summary,
      source: resolved.source,
      ageDays: resolved.ageDays,
      warnings: [...environmentTrustWarnings(environment), ...resolved.warnings],
      fromEnvironment: environment.map((setting) => setting.variable),
    };
  } catch (error) {
    if (error instanceof Error && error.name === 'SigstorePluginError') throw reportError(error as SigstorePluginError);
    throw error;
  }
}
