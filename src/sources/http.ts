/** Size cap and parsing shared by every bundle source: each failure names the package and the URL. */
import { ErrorCodes, SigstorePluginError } from '../errors';

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
