/**
 * The plugin's `.yarnrc.yml` settings (also settable as `YARN_SIGSTORE_*`
 * environment variables, as for any Yarn setting).
 */
import { SettingsType, type Configuration } from '@yarnpkg/core';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_UNSIGNED_MAX_AGE_DAYS = 7;

export const sigstoreSettings = {
  sigstorePolicyPath: {
    description: 'Path of the trust policy file (default: found with cosmiconfig from the project root)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreMode: {
    description: 'Overrides the policy mode (enforce | warn | off); loosening is refused unless the policy allows it',
    type: SettingsType.STRING,
    default: null,
  },
  sigstoreTrustedRootPath: {
    description: 'Sigstore trusted_root.json to verify against (default: the embedded production root)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreTrustMode: {
    description: 'auto: refresh the trusted root through TUF when its metadata expires; offline: never touch the network (cache, else embedded root). enableOfflineMode implies offline',
    type: SettingsType.STRING,
    default: 'auto',
  },
  sigstoreTufMirrorUrl: {
    description: "TUF repository of the trusted root (default: Sigstore's public-good https://tuf-repo-cdn.sigstore.dev); a private one needs sigstoreTufRootPath",
    type: SettingsType.STRING,
    default: null,
  },
  sigstoreTufRootPath: {
    description: 'The TUF root.json a private mirror is first trusted from',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreTrustMaxAgeDays: {
    description: 'Trust material last confirmed longer ago than this fails the install in CI and warns elsewhere',
    type: SettingsType.NUMBER,
    default: 30,
  },
  sigstoreNpmKeysPath: {
    description: "npm registry keys.json (default: the embedded copy)",
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreBundleDirectory: {
    description: 'Folder of attestation documents `<name>@<version>.json` (scoped: `@scope%2fname@1.0.0.json`) consulted first',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreAttestationRegistries: {
    description: 'Per scope (`acme` or `*`), a registry serving `/-/npm/v1/attestations/<name>@<version>`',
    type: SettingsType.MAP,
    valueDefinition: { description: 'Attestation registry URL', type: SettingsType.STRING },
  },
  sigstoreEvidencePath: {
    description: 'Where each install writes its evidence JSON (default: .yarn/sigstore-evidence.json)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
  },
  sigstoreRecheckAttestations: {
    description: 'false (default): a warm install takes the result cached (in the user\'s global folder, under the user\'s record key) for the same tarball bytes and trust material, with no request (the policy and pins are still evaluated); true: every install fetches each package\'s attestations again and verifies a changed document',
    type: SettingsType.BOOLEAN,
    default: false,
  },
  sigstoreUnsignedMaxAgeDays: {
    description: 'How many days a warm install takes an earlier "no attestations" answer for the same tarball bytes and sources without asking the registry again (the policy is still evaluated); 0: ask every time. Offline, an older answer is used',
    type: SettingsType.NUMBER,
    default: DEFAULT_UNSIGNED_MAX_AGE_DAYS,
  },
  sigstoreRequestTimeout: {
    description: 'Overall deadline of one attestation or packument request, in milliseconds',
    type: SettingsType.NUMBER,
    default: DEFAULT_REQUEST_TIMEOUT_MS,
  },
  sigstoreNetworkConcurrency: {
    description: 'How many attestation documents are fetched at once',
    type: SettingsType.NUMBER,
    default: DEFAULT_CONCURRENCY,
  },
  sigstoreMaxResponseSize: {
    description: 'Largest packument or attestation document accepted, in bytes',
    type: SettingsType.NUMBER,
    default: DEFAULT_MAX_RESPONSE_BYTES,
  },
} as const;

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
}

/** Reads the settings through `configuration.get`, untyped on purpose: the keys are ours, not Yarn's. */
export function readSettings(configuration: Configuration): SigstoreSettings {
  const get = (key: keyof typeof sigstoreSettings): any => (configuration as any).get(key);
  const registries = new Map<string, string>();
  const rawRegistries: Map<string, string> | undefined = get('sigstoreAttestationRegistries');
  for (const [scope, url] of rawRegistries ?? new Map()) registries.set(scope.replace(/^@/, ''), String(url).replace(/\/+$/, ''));
  return {
    policyPath: get('sigstorePolicyPath'),
    mode: get('sigstoreMode'),
    trustedRootPath: get('sigstoreTrustedRootPath'),
    npmKeysPath: get('sigstoreNpmKeysPath'),
    trustMode: get('sigstoreTrustMode'),
    tufMirrorUrl: get('sigstoreTufMirrorUrl'),
    tufRootPath: get('sigstoreTufRootPath'),
    trustMaxAgeDays: positive(get('sigstoreTrustMaxAgeDays'), 30),
    bundleDirectory: get('sigstoreBundleDirectory'),
    attestationRegistries: registries,
    evidencePath: get('sigstoreEvidencePath'),
    recheckAttestations: get('sigstoreRecheckAttestations') === true,
    unsignedMaxAgeDays: nonNegative(get('sigstoreUnsignedMaxAgeDays'), DEFAULT_UNSIGNED_MAX_AGE_DAYS),
    requestTimeoutMs: positive(get('sigstoreRequestTimeout'), DEFAULT_REQUEST_TIMEOUT_MS),
    concurrency: positive(get('sigstoreNetworkConcurrency'), DEFAULT_CONCURRENCY),
    maxResponseBytes: positive(get('sigstoreMaxResponseSize'), DEFAULT_MAX_RESPONSE_BYTES),
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

export interface EnvironmentSetting {
  key: keyof typeof sigstoreSettings;
  /** The variable Yarn read it from, e.g. `YARN_SIGSTORE_TRUSTED_ROOT_PATH`. */
  variable: string;
  value: unknown;
}

/** Those of `keys` whose value Yarn took from the environment rather than a `.yarnrc.yml`. */
export function settingsFromEnvironment(configuration: Configuration, keys: ReadonlyArray<keyof typeof sigstoreSettings>): EnvironmentSetting[] {
  return keys
    .filter((key) => configuration.sources.get(key) === ENVIRONMENT_SOURCE)
    .map((key) => ({ key, variable: environmentVariableOf(key), value: (configuration as any).get(key) }));
}

/** The inverse of Yarn's mapping (`YARN_FOO_BAR` -> `fooBar`). */
export function environmentVariableOf(key: string): string {
  return `YARN_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}
