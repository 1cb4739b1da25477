/**
 * Yarn's offline settings as the attestation sources apply them
 * (src/yarn/offline.ts), on Yarn's own Configuration read from a
 * .yarnrc.yml: each host and each configuration answers for itself, also
 * when the answer is remembered between calls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { afterAll, describe, expect, it } from 'vitest';
import { isOffline, networkRefusal } from '../../src/yarn/offline';

const dir = mkdtempSync(join(tmpdir(), 'sigstore-offline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configurationWith(lines: string[]): Promise<Configuration> {
  const cwd = mkdtempSync(join(dir, 'project-'));
  writeFileSync(join(cwd, 'package.json'), '{"name":"root","private":true}');
  writeFileSync(join(cwd, '.yarnrc.yml'), [...lines, ''].join('\n'));
  return Configuration.find(npath.toPortablePath(cwd), null, { strict: false });
}

describe('networkRefusal', () => {
  it('refuses only the host whose networkSettings disable the network, on every call', async () => {
    const configuration = await configurationWith(['networkSettings:', '  "*.internal.example":', '    enableNetwork: false']);
    for (let call = 0; call < 2; call++) {
      expect(networkRefusal(configuration, 'https://registry.npmjs.org/left-pad')).toBeUndefined();
      expect(networkRefusal(configuration, 'https://npm.internal.example/left-pad')).toBe('enableNetwork is false for npm.internal.example');
      expect(networkRefusal(configuration, 'https://npm.internal.example:8443/-/npm/v1/attestations/x@1.0.0')).toBe('enableNetwork is false for npm.internal.example');
    }
    expect(isOffline(configuration, ['https://registry.npmjs.org', undefined])).toBe(false);
    expect(isOffline(configuration, ['https://registry.npmjs.org', 'https://npm.internal.example'])).toBe(true);
  });

  it('answers each configuration by its own settings (a host allowed by one is refused by another)', async () => {
    const open = await configurationWith([]);
    const closed = await configurationWith(['enableNetwork: false']);
    const offline = await configurationWith(['enableOfflineMode: true']);
    const url = 'https://registry.npmjs.org/left-pad';
    expect(networkRefusal(open, url)).toBeUndefined();
    expect(networkRefusal(closed, url)).toBe('enableNetwork is false for registry.npmjs.org');
    expect(networkRefusal(offline, url)).toBe('enableOfflineMode is set');
    expect(networkRefusal(open, url)).toBeUndefined();
  });
});
