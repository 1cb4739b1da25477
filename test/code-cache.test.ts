/**
 * V8's code cache of the plugin's lazy part (src/code-cache.ts): a cache is
 * bytecode that V8 runs unchecked, so it is taken only under this user's
 * record key and for the very source it was made from.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeCacheFile, compileWithCodeCache, INSTALL_FLAG, moduleScript, noteInstall, sealCodeCache, sourceDigest } from '../src/code-cache';
import { userRecordKey } from '../src/install/record-files';

/**
 * A source and an impostor of the same length (V8 takes a cache made from one
 * for the other), new to this process: V8 answers a source it compiled
 * before from its own in-memory cache, whatever cache data it is given.
 */
function sources() {
  const nonce = randomBytes(6).toString('hex');
  return { SOURCE: `module.exports.answer = () => 'genuine ${nonce}';`, IMPOSTOR: `module.exports.answer = () => 'IMPOSTR ${nonce}';` };
}
const { SOURCE, IMPOSTOR } = sources();

let folder: string;
let savedConfigHome: string | undefined;
let key: Buffer;

beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'code-cache-'));
  folder = join(root, 'code');
  savedConfigHome = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = join(root, 'config');
  key = userRecordKey()!;
});
afterAll(() => {
  if (savedConfigHome === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = savedConfigHome;
});

/** What the compiled module answers, without its nonce. */
function answerOf(run: ReturnType<typeof compileWithCodeCache>['run']): string {
  const module = { exports: {} as { answer?: () => string } };
  run(module, module.exports, require, undefined, undefined);
  return module.exports.answer!().split(' ')[0];
}

/** V8's own cache data for a source, made as the plugin makes it: after running it (with its functions compiled). */
function v8Data(source: string): Buffer {
  const script = new Script(moduleScript(source));
  const module = { exports: {} as { answer?: () => string } };
  (script.runInThisContext() as Function)(module, module.exports, require);
  module.exports.answer!();
  return script.createCachedData();
}

const fileOf = (source: string) => codeCacheFile(folder, 'test-lazy', sourceDigest(source));

describe('the code cache of a compiled source', () => {
  it('is written on save and used by the next compilation of the same source', () => {
    const first = compileWithCodeCache(SOURCE, 'test-lazy', folder);
    expect(first.state).toBe('missing');
    expect(answerOf(first.run)).toBe('genuine');
    first.save();
    expect(readdirSync(folder)).toEqual([fileOf(SOURCE).slice(folder.length + 1)]);
    const second = compileWithCodeCache(SOURCE, 'test-lazy', folder);
    expect(second.state).toBe('used');
    expect(answerOf(second.run)).toBe('genuine');
  });

  it("V8 alone runs another source's bytecode when the lengths match: what the MAC's source digest is for", () => {
    const { SOURCE, IMPOSTOR } = sources();
    expect(IMPOSTOR.length).toBe(SOURCE.length);
    const script = new Script(moduleScript(SOURCE), { cachedData: v8Data(IMPOSTOR) });
    expect(script.cachedDataRejected).toBe(false);
    const module = { exports: {} as { answer?: () => string } };
    (script.runInThisContext() as Function)(module, module.exports, require);
    expect(module.exports.answer!()).toMatch(/^IMPOSTR /);
  });

  const forgeries: Array<[label: string, bytes: () => Buffer]> = [
    ['bytecode of another source sealed under this user\'s key for that source (a cache of another plugin version, renamed)', () => sealCodeCache(key, sourceDigest(IMPOSTOR), 0, v8Data(IMPOSTOR))],
    ["bytecode of another source sealed under another machine's key", () => sealCodeCache(randomBytes(32), sourceDigest(SOURCE), 0, v8Data(IMPOSTOR))],
    ['a genuine cache with one byte of its data changed', () => {
      const genuine = sealCodeCache(key, sourceDigest(SOURCE), 0, v8Data(SOURCE));
      genuine[genuine.length - 1] ^= 1;
      return genuine;
    }],
    ['a genuine cache with its flags changed', () => {
      const genuine = sealCodeCache(key, sourceDigest(SOURCE), 0, v8Data(SOURCE));
      genuine[32] = INSTALL_FLAG;
      return genuine;
    }],
    ['a file too short to hold a MAC', () => Buffer.from('short')],
  ];
  it.each(forgeries)('refuses %s, compiles the source itself and writes its own cache on save', (_label, bytes) => {
    writeFileSync(fileOf(SOURCE), bytes());
    const compiled = compileWithCodeCache(SOURCE, 'test-lazy', folder);
    expect(compiled.state).toBe('invalid');
    expect(answerOf(compiled.run)).toBe('genuine');
    compiled.save();
    expect(compileWithCodeCache(SOURCE, 'test-lazy', folder).state).toBe('used');
  });

  it('control: the impostor sealed under this user\'s key for this source is taken (the key and digest are all that stand in the way)', () => {
    const { SOURCE, IMPOSTOR } = sources();
    writeFileSync(fileOf(SOURCE), sealCodeCache(key, sourceDigest(SOURCE), 0, v8Data(IMPOSTOR)));
    const compiled = compileWithCodeCache(SOURCE, 'test-lazy', folder);
    expect(compiled.state).toBe('used');
    expect(answerOf(compiled.run)).toBe('IMPOSTR');
  });

  it("writes a new source's cache in place of the older one of the same name", () => {
    const other = "module.exports.answer = () => 'a newer version';";
    const compiled = compileWithCodeCache(other, 'test-lazy', folder);
    expect(compiled.state).toBe('missing');
    compiled.save();
    expect(readdirSync(folder)).toEqual([fileOf(other).slice(folder.length + 1)]);
  });

  it('a cache that cannot be written costs nothing but the compilation', () => {
    const unwritable = join(folder, 'not-a-folder');
    writeFileSync(unwritable, '');
    const compiled = compileWithCodeCache(SOURCE, 'test-lazy', join(unwritable, 'code'));
    expect(answerOf(compiled.run)).toBe('genuine');
    expect(() => compiled.save()).not.toThrow();
    expect(compileWithCodeCache(SOURCE, 'test-lazy', join(unwritable, 'code')).state).toBe('missing');
  });

  it('a cache written by a process that ran no install is written again by one that does (with the install\'s functions)', () => {
    const source = "module.exports.answer = () => 'install';";
    compileWithCodeCache(source, 'test-install', folder).save();
    const path = codeCacheFile(folder, 'test-install', sourceDigest(source));
    expect(readFileSync(path)[32]).toBe(0);
    const used = compileWithCodeCache(source, 'test-install', folder);
    expect(used.state).toBe('used');
    used.save();
    expect(readFileSync(path)[32]).toBe(0);
    noteInstall();
    used.save();
    expect(readFileSync(path)[32]).toBe(INSTALL_FLAG);
    expect(compileWithCodeCache(source, 'test-install', folder).state).toBe('used');
  });
});
