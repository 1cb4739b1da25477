/**
 * A worker thread answering requests by id, for the work the install hands
 * off Yarn's main thread: bundle verification (verify.ts) and packument
 * reading (packument-thread.ts). Its code is embedded in the plugin as a
 * string at build time (scripts/build-plugin.ts); the thread starts with its
 * first request, so an install that asks nothing starts none.
 *
 * Every request is answered: the worker's result, its coded error rebuilt
 * here with the same code and message, or, when the worker cannot start,
 * fails or exits, an INTERNAL error naming the package. Never a pass, never
 * a wait for an answer that cannot come.
 */
import { Worker } from 'worker_threads';
import { ErrorCodes, SigstorePluginError } from '../errors';

/** An error as it crosses the thread boundary: only the worker's own SigstorePluginError keeps a code. */
export interface WorkerError {
  coded: boolean;
  code?: string;
  message: string;
  subject?: string;
  details?: Record<string, unknown>;
}

export type WorkerReply<R> = { id: number; result: R } | { id: number; error: WorkerError };

interface Pending<R> {
  /** `name@version`, for errors the worker could not code. */
  label: string;
  resolve: (result: R) => void;
  reject: (error: SigstorePluginError) => void;
}

export class WorkerThread<Request extends object, Result> {
  private worker?: Worker;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending<Result>>();

  /** `name`: the worker as errors call it ("the verification worker"). */
  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly workerData?: unknown,
  ) {}

  /** False once the worker failed (or could not start): the caller then does the work in-process. */
  get usable(): boolean {
    return !this.failed;
  }

  /** Requests sent and not answered yet. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Sends `request` for the package `label`. `transfer`: memory handed over
   * with it (detached here). A request that cannot be cloned is rejected and
   * leaves nothing pending.
   */
  protected send(label: string, request: Request, transfer: ArrayBuffer[] = []): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const internal = (message: string) => reject(new SigstorePluginError(ErrorCodes.INTERNAL, `${label}: ${message}`, { subject: label }));
      let worker: Worker;
      try {
        worker = this.start();
      } catch (error) {
        this.failed = true;
        return internal(`${this.name} could not start: ${(error as Error)?.message ?? String(error)}`);
      }
      const id = this.nextId++;
      try {
        worker.postMessage({ ...request, id }, transfer);
      } catch (error) {
        return internal(`the document could not be handed to ${this.name}: ${(error as Error)?.message ?? String(error)}`);
      }
      this.pending.set(id, { label, resolve, reject });
      // Keep the process alive only while the worker owes an answer.
      if (this.pending.size === 1) worker.ref();
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.source, { eval: true, workerData: this.workerData });
    worker.on('message', (reply: WorkerReply<Result>) => this.settle(reply));
    worker.on('error', (error) => this.fail(worker, `${this.name} failed: ${error.message}`));
    worker.on('exit', (code) => this.fail(worker, `${this.name} exited (code ${code})`));
    worker.unref();
    return (this.worker = worker);
  }

  private settle(reply: WorkerReply<Result>): void {
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

  private fail(worker: Worker, message: string): void {
    // 'error' is followed by 'exit': the first one answers.
    if (this.worker !== worker) return;
    this.failed = true;
    this.worker = undefined;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new SigstorePluginError(ErrorCodes.INTERNAL, `${pending.label}: ${message}`, { subject: pending.label }));
    }
  }
}
