/**
 * Network access for the TUF client, made explicit: a fetcher on the
 * plugin's own network stack (src/net/: the proxies, CAs and client
 * certificates the attestation requests use; tuf-js's own fetcher knows none
 * of them), an offline fetcher that refuses every request (offline mode never
 * touches the network), and a wrapper that records whether the repository
 * answered or was unreachable, so that a failed refresh can be told apart
 * from a tampered repository.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fetcher } from 'tuf-js';
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error';
import { NetworkError, type HttpClient } from '../net/client';

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

/**
 * The TUF client's downloads through `client`, failing as tuf-js's own
 * fetcher does where the client reads the failure: an HTTP error status as
 * DownloadHTTPError (a 404 on `N.root.json` ends the root rotation walk), a
 * body over the length the metadata allows as DownloadLengthMismatchError.
 */
export function networkFetcher(client: HttpClient): Fetcher {
  const download = async (url: string, maxLength: number): Promise<Buffer> => {
    let answer;
    try {
      answer = await client.get(url, { maxBytes: maxLength, headers: { 'user-agent': 'yarn-plugin-sigstore' } });
    } catch (error) {
      if (error instanceof NetworkError && error.kind === 'too-large') throw new DownloadLengthMismatchError('Max length reached');
      if (error instanceof NetworkError && error.kind === 'status') throw new DownloadHTTPError(error.message, error.status!);
      throw error;
    }
    if (answer.status !== 200) throw new DownloadHTTPError(`HTTP ${answer.status}`, answer.status);
    return answer.body;
  };
  return {
    downloadBytes: download,
    downloadFile: async (url, maxLength, handler) => {
      const body = await download(url, maxLength);
      const dir = await mkdtemp(join(tmpdir(), 'sigstore-tuf-'));
      try {
        const file = join(dir, 'download');
        await writeFile(file, body);
        return await handler(file);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
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
 * A request that got no usable answer: connection refused, timeout, a proxy
 * or TLS failure, a host the configuration does not let us ask (the network
 * stack's NetworkError; other fetchers' errors carry a system `code`), an HTTP
 * error, an offline refusal. A download that arrived but was too long or
 * hashed wrong is not one: that is tampering.
 */
function isTransportFailure(url: string, error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (error instanceof OfflineRequestRefused || error instanceof NetworkError) return true;
  if (error instanceof DownloadHTTPError) return !isEndOfRootVersions(url, error);
  return typeof (error as { code?: unknown }).code === 'string';
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
