import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Two projects, split by folder (docs/development.md):
 * - `unit`: the folders listed here, whose tests never spawn Yarn and need no
 *   build (`npm run test:unit`, the inner loop);
 * - `e2e`: every other test file, so a new folder (e.g. `test/real-world/`)
 *   runs with the end-to-end tests unless it is listed here on purpose
 *   (`npm run test:e2e`, after a build). `test/build/test-split.test.ts`
 *   checks that no unit folder reaches for the real Yarn.
 */
export const UNIT_TEST_FOLDERS = ['build', 'fuzz', 'install', 'linked', 'net', 'pins', 'policy', 'report', 'sources', 'testkit', 'trust', 'verify', 'yarn'];
const unitGlobs = ['test/*.test.ts', ...UNIT_TEST_FOLDERS.map((folder) => `test/${folder}/**/*.test.ts`)];

export default defineConfig({
  test: {
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    // End-to-end tests spawn the real Yarn against a loopback registry: give them room.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One test file per core, not vitest's default of one fewer: most of an end-to-end test is spent waiting for the
    // Yarn it spawned. On the 2-core CI machine `npm test` took 15-16 min with one file at a time, 11 min with two.
    maxWorkers: availableParallelism(),
    projects: [
      { extends: true, test: { name: 'unit', include: unitGlobs } },
      // One Yarn zip cache shared by the real-world stacks (test/real-world).
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'], exclude: unitGlobs, globalSetup: ['./test/real-world/shared-cache.setup.ts'] } },
    ],
  },
});
