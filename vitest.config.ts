import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    // End-to-end tests spawn the real Yarn against a loopback registry: give them room.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
