/** Deadline, size cap and parsing shared by every bundle source: each failure names the package and the URL. */
import { ErrorCodes, SigstorePluginError } from '../errors';

export async function withDeadline<T>(work: Promise<T>, ms: number, subject: string, url: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(sourceError(subject, url, `no complete answer within ${ms} ms`)), ms);
  });
  // A late rejection of the abandoned request must not surface as an unhandled rejection.
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function parseJsonBody(body: Buffer, maxBytes: number, subject: string, url: string): unknown {
  if (body.length > maxBytes) throw sourceError(subject, url, `answer of ${body.length} bytes exceeds the ${maxBytes}-byte limit`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw sourceError(subject, url, 'answer is not valid JSON', error);
  }
}

export function sourceError(subject: string, url: string, cause: string, error?: unknown): SigstorePluginError {
  const detail = error instanceof Error && !(error instanceof SigstorePluginError) ? `: ${error.message}` : '';
  return new SigstorePluginError(ErrorCodes.SOURCE_FETCH_FAILED, `${subject}: fetching ${url} failed: ${cause}${detail}`, {
    subject,
    cause: error,
    details: { url },
  });
}
