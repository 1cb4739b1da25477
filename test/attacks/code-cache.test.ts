/**
 * An attacker who can write the user's cache folder (a poisoned CI cache of
 * `~/.cache`) plants bytecode for the plugin's lazy part: V8 runs a code
 * cache unchecked, and takes one made from any source of the same length. The
 * plugin takes a cache only under the user's record key (outside every cache
 * folder), for the very source it compiles (src/code-cache.ts).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAZY_SOURCE } from '../../scripts/lazy-split';
import { INSTALL_FLAG, moduleScript, sealCodeCache, sourceDigest } from '../../src/code-cache';
import { PLUGIN_BUNDLE, type YarnProject } from '../../testkit/yarn';
import { clearInstallOutput, expectInstalled, FORGED_SCRIPT, markersWritten, projectFor, publishSigned, startAttackKit, userRecordKey, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
let lazySource: string;
beforeAll(async () => {
  kit = await startAttackKit();
  const declaration = readFileSync(PLUGIN_BUNDLE, 'utf8').match(new RegExp(`^var ${LAZY_SOURCE} = (".*");$`, 'm'));
  if (!declaration) throw new Error(`${PLUGIN_BUNDLE} declares no ${LAZY_SOURCE}`);
  lazySource = JSON.parse(declaration[1]) as string;
});
afterAll(async () => kit?.close());

/** The attacker's lazy part: the same length as the real one, it leaves the FORGED marker. */
function evilSource(): string {
  const evil = `${FORGED_SCRIPT}module.exports.modules = {};`;
  expect(evil.length).toBeLessThan(lazySource.length);
  return evil.padEnd(lazySource.length, ' ');
}

/** V8's cache data of the evil source, made by a Node run as Yarn is (V8 refuses a cache made under other flags). */
function evilCacheData(): Buffer {
  const scratch = mkdtempSync(join(tmpdir(), 'code-cache-attack-'));
  const maker = join(scratch, 'make-cache.js');
  writeFileSync(join(scratch, 'script.js'), moduleScript(evilSource()));
  writeFileSync(maker, [
    "const { readFileSync, writeFileSync } = require('fs');",
    "const script = new (require('vm').Script)(readFileSync(__dirname + '/script.js', 'utf8'));",
    'script.runInThisContext()({ exports: {} }, {}, require);',
    "writeFileSync(__dirname + '/evil.bin', script.createCachedData());",
  ].join('\n'));
  const output = join(scratch, 'evil.bin');
  const made = spawnSync(process.execPath, [maker], { env: { ...process.env, SIGSTORE_TEST_MARKER_DIR: join(scratch, 'markers') }, encoding: 'utf8' });
  expect(made.status, made.stderr || made.error?.message).toBe(0);
  return readFileSync(output);
}

/** The lazy part's cache file: HOME is the project in the test kit, so `~/.cache/yarn-plugin-sigstore/code/`. */
function cacheFile(p: YarnProject): string {
  const folder = join(p.cwd, '.cache/yarn-plugin-sigstore/code');
  const files = readdirSync(folder);
  expect(files).toHaveLength(1);
  return join(folder, files[0]);
}


type Seal = (p: YarnProject, genuine: Buffer, evil: Buffer) => Buffer;

/** How the planted bytecode is sealed: only the last has the user's key, which no cache restore carries. */
const forgeries: Array<[label: string, seal: Seal, honoured: boolean]> = [
  ["sealed under another machine's key", (_p, _genuine, evil) => sealCodeCache(randomBytes(32), sourceDigest(lazySource), INSTALL_FLAG, evil), false],
  ['the genuine MAC and flags kept', (_p, genuine, evil) => Buffer.concat([genuine.subarray(0, 33), evil]), false],
  ["control: sealed under this user's own record key (out of an attacker's reach)", (p, _genuine, evil) => sealCodeCache(userRecordKey(p), sourceDigest(lazySource), INSTALL_FLAG, evil), true],
];

describe.concurrent("planted bytecode for the plugin's lazy part", () => {
  forgeries.forEach(([label, seal, honoured], index) => {
    it(`a restored cache folder with bytecode ${label}`, async () => {
      const staged = await publishSigned(kit, { name: `code-cache-${index}`, version: '1.0.0' });
      const p = await projectFor(kit, staged);
      expectInstalled(p, await p.install(), staged.name, staged.version);
      const file = cacheFile(p);
      const genuine = readFileSync(file);
      writeFileSync(file, seal(p, genuine, evilCacheData()));
      clearInstallOutput(p);
      const result = await p.install();
      if (honoured) {
        // Taken, the bytecode runs in Yarn's process before anything is verified: what the MAC is for.
        expect(markersWritten(p)).toContain('FORGED');
        return;
      }
      expectInstalled(p, result, staged.name, staged.version);
      expect(markersWritten(p)).not.toContain('FORGED');
      // The planted file was replaced by this process's own cache, under the user's key.
      const rewritten = readFileSync(file);
      expect(rewritten.subarray(0, 32)).toEqual(sealCodeCache(userRecordKey(p), sourceDigest(lazySource), rewritten[32], rewritten.subarray(33)).subarray(0, 32));
    });
  });
});
