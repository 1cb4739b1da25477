/**
 * `npm run test:unit` is the inner loop: the unit folders (vitest.config.ts)
 * must never start the real Yarn nor need the built bundle. A test that does
 * belongs in an e2e folder (any folder not listed as unit).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/fixtures';
import { UNIT_TEST_FOLDERS } from '../../vitest.config';

/** What only an end-to-end test reaches for: the Yarn runner and projects (testkit/yarn.ts), the e2e staging, the built plugin. */
const E2E_ONLY = [/\brunYarn\b/, /\bcreateYarnProject\b/, /\bYARN_BIN\b/, /\bstartE2eKit\b/, /\bstartAttackKit\b/, /bundles\/@yarnpkg/];

function sources(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return entry.endsWith('.ts') ? [path] : [];
  });
}

describe('the unit/e2e split', () => {
  it('no file in a unit folder reaches for the real Yarn or the built bundle', () => {
    const test = join(REPO_ROOT, 'test');
    const unitFiles = [...readdirSync(test).filter((entry) => entry.endsWith('.test.ts')).map((entry) => join(test, entry)), ...UNIT_TEST_FOLDERS.flatMap((folder) => sources(join(test, folder)))];
    expect(unitFiles.length).toBeGreaterThan(20);
    const offenders = unitFiles.filter((file) => file !== __filename).flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return E2E_ONLY.filter((pattern) => pattern.test(text)).map((pattern) => `${relative(REPO_ROOT, file)} matches ${pattern}: move it to an e2e folder`);
    });
    expect(offenders).toEqual([]);
  });
});
