/**
 * Packuments read off Yarn's main thread. A full packument is megabytes of
 * JSON (6-10 MB per 100 packages of a real tree) of which the install keeps a
 * few facts; its depth scan and parse were most of the plugin's main-thread
 * time on a cold install. The main thread keeps the request (credentials,
 * proxies, size cap) and hands a copy of the body over as served (still
 * gzipped: a stream decoder per request was the main thread's largest cost
 * after that); the packument worker (packument-worker.ts, embedded as
 * `__SIGSTORE_PACKUMENT_WORKER__`) decodes it within the size cap, applies the
 * depth limit, parses, and answers the facts only, or the package's coded
 * error exactly as the main thread would raise it.
 *
 * A worker of its own, not the verification worker's: that one starts with
 * the trust material, which a packument must not wait for, and carries the
 * verification core. Started with the first packument: a warm install that
 * asks for none starts no thread. Where the bundle carries no worker (tests
 * running the sources), or once it failed, packuments are read in-process; a
 * worker that fails fails the packages it owed (INTERNAL, never a pass).
 */
import type { ContentEncoding } from '../net/decode';
import type { EncodedBody, PackageLookup, PackumentFacts, ReadPackument } from '../sources/types';
import { WorkerThread } from './worker-thread';

declare const __SIGSTORE_PACKUMENT_WORKER__: string | undefined;

export interface PackumentRequest {
  /** A copy of the body as served (still encoded, as served), transferred. */
  body: Uint8Array;
  encoding?: ContentEncoding;
  pkg: PackageLookup;
  url: string;
  maxBytes: number;
}

export class PackumentThread extends WorkerThread<PackumentRequest, PackumentFacts> {
  private constructor(source: string) {
    super(source, 'the packument worker');
  }

  /** A thread when the bundle carries the worker's code; undefined otherwise. */
  static create(): PackumentThread | undefined {
    const source = typeof __SIGSTORE_PACKUMENT_WORKER__ === 'string' ? __SIGSTORE_PACKUMENT_WORKER__ : undefined;
    return source ? new PackumentThread(source) : undefined;
  }

  /**
   * The facts of `body`. The worker gets a copy, transferred: the caller's bytes stay its own
   * (another plugin's network hook may keep and reuse the Buffer it answered), for one memcpy
   * of the bytes as served (a gzipped packument is a tenth of what it decodes to).
   */
  read({ bytes: served, encoding }: EncodedBody, pkg: PackageLookup, url: string, maxBytes: number): Promise<PackumentFacts> {
    const bytes = new Uint8Array(served);
    const { name, version, registry } = pkg;
    return this.send(`${name}@${version}`, { body: bytes, encoding, pkg: { name, version, registry }, url, maxBytes }, [bytes.buffer]);
  }
}

/**
 * A packument reader for one install: the worker when the bundle carries it (started on the first
 * body), else, and once it failed, `inProcess` on this thread.
 */
export function packumentReader(inProcess: (body: EncodedBody, pkg: PackageLookup, url: string, maxBytes: number) => PackumentFacts, thread = PackumentThread.create()): ReadPackument {
  return async (body, pkg, url, maxBytes) => (thread?.usable ? thread.read(body, pkg, url, maxBytes) : inProcess(body, pkg, url, maxBytes));
}
