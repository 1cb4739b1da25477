/**
 * The worker side of worker-thread.ts: answers every request it receives,
 * with the handler's result or its error (a SigstorePluginError keeps its
 * code, message, subject and details), and with an error when the result
 * cannot be cloned back: the main thread waits for every id.
 */
import { parentPort } from 'worker_threads';
import type { WorkerError, WorkerReply } from './worker-thread';

export function serve<Request, Result>(handle: (request: Request) => Result): void {
  // No stack traces in this thread: replies carry code and message only.
  Error.stackTraceLimit = 0;
  parentPort!.on('message', (request: Request & { id: number }) => {
    const { id } = request;
    let reply: WorkerReply<Result>;
    try {
      reply = { id, result: handle(request) };
    } catch (error) {
      reply = { id, error: crossing(error) };
    }
    try {
      parentPort!.postMessage(reply);
    } catch (error) {
      parentPort!.postMessage({ id, error: { coded: false, message: `the result could not be returned: ${String((error as Error)?.message ?? error)}` } } satisfies WorkerReply<Result>);
    }
  });
}

function crossing(error: unknown): WorkerError {
  const coded = error as { name?: string; code?: string; message?: string; subject?: string; details?: Record<string, unknown> };
  return { coded: coded?.name === 'SigstorePluginError', code: coded?.code, message: String(coded?.message ?? error), subject: coded?.subject, details: coded?.details };
}
