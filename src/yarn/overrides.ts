/**
 * Settings chosen by the environment (a `YARN_SIGSTORE_*` variable, or an rc
 * file that `YARN_RC_FILENAME` names) may only tighten what the committed
 * `.yarnrc.yml` says. A CI variable is configuration nobody reviews in the
 * repository, and whoever controls one must not be able to relax the gate:
 *
 * - the policy path: the environment's policy applies in addition to the
 *   committed one, the stricter verdict wins (policy-adapter.ts);
 * - the mode: tightening only, unless the policy allows loosening (policy/mode.ts);
 * - the trust anchors (trusted root, npm keys, TUF mirror, TUF root): they
 *   decide which signatures are genuine, so the environment may only repeat
 *   the committed value; anything else is refused;
 * - the trust maximum age and how long "unsigned" is remembered: lowered only;
 *   recheck of attestations: turned on only;
 * - the rest (where documents are looked for, the evidence path, timeouts,
 *   concurrency, size cap, trust mode) cannot make a package pass that would
 *   fail: honoured.
 * A committed value that interpolates a variable (`sigstoreTrustedRootPath:
 * "${CI_ROOT}"`) is the environment's too: it counts as set by the environment
 * and as no committed value.
 * Every one of them is printed as a warning, its value without credentials.
 */
import { existsSync, readFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { COMMITTED_RC_FILENAME, sigstoreSettings, type EnvironmentSetting, type SigstoreSettings } from './settings';

type SettingKey = keyof typeof sigstoreSettings;

/** How each setting is named in a warning. */
const LABELS: Record<SettingKey, string> = {
  sigstorePolicyPath: 'the trust policy',
  sigstoreMode: 'the policy mode',
  sigstoreTrustedRootPath: 'the trusted root',
  sigstoreNpmKeysPath: 'the npm registry keys file',
  sigstoreTufMirrorUrl: 'the TUF mirror',
  sigstoreTufRootPath: 'the TUF root',
  sigstoreTrustMode: 'the trust mode',
  sigstoreTrustMaxAgeDays: 'the trust maximum age',
  sigstoreBundleDirectory: 'the bundle directory',
  sigstoreAttestationRegistries: 'the attestation registries',
  sigstoreEvidencePath: 'the evidence path',
  sigstoreRecheckAttestations: 'the attestation recheck',
  sigstoreUnsignedMaxAgeDays: 'how long an unsigned answer is remembered',
  sigstoreRequestTimeout: 'the request timeout',
  sigstoreNetworkConcurrency: 'the network concurrency',
  sigstoreMaxResponseSize: 'the response size cap',
};

/** Settings that choose what counts as a genuine signature: the environment may only repeat the committed value. */
const TRUST_ANCHORS: ReadonlySet<SettingKey> = new Set(['sigstoreTrustedRootPath', 'sigstoreNpmKeysPath', 'sigstoreTufMirrorUrl', 'sigstoreTufRootPath']);
const PATH_SETTINGS: ReadonlySet<SettingKey> = new Set(['sigstorePolicyPath', 'sigstoreTrustedRootPath', 'sigstoreNpmKeysPath', 'sigstoreTufRootPath', 'sigstoreBundleDirectory', 'sigstoreEvidencePath']);

/**
 * The value the committed configuration gives `key`: the closest
 * `.yarnrc.yml` from `projectDir` up to the root, then the home folder's
 * (as Yarn merges them); paths resolved against their file's folder.
 */
export function committedSetting(projectDir: string, key: SettingKey): unknown {
  const files: string[] = [];
  for (let dir = path.resolve(projectDir); ; dir = path.dirname(dir)) {
    files.push(path.join(dir, COMMITTED_RC_FILENAME));
    if (path.dirname(dir) === dir) break;
  }
  files.push(path.join(os.homedir(), COMMITTED_RC_FILENAME));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const data = rawRcFile(file);
    if (data === undefined || !Object.hasOwn(data, key)) continue;
    const value = data[key];
    // `${VAR}`: the environment's value, nothing committed.
    if (interpolatedVariables(value).length > 0) return undefined;
    return PATH_SETTINGS.has(key) && typeof value === 'string' ? path.resolve(path.dirname(file), value) : value;
  }
  return undefined;
}

/**
 * An rc file's settings as written, before Yarn replaces `${VAR}`; undefined
 * when it cannot be read. A key given twice is its last value, as Yarn's own
 * rc parser reads it: refusing it here missed a `${VAR}` written below the
 * committed value.
 */
