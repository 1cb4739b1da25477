/**
 * Verification on a worker thread, so that the second core verifies bundles
 * while Yarn's main thread downloads and converts tarballs. The worker's code
 * is the plugin's own verification core, embedded in the bundle at build time
 * (`__SIGSTORE_VERIFY_WORKER__`); where it is not (tests running the sources),
 * there is no worker and the caller verifies in-process. A worker that fails
 * fails its pending packages (never a pass), and later ones run in-process.
 */
import { Worker } from 'worker_threads';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { TrustMaterialInput } from '../trust';
import type { PackageSubject, PackageVerification } from '../verify/types';

declare const __SIGSTORE_VERIFY_WORKER__: string | undefined;

export interface VerifyRequest {
  id: number;
  document: unknown;
  subject: PackageSubject;
}

export type VerifyReply =
  | { id: number; result: PackageVerification }
  | { id: number; error: { coded: boolean; code?: string; message: string; subject?: string; details?: Record<string, unknown> } };

interface Pending {
  /** `name@version`, for errors the worker could not code. */
  label: string;
  resolve: (result: PackageVerification) => void;
  reject: (error: SigstorePluginError) => void;
}

export class VerifierThread {
  private worker?: Worker;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly source: string,
    private readonly trust: TrustMaterialInput,
  ) {}

  /** A thread verifier when the bundle carries the worker's code; undefined otherwise. */
  static create(trust: TrustMaterialInput): VerifierThread | undefined {
    const source = typeof __SIGSTORE_VERIFY_WORKER__ === 'string' ? __SIGSTORE_VERIFY_WORKER__ : undefined;
    return source ? new VerifierThread(source, trust) : undefined;
  }

  /** False once the worker failed: the caller then verifies in-process. */
  get usable(): boolean {
    return !this.failed;
  }

  verify(document: unknown, subject: PackageSubject): Promise<PackageVerification> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<PackageVerification>((resolve, reject) => {
      const label = `${subject.name}@${subject.version}`;
      try {
        // Cloning may throw (a document too deep or too large to clone): nothing was sent, so nothing is owed.
        worker.postMessage({ id, document, subject } satisfies VerifyRequest);
      } catch (error) {
        reject(new SigstorePluginError(ErrorCodes.INTERNAL, `${label}: the document could not be handed to the verification worker: ${(error as Error).message}`, { subject: label }));
        return;
      }
      this.pending.set(id, { label, resolve, reject });
      // Keep the process alive only while the worker owes an answer.
      if (this.pending.size === 1) worker.ref();
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.source, { eval: true, workerData: { trust: this.trust } });
    worker.on('message', (reply: VerifyReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(`the verification worker failed: ${error.message}`));
    worker.on('exit', (code) => this.fail(`the verification worker exited (code ${code})`));
    worker.unref();
    return (this.worker = worker);
  }

  private settle(reply: VerifyReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('result' in reply) return pending.resolve(reply.result);
    const { coded, code, message, subject, details } = reply.error;
    // Only the worker's own coded errors keep their code; anything else is internal, never a pass.
    pending.reject(
      coded && code
        ? new SigstorePluginError(code as SigstorePluginError['code'], message, { subject, details })
        : new SigstorePluginError(ErrorCodes.INTERNAL, `${pending.label}: ${message}`, { subject: pending.label }),
    );
  }

  private fail(message: string): void {
    this.failed = true;
    this.worker = undefined;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new SigstorePluginError(ErrorCodes.INTERNAL, `${pending.label}: ${message}`, { subject: pending.label }));
    }
  }
}
