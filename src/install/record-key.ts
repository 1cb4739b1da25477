/**
 * The opt-in CI record key: `SIGSTORE_RECORD_KEY`, a secret shared by the CI
 * jobs of one repository that replaces the per-user key for the content-keyed
 * records (record-files.ts), so that a CI job restoring the plugin's store
 * from a cache gets back what an earlier job of its own verified.
 *
 * Deliberately an environment variable and not a Yarn setting: a setting can
 * be committed in `.yarnrc.yml` and is printed by `yarn config`. Weak or
 * malformed values are a coded error (fail closed, never a silently weaker
 * key); no message ever quotes the value. The variable is taken out of this
 * process's environment when the plugin loads, so that the scripts Yarn runs
 * do not inherit it.
 */
import { createHmac } from 'crypto';
import { ErrorCodes, SigstorePluginError } from '../errors';

export const RECORD_KEY_VARIABLE = 'SIGSTORE_RECORD_KEY';

/** 32 bytes: as much as HMAC-SHA256 can use, and what the per-user key holds. */
const MIN_KEY_BYTES = 32;
/** A random 64-hex or 43-base64url secret has at least this many distinct characters but for odds below 1e-11; a placeholder (`000...`, `abab...`) has fewer. */
const MIN_DISTINCT_CHARACTERS = 10;

/** Where the taken value lives: on globalThis, since Yarn may evaluate the plugin's modules more than once per process. */
const HOLDER = Symbol.for('yarn-plugin-sigstore.recordKeyVariable');
type Holder = { value?: string };
const holder = (): Holder => ((globalThis as unknown as Record<symbol, Holder>)[HOLDER] ??= {});

/**
 * Moves the variable from `env` into this process's memory (removed from
 * `env`, so that lifecycle scripts and `yarn run` children do not inherit
 * it) and returns the value held. Called when the plugin loads and before
 * each use (a value set later replaces the held one).
 */
export function takeRecordKeyVariable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[RECORD_KEY_VARIABLE];
  if (value !== undefined) {
    holder().value = value;
    delete env[RECORD_KEY_VARIABLE];
  }
  return holder().value;
}

const invalid = (reason: string) =>
  new SigstorePluginError(
    ErrorCodes.RECORD_KEY_INVALID,
    `${RECORD_KEY_VARIABLE} is set but is not a usable record key: ${reason}. Give it at least ${MIN_KEY_BYTES} random bytes as 64 hex characters or 43 base64url characters (e.g. \`openssl rand -hex 32\`, kept as a CI secret), or unset it (the value is not printed)`,
    { subject: RECORD_KEY_VARIABLE },
  );

/**
 * The MAC key a `SIGSTORE_RECORD_KEY` value stands for; undefined when unset
 * or empty (GitHub Actions passes an empty string for a secret a fork's
 * workflow may not read: the per-user key then applies). Throws
 * RECORD_KEY_INVALID for anything else that is not at least 32 bytes of hex
 * or base64(url).
 */
export function parseRecordKey(value: string | undefined): Buffer | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  let secret: Buffer;
  // All hex digits: hex, so that 48 hex digits (24 bytes) never pass as 36 bytes of base64.
  if (/^[0-9a-fA-F]+$/.test(text)) {
    if (text.length % 2 !== 0 || text.length < 2 * MIN_KEY_BYTES) throw invalid(`as hex it needs an even number of digits, at least ${2 * MIN_KEY_BYTES}`);
    secret = Buffer.from(text, 'hex');
  } else if (/^[A-Za-z0-9_-]+={0,2}$/.test(text) || /^[A-Za-z0-9+/]+={0,2}$/.test(text)) secret = Buffer.from(text, 'base64');
  else throw invalid('it is neither hex nor base64');
  if (secret.length < MIN_KEY_BYTES) throw invalid(`it holds fewer than ${MIN_KEY_BYTES} bytes`);
  if (new Set(text.replace(/=+$/, '')).size < MIN_DISTINCT_CHARACTERS) throw invalid('it repeats too few characters to be random');
  // Derived, so that the same secret used for something else never yields MACs valid here.
  return createHmac('sha256', secret).update('yarn-plugin-sigstore record key v1').digest();
}

let parsed: { value: string; key: Buffer | undefined } | undefined;

/** The CI record key of this process (see takeRecordKeyVariable), parsed once per value; throws RECORD_KEY_INVALID. */
export function ciRecordKey(): Buffer | undefined {
  const value = takeRecordKeyVariable();
  if (value === undefined) return undefined;
  if (parsed?.value !== value) parsed = { value, key: parseRecordKey(value) };
  return parsed.key;
}
