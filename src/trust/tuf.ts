/**
 * Where the trust material comes from, and how fresh it is.
 *
 * In order: a plain trusted root file (air-gapped, no TUF); else Sigstore's TUF
 * repository (or a private mirror), refreshed only when the cached timestamp
 * metadata has expired; if the repository cannot be reached, the last verified
 * cache, then (public-good instance only) the copy embedded in the plugin.
 * Expired or rolled-back metadata is an attack and fails; stale material fails
 * in CI and warns elsewhere.
 *
 * Uses tuf-js (the client inside @sigstore/tuf) directly: @sigstore/tuf hides
 * the fetcher, so it cannot guarantee that offline mode never touches the
 * network, nor tell an unreachable repository from a tampered one.
 */
import { withoutUserinfo } from '../redact';
import { readFileSync } from 'node:fs';
import { readNamedFile } from '../files';
import { Updater } from 'tuf-js';
import { ErrorCodes, SigstorePluginError } from '../errors';
import embeddedTufRoot from './embedded/tuf_root.json';
import { embeddedTrustMaterial, type TrustMaterialInput } from './index';
import { classifyRefreshFailure } from './tuf-errors';
import { createHttpClient, DIRECT, type HttpClient } from '../net/client';
import {
  networkFetcher,
  offlineFetcher,
  recordingFetcher,
  type FetchRecord,
  type Fetcher,
} from './tuf-fetch';
import {
  canVouch,
  dropTufCache,
  holdsUnvouchedState,
  readTufVouch,
  readVouchedTarget,
  recordRepositoryUnreachable,
  seedTufCache,
  tufCacheFor,
  unreachableSince,
  writeTufVouch,
  type TufCache,
  type TufVouch,
  type Unreachable,
} from './tuf-cache';

export const DEFAULT_TUF_MIRROR_URL = 'https://tuf-repo-cdn.sigstore.dev';
export const TRUSTED_ROOT_TARGET = 'trusted_root.json';
export const NPM_KEYS_TARGET = 'registry.npmjs.org/keys.json';
export const DEFAULT_MAX_AGE_DAYS = 30;
/**
 * After the repository could not be reached, it is asked again only this much
 * later: behind a firewall that drops the connections, every install would
 * otherwise wait for the request's deadline and retry (up to 20 s) to end up
 * with the same cached material.
 */
export const UNREACHABLE_RETRY_MS = 60 * 60 * 1000;

export type TrustMode = 'auto' | 'offline';
export type TrustSource = 'tuf' | 'tuf-cache' | 'embedded' | 'file';

export interface ResolveTrustOptions {
  /** Folder for the TUF cache (the Yarn layer passes Yarn's global folder). */
  cacheDir: string;
  /** `offline` never touches the network: cache, else embedded copy. */
  mode: TrustMode;
  /** A private Sigstore's TUF repository; needs `tufRootPath`. */
  tufMirrorUrl?: string;
  /** The TUF `root.json` to start trusting from (first use of a cache only). */
  tufRootPath?: string;
  /** A plain `trusted_root.json`, no TUF: pinned by the user, never refreshed. */
  trustedRootPath?: string;
  /** npm's `keys.json`, overriding the TUF target or embedded copy. */
  npmKeysPath?: string;
  /** Material last confirmed longer ago than this fails in CI and warns elsewhere. Default 30. */
  maxAgeDays?: number;
  ci: boolean;
  /** Refresh even if the cached timestamp has not expired (e.g. an explicit refresh command). */
  forceRefresh?: boolean;
  /** The clock for ages (TUF expiry itself is checked by the TUF client against the system clock). */
  now?: Date;
  /** The network stack to reach the repository through (the caller's proxies, CAs...). Offline mode ignores it. */
  http?: HttpClient;
  /** Replaces the TUF client's fetcher altogether (tests). Offline mode ignores it. */
  fetcher?: Fetcher;
  /** Deadline and retries of the default network stack (direct, strict TLS), when no `http` is given. */
  timeoutMs?: number;
  retries?: number;
}