function rawRcFile(file: string, text?: string): Record<string, unknown> | undefined {
  try {
    const data: unknown = parseYaml(text ?? readFileSync(file, 'utf8'), { uniqueKeys: false, logLevel: 'error' });
    return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The settings of an rc file that may interpolate a variable, parsed once per
 * call; none (no parse: 10-30 ms of YAML on every install) when its text holds
 * no `${` and no backslash, without which no value can read `${` (a YAML escape
 * such as `\x24` needs the backslash).
 */
function interpolatingRcFiles(): (file: string) => Record<string, unknown> | undefined {
  const files = new Map<string, Record<string, unknown> | undefined>();
  return (file) => {
    if (!files.has(file)) {
      let text: string | undefined;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = undefined;
      }
      files.set(file, text !== undefined && (text.includes('${') || text.includes('\\')) ? rawRcFile(file, text) : undefined);
    }
    return files.get(file);
  };
}

/** The variables a raw rc value interpolates, as Yarn reads them (`${NAME}`, `${NAME:-default}`). */
function interpolatedVariables(value: unknown): string[] {
  return typeof value === 'string' ? [...value.matchAll(/\$\{([\w]+)/g)].map((match) => match[1]) : [];
}

const choices = new WeakMap<SigstoreSettings, EnvironmentSetting[]>();

/**
 * Every setting the environment chose: `YARN_SIGSTORE_*` variables, an rc file
 * `YARN_RC_FILENAME` named, and committed values that interpolate a variable.
 * The attestation registries are left out of the last: honoured whatever
 * their source, and their value may carry a token.
 */
export function environmentChoices(settings: SigstoreSettings): EnvironmentSetting[] {
  let found = choices.get(settings);
  if (!found) {
    const rcFile = interpolatingRcFiles();
    const interpolated = settings.fromRcFiles.flatMap(({ key, file, value }) => {
      const variables = key === 'sigstoreAttestationRegistries' ? [] : interpolatedVariables(rcFile(file)?.[key]);
      return variables.length === 0 ? [] : [{ key, variable: `${variables.map((name) => `\${${name}}`).join(', ')} in ${path.basename(file)}`, value }];
    });
    found = [...settings.fromEnvironment, ...interpolated];
    choices.set(settings, found);
  }
  return found;
}

/** What may be printed of a setting's value: a URL loses its user and password. */
export function printable(value: unknown): string {
  const text = typeof value === 'string' ? value : value instanceof Map ? JSON.stringify(Object.fromEntries(value)) : JSON.stringify(value);
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, '$1');
}

function refused(setting: EnvironmentSetting, why: string): SigstorePluginError {
  return new SigstorePluginError(
    ErrorCodes.ENVIRONMENT_OVERRIDE_REFUSED,
    `${LABELS[setting.key]} set by the environment (${setting.variable}=${printable(setting.value)}) is refused: ${why}; set ${setting.key} in the committed .yarnrc.yml, or unset the variable`,
    { details: { setting: setting.key, variable: setting.variable } },
  );
}

/** The loosening one environment setting would make, or undefined when it only tightens (or cannot loosen). */
function loosening(setting: EnvironmentSetting, committed: unknown): string | undefined {
  const { key, value } = setting;
  if (TRUST_ANCHORS.has(key)) {
    // A URL's user and password choose no repository: a CI variable may add them to the committed mirror.
    const same = committed !== undefined && (PATH_SETTINGS.has(key) ? path.resolve(String(committed)) === path.resolve(String(value)) : printable(committed).replace(/\/+$/, '') === printable(value).replace(/\/+$/, ''));
    return same ? undefined : 'it would decide which signatures are genuine, and the environment may only repeat the committed value';
  }
  if (key === 'sigstoreTrustMaxAgeDays' || key === 'sigstoreUnsignedMaxAgeDays') {
    const limit = typeof committed === 'number' ? committed : (sigstoreSettings[key].default as number);
    return typeof value === 'number' && value <= limit ? undefined : `it may only lower the committed value (${limit} days)`;
  }
  if (key === 'sigstoreRecheckAttestations') {
    return value === true || committed !== true ? undefined : 'the committed configuration rechecks attestations on every install, and the environment may only turn that on';
  }
  return undefined;
}

/** Warnings to print (one per setting the environment chose), after refusing any that would loosen the committed configuration. */
export function enforceOverrides(fromEnvironment: readonly EnvironmentSetting[], projectDir: string): string[] {
  for (const setting of fromEnvironment) {
    const why = loosening(setting, committedSetting(projectDir, setting.key));
    if (why) throw refused(setting, why);
  }
  return fromEnvironment.map(({ key, variable, value }) => {
    const effect = key === 'sigstorePolicyPath' ? 'applied in addition to the committed policy, the stricter verdict wins' : 'check that this CI variable is intended';
    return `${LABELS[key]} was set by the environment (${variable}=${printable(value)}): ${effect}`;
  });
}
