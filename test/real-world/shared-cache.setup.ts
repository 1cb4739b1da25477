/**
 * Global setup: one Yarn zip cache for every real-world stack of the run
 * (vitest runs the stacks' files in separate workers), removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
// The type of the provided folder (ProvidedContext) is declared there.
import type {} from '../../testkit/real-world';

export default function setup(project: TestProject): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'sigstore-real-world-cache-'));
  project.provide('realWorldYarnCache', folder);
  return () => rmSync(folder, { recursive: true, force: true });
}