export interface ResolvedTrust {
  material: TrustMaterialInput;
  source: TrustSource;
  /** Days since the material was last confirmed by its repository (or since the embedded seed's newest key). */
  ageDays?: number;
  /** One line for reports: which root, from where, how old. */
  summary: string;
  warnings: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function resolveTrustMaterial(options: ResolveTrustOptions): Promise<ResolvedTrust> {
  const now = options.now ?? new Date();
  const resolved = options.trustedRootPath ? fromPinnedFile(options, options.trustedRootPath) : await fromTufRedacted(options, now);
  enforceMaxAge(resolved, options);
  return resolved;
}

/** A mirror URL may carry credentials: what is printed, recorded in the evidence or thrown names it without them. */
async function fromTufRedacted(options: ResolveTrustOptions, now: Date): Promise<ResolvedTrust> {
  try {
    const resolved = await fromTuf(options, now);
    return {
      ...resolved,
      material: { ...resolved.material, origin: resolved.material.origin && withoutUserinfo(resolved.material.origin) },
      summary: withoutUserinfo(resolved.summary),
      warnings: resolved.warnings.map(withoutUserinfo),
    };
  } catch (error) {
    if (error instanceof Error) error.message = withoutUserinfo(error.message);
    throw error;
  }
}

function fromPinnedFile(options: ResolveTrustOptions, path: string): ResolvedTrust {
  const trustedRoot = readJsonFile(path, 'trusted root file', ErrorCodes.TRUSTED_ROOT_INVALID);
  const npmKeys = npmKeysOr(options, () => embeddedTrustMaterial().npmKeys);
  return {
    material: { trustedRoot, npmKeys, origin: `file:${path}` },
    source: 'file',
    summary: `trusted root pinned to ${path} (no TUF refresh)`,
    warnings: [],
  };
}

async function fromTuf(options: ResolveTrustOptions, now: Date): Promise<ResolvedTrust> {
  const mirrorUrl = mirrorUrlFrom(options.tufMirrorUrl);
  const isPublicGood = mirrorUrl === DEFAULT_TUF_MIRROR_URL;
  const cache = tufCacheFor(options.cacheDir, mirrorUrl);
  // The TUF client anchors everything on the cached root.json: a cache this user did not vouch for is never read.
  const vouch = await readTufVouch(cache);
  // Read once: the unvouched check and the seeding both want it (a tufRootPath file).
  let seed: string | undefined;
  const seedRoot = () => (seed ??= seedRootFor(options, mirrorUrl, isPublicGood));
  const unvouched = !vouch && holdsUnvouchedState(cache, seedRoot());
  prepareCache(cache, seedRoot, unvouched);
  const resolved = await refreshOrFallBack(options, now, mirrorUrl, isPublicGood, cache, vouch);
  // Without a record key nothing is ever vouched for: dropped on every install, which says nothing about who wrote it.
  if (unvouched && (await canVouch())) {
    resolved.warnings.unshift(
      `the TUF cache of ${mirrorUrl} held material that this user's record key does not vouch for (restored from another machine's cache, planted, or written by an older version of the plugin): not used, and removed`,
    );
  }
  return resolved;
}

/** The material from the repository, or from the vouched cache while its timestamp is valid; else the fallback. */
async function refreshOrFallBack(options: ResolveTrustOptions, now: Date, mirrorUrl: string, isPublicGood: boolean, cache: TufCache, vouch: TufVouch | undefined): Promise<ResolvedTrust> {
  const record: FetchRecord = { answered: false };
  // Found unreachable within the hour: not asked again, if the cache would be taken without it (the cache is then used
  // as in offline mode, with a warning saying so). Asked whenever the install would otherwise fail: nothing cached, or
  // material too old for CI (a network back since must work at once).
  const unreachable = options.mode === 'offline' ? undefined : await unreachableSince(cache, now, UNREACHABLE_RETRY_MS);
  const recentlyUnreachable = unreachable && cacheWouldServe(options, cache, vouch, now) ? unreachable : undefined;
  const network = options.mode === 'offline' || recentlyUnreachable ? offlineFetcher : options.fetcher ?? networkFetcher(options.http ?? defaultHttp(options));
  try {
    const updater = new Updater({
      metadataDir: cache.metadataDir,
      metadataBaseUrl: mirrorUrl,
      targetDir: cache.targetDir,
      targetBaseUrl: `${mirrorUrl}/targets`,
      fetcher: recordingFetcher(network, record),
      // Use the cached metadata while its timestamp is valid: no request per install.
      forceCache: !options.forceRefresh,
    });
    const trustedRootText = await readTarget(updater, TRUSTED_ROOT_TARGET);
    const npmKeysText = await readOptionalTarget(updater, NPM_KEYS_TARGET);
    // Not answered: the vouched cache served it all (an unvouched one was dropped, so the repository answered).
    const checkedAt = record.answered || !vouch ? now : vouch.checkedAt;
    await writeTufVouch(cache, { [TRUSTED_ROOT_TARGET]: trustedRootText, [NPM_KEYS_TARGET]: npmKeysText }, checkedAt, vouch);
    return tufResult(options, mirrorUrl, now, record.answered ? 'tuf' : 'tuf-cache', checkedAt, trustedRootText, npmKeysText);
  } catch (error) {
    if (error instanceof SigstorePluginError) throw error;
    const failure = classifyRefreshFailure(error, record, mirrorUrl);
    if (failure.kind === 'attack') throw failure.error;
    // Redacted before it is written: a mirror URL's credentials never land in a cache folder.
    if (options.mode !== 'offline' && !recentlyUnreachable) await recordRepositoryUnreachable(cache, now, withoutUserinfo(failure.cause.message));
    return fallBack(options, cache, vouch, mirrorUrl, isPublicGood, now, unavailability(options, mirrorUrl, failure.cause, recentlyUnreachable));
  }
}

/** Retries after a failed request: few and short, an install waits for them when the repository is blocked. */
function defaultHttp(options: ResolveTrustOptions): HttpClient {
  return createHttpClient({ settingsFor: () => DIRECT, deadlineMs: options.timeoutMs ?? 5000, retries: options.retries ?? 1 });
}

function mirrorUrlFrom(setting: string | undefined): string {
  const mirrorUrl = (setting ?? DEFAULT_TUF_MIRROR_URL).replace(/\/+$/, '');
  if (!URL.canParse(mirrorUrl) || !/^https?:$/.test(new URL(mirrorUrl).protocol)) {
    throw new SigstorePluginError(ErrorCodes.TRUST_CONFIG_INVALID, `the TUF mirror URL ${JSON.stringify(setting)} is not an http(s) URL`);
  }
  return mirrorUrl;
}

/** Seeds the cache; `drop`: first removes what is there (a cache this user did not vouch for). */
function prepareCache(cache: TufCache, seedRoot: () => string, drop: boolean): void {
  try {
    if (drop) dropTufCache(cache);
    seedTufCache(cache, seedRoot);
  } catch (error) {
    if (error instanceof SigstorePluginError) throw error;
    throw new SigstorePluginError(ErrorCodes.TRUST_CONFIG_INVALID, `cannot prepare the TUF cache ${cache.metadataDir}: ${(error as Error).message}`, { cause: error });
  }
}

function seedRootFor(options: ResolveTrustOptions, mirrorUrl: string, isPublicGood: boolean): string {
  if (options.tufRootPath) return JSON.stringify(readJsonFile(options.tufRootPath, 'TUF root file', ErrorCodes.TRUST_CONFIG_INVALID));
  if (isPublicGood) return JSON.stringify(embeddedTufRoot);
  throw new SigstorePluginError(
    ErrorCodes.TRUST_CONFIG_INVALID,
    `the TUF mirror ${mirrorUrl} is not Sigstore's public-good repository: give its root.json (tufRootPath) to start trusting it`,
  );
}

async function readTarget(updater: Updater, name: string): Promise<string> {
  const text = await readOptionalTarget(updater, name);
  if (text === undefined) throw new SigstorePluginError(ErrorCodes.TUF_METADATA_INVALID, `the TUF repository lists no target ${name}`);
  return text;
}

/** A verified target: from the cache when its hash still matches the signed metadata, else downloaded and checked. */
async function readOptionalTarget(updater: Updater, name: string): Promise<string | undefined> {
  const info = await updater.getTargetInfo(name);
  if (!info) return undefined;
  const path = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
  return readFileSync(path, 'utf8');
}

/** Whether falling back to the cache would give material this install accepts: a vouched trusted root, not too old for CI. */
function cacheWouldServe(options: ResolveTrustOptions, cache: TufCache, vouch: TufVouch | undefined, now: Date): boolean {
  if (!vouch || !vouchedMaterial(cache, vouch)) return false;
  return !options.ci || !pastMaxAge(daysBetween(vouch.checkedAt, now), options);
}

/** The cached targets as vouched for: undefined when the trusted root is missing or any target differs from its vouched digest. */
function vouchedMaterial(cache: TufCache, vouch: TufVouch): { trustedRootText: string; npmKeysText?: string } | undefined {
  const trustedRootText = readVouchedTarget(cache, vouch, TRUSTED_ROOT_TARGET);
  const npmKeysText = readVouchedTarget(cache, vouch, NPM_KEYS_TARGET);
  if (trustedRootText === undefined || (vouch.targets[NPM_KEYS_TARGET] !== undefined && npmKeysText === undefined)) return undefined;
  return { trustedRootText, npmKeysText };
}

/** Why the repository was not read, as the warnings and errors say it. */
function unavailability(options: ResolveTrustOptions, mirrorUrl: string, cause: Error, recentlyUnreachable: Unreachable | undefined): { why: string; cause: Error } {
  if (options.mode === 'offline') return { why: 'offline mode', cause };
  if (!recentlyUnreachable) return { why: `TUF repository ${mirrorUrl} unreachable (${cause.message})`, cause };
  const retryAt = new Date(recentlyUnreachable.at.getTime() + UNREACHABLE_RETRY_MS);
  return { why: `TUF repository ${mirrorUrl} unreachable at ${utcMinute(recentlyUnreachable.at)} UTC (${recentlyUnreachable.cause}), not asked again before ${utcMinute(retryAt)} UTC`, cause };
}

/** `2026-12-07 17:05`: a time in UTC to the minute. */
const utcMinute = (date: Date) => date.toISOString().slice(0, 16).replace('T', ' ');

/** The repository could not be read: the last verified cache, else (public-good only) the embedded copy. */
function fallBack(options: ResolveTrustOptions, cache: TufCache, vouch: TufVouch | undefined, mirrorUrl: string, isPublicGood: boolean, now: Date, { why, cause }: { why: string; cause: Error }): ResolvedTrust {
  const cached = vouch && vouchedMaterial(cache, vouch);
  if (vouch && cached) {
    const resolved = tufResult(options, mirrorUrl, now, 'tuf-cache', vouch.checkedAt, cached.trustedRootText, cached.npmKeysText);
    resolved.warnings.unshift(`${why}: using the cached trusted root, ${describeAge(resolved.ageDays)}`);
    return resolved;
  }
  if (!isPublicGood) {
    throw new SigstorePluginError(ErrorCodes.TUF_UNREACHABLE, `${why}, and no trusted root from it is cached: cannot verify against this Sigstore instance`, { cause });
  }
  const embedded = embeddedTrustMaterial();
  const ageDays = daysBetween(newestValidityStart(embedded), now);
  return {
    material: { ...embedded, npmKeys: npmKeysOr(options, () => embedded.npmKeys) },
    source: 'embedded',
    ageDays,
    summary: `embedded trusted root, ${describeAge(ageDays)}`,
    warnings: [`${why}: using the trusted root embedded in the plugin, ${describeAge(ageDays)}`],
  };
}

function tufResult(
  options: ResolveTrustOptions,
  mirrorUrl: string,
  now: Date,
  source: 'tuf' | 'tuf-cache',
  checkedAt: Date,
  trustedRootText: string,
  npmKeysText: string | undefined,
): ResolvedTrust {
  const trustedRoot = parseJson(trustedRootText, `${TRUSTED_ROOT_TARGET} from ${mirrorUrl}`, ErrorCodes.TRUSTED_ROOT_INVALID);
  const npmKeys = npmKeysOr(options, () =>
    npmKeysText === undefined ? embeddedTrustMaterial().npmKeys : parseJson(npmKeysText, `${NPM_KEYS_TARGET} from ${mirrorUrl}`, ErrorCodes.TRUSTED_ROOT_INVALID),
  );
  const warnings: string[] = [];
  if (npmKeysText === undefined && !options.npmKeysPath) warnings.push(`${mirrorUrl} has no ${NPM_KEYS_TARGET} target: using the embedded npm keys`);
  const ageDays = daysBetween(checkedAt, now);
  return {
    material: { trustedRoot, npmKeys, origin: `tuf:${mirrorUrl}` },
    source,
    ageDays,
    summary: source === 'tuf' ? `trusted root refreshed from TUF ${mirrorUrl}` : `trusted root from the TUF cache of ${mirrorUrl}, ${describeAge(ageDays)}`,
    warnings,
  };
}

/** npm's keys: the user's file when given, else what the source offers. */
function npmKeysOr(options: ResolveTrustOptions, fromSource: () => unknown): unknown {
  return options.npmKeysPath ? readJsonFile(options.npmKeysPath, 'npm keys file', ErrorCodes.TRUSTED_ROOT_INVALID) : fromSource();
}

/** Whether material this many days old is past the bound: refused in CI, a warning elsewhere. */
const pastMaxAge = (ageDays: number, options: ResolveTrustOptions) => ageDays > (options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS);

function enforceMaxAge(resolved: ResolvedTrust, options: ResolveTrustOptions): void {
  if (resolved.ageDays === undefined || !pastMaxAge(resolved.ageDays, options)) return;
  const message = `the ${resolved.source} trusted root is ${resolved.ageDays} days old, more than the maximum of ${options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS} days (${resolved.material.origin})`;
  if (options.ci) {
    const refresh = options.mode === 'offline' ? 'set sigstoreTrustMode: auto for TUF to refresh it' : 'let the TUF refresh through (the repository could not be reached)';
    throw new SigstorePluginError(ErrorCodes.TRUSTED_ROOT_TOO_OLD, `${message}: refusing stale trust material in CI; ${refresh}, pin a current trusted_root.json (sigstoreTrustedRootPath), or raise sigstoreTrustMaxAgeDays`);
  }
  resolved.warnings.push(message);
}

/** The embedded seed is at least as old as the newest key in it. */
export function newestValidityStart(material: TrustMaterialInput): Date {
  let newest = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'validFor' && child && typeof child === 'object' && 'start' in child) {
        const start = Date.parse(String((child as { start: unknown }).start));
        if (!Number.isNaN(start)) newest = Math.max(newest, start);
      }
      visit(child);
    }
  };
  visit([material.trustedRoot, material.npmKeys]);
  return new Date(newest);
}

function daysBetween(from: Date, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - from.getTime()) / DAY_MS));
}

function describeAge(ageDays: number | undefined): string {
  if (ageDays === undefined) return 'of unknown age';
  return ageDays === 0 ? 'last confirmed today' : `last confirmed ${ageDays} day${ageDays === 1 ? '' : 's'} ago`;
}

function readJsonFile(path: string, what: string, code: SigstorePluginError['code']): unknown {
  return parseJson(readNamedFile({ path, what: `the ${what}`, code }).toString('utf8'), `the ${what} ${path}`, code);
}

function parseJson(text: string, what: string, code: SigstorePluginError['code']): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SigstorePluginError(code, `${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
