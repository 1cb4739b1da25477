/**
 * Network access for the TUF client, made explicit: an offline fetcher that
 * refuses every request (offline mode never touches the network), and a
 * wrapper that records whether the repository answered or was unreachable, so
 * that a failed refresh can be told apart from a tampered repository.
 */
import type { Fetcher } from 'tuf-js';
import { DefaultFetcher } from 'tuf-js/dist/fetcher';
import { DownloadHTTPError } from 'tuf-js/dist/error';

export type { Fetcher } from 'tuf-js';

/** Thrown by the offline fetcher: counts as "unreachable", never as tampering. */
export class OfflineRequestRefused extends Error {
  constructor(url: string) {
    super(`offline mode: refused to fetch ${url}`);
    this.name = 'OfflineRequestRefused';
  }
}

export const offlineFetcher: Fetcher = {
  downloadFile: async (url) => {
    throw new OfflineRequestRefused(url);
  },
  downloadBytes: async (url) => {
    throw new OfflineRequestRefused(url);
  },
};

export interface NetworkOptions {
  timeoutMs: number;
  /** Retries after a failed request. Few and short: an install waits for them when the repository is blocked. */
  retries: number;
}

export function defaultFetcher({ timeoutMs, retries }: NetworkOptions): Fetcher {
  return new DefaultFetcher({
    userAgent: 'yarn-plugin-sigstore',
    timeout: timeoutMs,
    retry: { retries, factor: 2, minTimeout: 200, maxTimeout: 1000 },
  });
}

/** What the repository did during one refresh. */
export interface FetchRecord {
  /** Some file was downloaded: the material was checked against the repository just now. */
  answered: boolean;
  /** The first transport failure (connection refused, timeout, HTTP error, offline refusal). */
  unreachable?: Error;
}

/** TUF probes `N.root.json` until the repository says there is none: that answer is not a failure. */
function isEndOfRootVersions(url: string, error: unknown): boolean {
  return error instanceof DownloadHTTPError && [403, 404].includes(error.statusCode) && /\/\d+\.root\.json$/.test(url);
}

/**
 * A request that got no usable answer: connection refused, timeout (fetch
 * errors carry a system `code`), an HTTP error, an offline refusal. A download
 * that arrived but was too long or hashed wrong is not one: that is tampering.
 */
function isTransportFailure(url: string, error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (error instanceof OfflineRequestRefused) return true;
  if (error instanceof DownloadHTTPError) return !isEndOfRootVersions(url, error);
  return error.name === 'FetchError' || typeof (error as { code?: unknown }).code === 'string';
}

export function recordingFetcher(inner: Fetcher, record: FetchRecord): Fetcher {
  const observe = async <T>(url: string, download: () => Promise<T>): Promise<T> => {
    try {
      const result = await download();
      record.answered = true;
      return result;
    } catch (error) {
      if (isTransportFailure(url, error)) record.unreachable ??= error;
      throw error;
    }
  };
  return {
    downloadFile: (url, maxLength, handler) => observe(url, () => inner.downloadFile(url, maxLength, handler)),
    downloadBytes: (url, maxLength) => observe(url, () => inner.downloadBytes(url, maxLength)),
  };
}
