/** A temporary folder holding the given files, each containing its own relative path (the linked-copies tests' trees). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function fileTree(files: string[], prefix = 'file-tree-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), file);
  }
  return root;
}
