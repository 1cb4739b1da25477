/**
 * The plugin's `.yarnrc.yml` settings (also settable as `YARN_SIGSTORE_*`
 * environment variables, as for any Yarn setting).
 */
import { SettingsType, type Configuration, type ConfigurationDefinitionMap } from '@yarnpkg/core';
import type { PortablePath } from '@yarnpkg/fslib';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_UNSIGNED_MAX_AGE_DAYS = 7;

/** The value `configuration.get` returns for each of the plugin's settings. */
export interface SigstoreConfigurationValues {
  sigstorePolicyPath: PortablePath | null;
  sigstoreMode: string | null;
  sigstoreTrustedRootPath: PortablePath | null;
  sigstoreTrustMode: string | null;
  sigstoreTufMirrorUrl: string | null;
  sigstoreTufRootPath: PortablePath | null;
  sigstoreTrustMaxAgeDays: number;
  sigstoreNpmKeysPath: PortablePath | null;
  sigstoreBundleDirectory: PortablePath | null;
  sigstoreAttestationRegistries: Map<string, string>;
  sigstoreEvidencePath: PortablePath | null;
  sigstoreRecheckAttestations: boolean;
  sigstoreUnsignedMaxAgeDays: number;
  sigstoreRequestTimeout: number;
  sigstoreNetworkConcurrency: number;
  sigstoreMaxResponseSize: number;
}

// As berry's own plugins do: `configuration.get('sigstore...')` is typed by this map.
declare module '@yarnpkg/core' {
  interface ConfigurationValueMap extends SigstoreConfigurationValues {}
}

export type SigstoreSettingKey = keyof SigstoreConfigurationValues;

/*
 * The enum settings (sigstoreMode, sigstoreTrustMode) declare no `values:`: Yarn
 * 4.18 would refuse a bad value at load with an uncoded "Internal Error: Invalid
 * value, expected one of auto, offline in <environment>" that names no setting
 * (and prints a nullable's null as an empty choice). Their readers check them
 * instead, with a coded error naming the setting.
 */
