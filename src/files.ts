/**
 * The files a project or a user names (sigstore.lock, the evidence file, a
 * bundle directory's documents): anything that stops a read or a write (a
 * directory where a file belongs, no permission) is a coded error naming the
 * path, never a bare EISDIR.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import { SigstorePluginError, type ErrorCode } from './errors';

export interface NamedFile {
  path: string;
  /** What the file is, for the message (`sigstore.lock`, `the evidence file`). */
  what: string;
  /** The error code a failure carries. */
  code: ErrorCode;
}

function unusable(file: NamedFile, action: 'read' | 'written', error: unknown): SigstorePluginError {
  const cause = (error as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a directory, not a file' : (error as Error).message;
  return new SigstorePluginError(file.code, `${file.what} ${file.path} cannot be ${action}: ${cause}`, { cause: error });
}

/** The file's content; a missing file is an error too. */
export function readNamedFile(file: NamedFile): Buffer {
  try {
    return readFileSync(file.path);
  } catch (error) {
    throw unusable(file, 'read', error);
  }
}

/** The file's content; null when there is none. */
export function readOptionalFile(file: NamedFile): Buffer | null {
  try {
    return readFileSync(file.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw unusable(file, 'read', error);
  }
}

/** Writes the file, making its folder. */
export function writeNamedFile(file: NamedFile, content: string): void {
  try {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, content);
  } catch (error) {
    throw unusable(file, 'written', error);
  }
}
