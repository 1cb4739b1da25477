/**
 * Settings a committed rc file takes from a variable (`${VAR}`) are the
 * environment's: found whether the variable is written plainly or through a
 * YAML escape, and a file that cannot interpolate anything is not parsed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentChoices } from '../../src/yarn/overrides';
import type { SigstoreSettings } from '../../src/yarn/settings';

const folder = mkdtempSync(join(tmpdir(), 'sigstore-overrides-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The settings Yarn would read from an rc file with this text, the trusted root path taken from it. */
function settingsFrom(name: string, text: string): SigstoreSettings {
  const file = join(folder, name);
  writeFileSync(file, text);
  return { fromEnvironment: [], fromRcFiles: [{ key: 'sigstoreTrustedRootPath', file, value: '/ci/root.json' }] } as unknown as SigstoreSettings;
}

describe('committed settings that interpolate a variable', () => {
  it('are the environment\'s, written plainly or through a YAML escape of the dollar sign', () => {
    for (const [name, text] of [
      ['plain.yml', 'sigstoreTrustedRootPath: "${CI_ROOT}"\n'],
      ['escaped.yml', 'sigstoreTrustedRootPath: "\\x24{CI_ROOT}"\n'],
      ['unicode.yml', 'sigstoreTrustedRootPath: "\\u0024{CI_ROOT}"\n'],
    ]) {
      expect(environmentChoices(settingsFrom(name, text)), name).toEqual([{ key: 'sigstoreTrustedRootPath', variable: `\${CI_ROOT} in ${name}`, value: '/ci/root.json' }]);
    }
  });

  it('is the value Yarn reads of a key given twice: the last one', () => {
    expect(environmentChoices(settingsFrom('twice.yml', 'sigstoreTrustedRootPath: ./root.json\nsigstoreTrustedRootPath: "${CI_ROOT}"\n'))).toEqual([{ key: 'sigstoreTrustedRootPath', variable: '${CI_ROOT} in twice.yml', value: '/ci/root.json' }]);
    expect(environmentChoices(settingsFrom('twice-committed-last.yml', 'sigstoreTrustedRootPath: "${CI_ROOT}"\nsigstoreTrustedRootPath: ./root.json\n'))).toEqual([]);
  });

  it('none in a file whose values name no variable', () => {
    expect(environmentChoices(settingsFrom('committed.yml', 'sigstoreTrustedRootPath: ./root.json\nnpmRegistryServer: "https://registry.example"\n'))).toEqual([]);
    expect(environmentChoices(settingsFrom('literal.yml', "sigstoreTrustedRootPath: './a$b{c}'\n"))).toEqual([]);
  });
});