export const sigstoreSettings = {
  sigstorePolicyPath: {
    description: 'The trust policy file; a missing file is POLICY_NOT_FOUND, never zero-config',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreMode: {
    description: 'enforce | warn | off override of the policy\'s mode; printed in the summary; a loosening is refused unless the policy says allowLooseningOverrides: true',
    type: SettingsType.STRING,
    default: null,
  },
  sigstoreTrustedRootPath: {
    description: 'A pinned trusted_root.json: no TUF, no network',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreTrustMode: {
    description: 'auto: Sigstore\'s trusted root and npm\'s keys refreshed through TUF when the cached metadata expires; offline: never touch the network (Yarn\'s enableOfflineMode implies it)',
    type: SettingsType.STRING,
    default: 'auto',
  },
  sigstoreTufMirrorUrl: {
    description: 'A private TUF repository of the trusted root and npm\'s keys (needs sigstoreTufRootPath)',
    type: SettingsType.STRING,
    default: null,
  },
  sigstoreTufRootPath: {
    description: 'The TUF root a private repository is first trusted from',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreTrustMaxAgeDays: {
    description: 'Trust material last confirmed longer ago fails the install in CI (TRUSTED_ROOT_TOO_OLD) and warns elsewhere',
    type: SettingsType.NUMBER,
    default: 30,
  },
  sigstoreNpmKeysPath: {
    description: 'A pinned copy of npm\'s registry keys (keys.json)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreBundleDirectory: {
    description: 'A folder of attestation documents <name>@<version>.json (scoped: @scope%2fname@1.0.0.json), consulted first (air-gapped CI)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreAttestationRegistries: {
    description: 'Per scope (acme, or *), a registry serving /-/npm/v1/attestations/<name>@<version> (for mirrors that do not proxy attestations); fetched with no credential but its own npmRegistries entry',
    type: SettingsType.MAP,
    valueDefinition: { description: 'Attestation registry URL', type: SettingsType.STRING },
  },
  sigstoreEvidencePath: {
    description: 'Where each install writes its evidence file (not meant to be committed)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreRecheckAttestations: {
    description: 'false: a warm install reuses the result verified earlier for the same tarball bytes and trust material (kept in your own cache, HMAC\'d under your record key), with no request; the policy and pins are still evaluated. true: every install fetches each package\'s attestations again (unsigned ones included) and verifies a changed document, noticing a registry that now serves another signature for the same bytes',
    type: SettingsType.BOOLEAN,
    default: false,
  },
  sigstoreUnsignedMaxAgeDays: {
    description: 'Days a warm install reuses an earlier "no attestations" answer for the same tarball bytes and sources without asking again (the policy still judges the package on every install); 0: ask on every install. Offline, an older answer is used',
    type: SettingsType.NUMBER,
    default: DEFAULT_UNSIGNED_MAX_AGE_DAYS,
  },
  sigstoreRequestTimeout: {
    description: 'Overall deadline of one attestation or packument request, in ms',
    type: SettingsType.NUMBER,
    default: DEFAULT_REQUEST_TIMEOUT_MS,
  },
  sigstoreNetworkConcurrency: {
    description: 'Attestation documents fetched at once',
    type: SettingsType.NUMBER,
    default: DEFAULT_CONCURRENCY,
  },
  sigstoreMaxResponseSize: {
    description: 'Largest packument or attestation document accepted, in bytes (once decoded: answers are asked for gzip, deflate or br, and a compressed answer counts by what it expands to)',
    type: SettingsType.NUMBER,
    default: DEFAULT_MAX_RESPONSE_BYTES,
  },
} satisfies ConfigurationDefinitionMap<SigstoreConfigurationValues>;

export interface SigstoreSettings {
  policyPath: string | null;
  mode: string | null;
  trustedRootPath: string | null;
  npmKeysPath: string | null;
  trustMode: string | null;
  tufMirrorUrl: string | null;
  tufRootPath: string | null;
  trustMaxAgeDays: number | null;
  bundleDirectory: string | null;
  /** Scope without `@` (or `*`) -> registry URL. */
  attestationRegistries: Map<string, string>;
  evidencePath: string | null;
  /** Warm installs fetch and check each attestation document again (else: content-keyed cached results). */
  recheckAttestations: boolean;
  /** Days a remembered "no attestations" answer stands without asking again (0: always ask). */
  unsignedMaxAgeDays: number;
  requestTimeoutMs: number;
  concurrency: number;
  maxResponseBytes: number;
  /** The settings above that a `YARN_SIGSTORE_*` variable (or an rc file chosen by `YARN_RC_FILENAME`) decided. */
  fromEnvironment: EnvironmentSetting[];
  /** The others, with the committed rc file each came from (a `${VAR}` in it is the environment's too: overrides.ts). */
  fromRcFiles: RcSetting[];
}

/** Reads the settings through `configuration.get` (typed by the `ConfigurationValueMap` entries above). */
export function readSettings(configuration: Configuration): SigstoreSettings {
  const registries = new Map<string, string>();
  for (const [scope, url] of configuration.get('sigstoreAttestationRegistries')) registries.set(scope.replace(/^@/, ''), String(url).replace(/\/+$/, ''));
  return {
    policyPath: configuration.get('sigstorePolicyPath'),
    mode: configuration.get('sigstoreMode'),
    trustedRootPath: configuration.get('sigstoreTrustedRootPath'),
    npmKeysPath: configuration.get('sigstoreNpmKeysPath'),
    trustMode: configuration.get('sigstoreTrustMode'),
    tufMirrorUrl: configuration.get('sigstoreTufMirrorUrl'),
    tufRootPath: configuration.get('sigstoreTufRootPath'),
    trustMaxAgeDays: positive(configuration.get('sigstoreTrustMaxAgeDays'), 30),
    bundleDirectory: configuration.get('sigstoreBundleDirectory'),
    attestationRegistries: registries,
    evidencePath: configuration.get('sigstoreEvidencePath'),
    recheckAttestations: configuration.get('sigstoreRecheckAttestations') === true,
    unsignedMaxAgeDays: nonNegative(configuration.get('sigstoreUnsignedMaxAgeDays'), DEFAULT_UNSIGNED_MAX_AGE_DAYS),
    requestTimeoutMs: positive(configuration.get('sigstoreRequestTimeout'), DEFAULT_REQUEST_TIMEOUT_MS),
    concurrency: positive(configuration.get('sigstoreNetworkConcurrency'), DEFAULT_CONCURRENCY),
    maxResponseBytes: positive(configuration.get('sigstoreMaxResponseSize'), DEFAULT_MAX_RESPONSE_BYTES),
    fromEnvironment: settingsFromEnvironment(configuration, Object.keys(sigstoreSettings) as SigstoreSettingKey[]),
    fromRcFiles: settingsFromRcFiles(configuration, Object.keys(sigstoreSettings) as SigstoreSettingKey[]),
  };
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function nonNegative(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Yarn's marker in `configuration.sources` for a value taken from a `YARN_*` variable. */
const ENVIRONMENT_SOURCE = '<environment>';
/** The rc file name a repository commits; `YARN_RC_FILENAME` makes Yarn read another one instead. */
export const COMMITTED_RC_FILENAME = '.yarnrc.yml';

export interface EnvironmentSetting {
  key: SigstoreSettingKey;
  /** What chose it, e.g. `YARN_SIGSTORE_TRUSTED_ROOT_PATH`, or `YARN_RC_FILENAME=ci.yml`. */
  variable: string;
  value: unknown;
}

/**
 * Those of `keys` whose value the environment chose rather than a committed
 * `.yarnrc.yml`: a `YARN_*` variable, or an rc file that `YARN_RC_FILENAME`
 * named in place of `.yarnrc.yml`.
 */
export function settingsFromEnvironment(configuration: Configuration, keys: readonly SigstoreSettingKey[], rcFilename = process.env.YARN_RC_FILENAME): EnvironmentSetting[] {
  const chosenRc = rcFilename && rcFilename !== COMMITTED_RC_FILENAME ? rcFilename : undefined;
  const found: EnvironmentSetting[] = [];
  for (const key of keys) {
    const source = configuration.sources.get(key);
    const value = configuration.get(key);
    if (source === ENVIRONMENT_SOURCE) found.push({ key, variable: environmentVariableOf(key), value });
    else if (chosenRc && source !== undefined && source.split(/[\\/]/).pop() === chosenRc) found.push({ key, variable: `YARN_RC_FILENAME=${chosenRc} (${key})`, value });
  }
  return found;
}

export interface RcSetting {
  key: SigstoreSettingKey;
  /** The rc file Yarn took it from. */
  file: string;
  value: unknown;
}

/** Those of `keys` a committed rc file set (not the environment, not an rc file `YARN_RC_FILENAME` chose). */
export function settingsFromRcFiles(configuration: Configuration, keys: readonly SigstoreSettingKey[], rcFilename = process.env.YARN_RC_FILENAME): RcSetting[] {
  const fromEnvironment = new Set(settingsFromEnvironment(configuration, keys, rcFilename).map((setting) => setting.key));
  return keys.flatMap((key) => {
    const file = configuration.sources.get(key);
    return file === undefined || file === ENVIRONMENT_SOURCE || fromEnvironment.has(key) ? [] : [{ key, file, value: configuration.get(key) }];
  });
}

/** The inverse of Yarn's mapping (`YARN_FOO_BAR` -> `fooBar`). */
export function environmentVariableOf(key: string): string {
  return `YARN_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}
