/**
 * Attacks on the archives Yarn derives from a verified one: a `patch:`
 * package's zip (Yarn's built-in compat patches of `resolve`, `typescript` and
 * `fsevents` need no patch file at all, so nearly every TypeScript project has
 * one) replaced in a committed zero-install cache with its checksum edited in
 * yarn.lock. The patched zip must be bound to the verified base plus the patch
 * content, on both linkers, for `yarn install` and `yarn sigstore verify`.
 */
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { npath } from '@yarnpkg/fslib';
import { ZipFS } from '@yarnpkg/libzip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageTarball, sha512Hex, withPostinstallMarker } from '../../testkit/tarball';
import type { YarnProject, YarnResult } from '../../testkit/yarn';
import { FORGED_SCRIPT, expectRefused, freshMachine, markersWritten, policyOf, provenanceRule, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
  // A `resolve` whose lib/normalize-options.js is the one Yarn's built-in compat patch rewrites (resolve >= 1.9).
  await publishSigned(kit, { name: 'resolve', version: RESOLVE, files: [{ path: 'lib/normalize-options.js', content: RESOLVE_NORMALIZE_OPTIONS }] });
});
afterAll(async () => kit?.close());

const RESOLVE = '1.22.8';
const RESOLVE_NORMALIZE_OPTIONS = [
  'module.exports = function (x, opts) {',
  '    /**',
  "     * This file is purposefully a passthrough. It's expected that third-party",
  '     * environments will override it at runtime in order to inject special logic',
  '     * into `resolve` (by manipulating the options). One such example is the PnP',
  '     * code path in Yarn.',
  '     */',
  '',
  '    return opts || {};',
  '};',
  '',
].join('\n');
/** The lockfile entry of the compat-patched resolve. */
const COMPAT_RESOLVE = `resolve@patch:resolve@npm%3A${RESOLVE}#optional!builtin<compat/resolve>`;

const LINKERS = ['node-modules', 'pnp'] as const;
type Linker = (typeof LINKERS)[number];

/** A zero-install project (cache committed in .yarn/cache) on `linker`, under a provenance rule for each package. */
function zeroInstallProject(linker: Linker, dependencies: Record<string, string>, options: { head?: string[] } = {}): Promise<YarnProject> {
  const rules = Object.keys(dependencies).map((name) => provenanceRule(name));
  return kit.project({ dependencies, policy: policyOf(rules, options.head), yarnrc: 'enableGlobalCache: false', env: { YARN_NODE_LINKER: linker } });
}

/** What a fresh clone holds: no linker output, no install state, no marker. */
function clearLinked(p: YarnProject): void {
  for (const path of ['node_modules', '.pnp.cjs', '.pnp.loader.mjs', '.yarn/unplugged', '.yarn/install-state.gz']) rmSync(join(p.cwd, path), { recursive: true, force: true });
  rmSync(p.markers, { recursive: true, force: true });
}

/** The file `name`'s patched copy was written to by the linker (node_modules or the unplugged folder). */
function linkedFile(p: YarnProject, linker: Linker, name: string, file: string): string | undefined {
  if (linker === 'node-modules') return p.read(`node_modules/${name}/${file}`);
  const unplugged = join(p.cwd, '.yarn/unplugged');
  const folder = readdirSync(unplugged).find((entry) => entry.startsWith(`${name}-patch-`));
  return folder === undefined ? undefined : p.read(`.yarn/unplugged/${folder}/node_modules/${name}/${file}`);
}

function expectInstalledWith(p: YarnProject, result: YarnResult, name: string, version: string): void {
  expect(result.code, result.output).toBe(0);
  expect(p.markerExists(name, version), `${name}'s postinstall ran`).toBe(true);
  expect(markersWritten(p)).not.toContain('FORGED');
}

/** How many patched-zip bindings the user's record store holds. */
function patchBindingsRecorded(p: YarnProject): number {
  const stored = JSON.parse(readFileSync(join(p.cwd, '.yarn-global/sigstore/records.json'), 'utf8')) as { body: string };
  return Object.keys((JSON.parse(stored.body) as { bindings: Record<string, unknown> }).bindings).filter((key) => key.startsWith('patch:')).length;
}

/**
 * Replaces the cached zip of the lockfile entry `entryKey` (a patched package
 * whose postinstall runs postinstall-marker.js) by a copy running the
 * attacker's script, named as Yarn expects it, and makes yarn.lock vouch for it.
 */
function forgePatchedZip(p: YarnProject, entryKey: string, name: string): void {
  const lockfile = p.read('yarn.lock')!;
  const entryAt = lockfile.indexOf(`"${entryKey}`);
  expect(entryAt, `${entryKey} in yarn.lock`).toBeGreaterThan(-1);
  const genuine = /checksum: [^/\s]+\/([0-9a-f]{128})/.exec(lockfile.slice(entryAt))![1];
  const cache = join(p.cwd, '.yarn/cache');
  const zipName = readdirSync(cache).find((file) => file.endsWith(`-${genuine.slice(0, 10)}.zip`))!;
  const work = join(p.cwd, 'forged.zip');
  copyFileSync(join(cache, zipName), work);
  const zip = new ZipFS(npath.toPortablePath(work));
  zip.writeFileSync(npath.toPortablePath(`/node_modules/${name}/postinstall-marker.js`), FORGED_SCRIPT);
  zip.saveAndClose();
  const forged = sha512Hex(readFileSync(work));
  rmSync(join(cache, zipName));
  renameSync(work, join(cache, zipName.replace(genuine.slice(0, 10), forged.slice(0, 10))));
  p.write('yarn.lock', lockfile.replace(genuine, forged));
}

/** The three ways to consume a forged committed cache: CI's immutable install and CI's verify on a fresh machine, and the developer's own machine. */
const consumers: Array<[label: string, run: (p: YarnProject) => Promise<YarnResult>]> = [
  ['yarn install --immutable on a fresh CI machine', (p) => p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'install'))],
  ['yarn sigstore verify on a fresh CI machine', (p) => p.run(['sigstore', 'verify'], freshMachine(p, 'verify'))],
  ["yarn install on the developer's machine (its record store knows the genuine zip)", (p) => p.install()],
];

/** Refused, and on a project whose linker output was cleared: nothing linked, no script (the forged one least of all). */
function expectForgeryRefused(p: YarnProject, result: YarnResult, name: string): void {
  expectRefused(p, result, 'CACHE_BINDING_MISSING', { warm: [name] });
  expect(result.output).toMatch(/cached patched archive is not the one Yarn derives/);
}

describe.concurrent('archives Yarn derives from a verified one', () => {
  for (const linker of LINKERS) {
    consumers.forEach(([label, run]) => {
      it(`${linker}: a forged built-in compat patch zip (resolve) in a committed zero-install cache, ${label}`, async () => {
        const p = await zeroInstallProject(linker, { resolve: RESOLVE });
        expectInstalledWith(p, await p.install(), 'resolve', RESOLVE);
        forgePatchedZip(p, COMPAT_RESOLVE, 'resolve');
        clearLinked(p);
        const result = await run(p);
        expectForgeryRefused(p, result, 'resolve');
        expect(result.output).toContain(COMPAT_RESOLVE);
      });
    });

    it(`${linker}: control: the compat-patched resolve installs cold, warm, and from the committed cache on a fresh CI machine`, async () => {
      const p = await zeroInstallProject(linker, { resolve: RESOLVE });
      expectInstalledWith(p, await p.install(), 'resolve', RESOLVE);
      expect(linkedFile(p, linker, 'resolve', 'lib/normalize-options.js')).toContain('generated by Yarn');
      // Yarn built the patched zip from the gated base: the binding is recorded in the user's store.
      expect(patchBindingsRecorded(p)).toBe(1);
      // Warm: the same machine binds the cached patched zip from its record store.
      clearLinked(p);
      expectInstalledWith(p, await p.install(), 'resolve', RESOLVE);
      // A fresh CI machine: no record, so the patched zip is derived again from the verified base and found identical.
      clearLinked(p);
      const ci = await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'control'));
      expectInstalledWith(p, ci, 'resolve', RESOLVE);
      expect(linkedFile(p, linker, 'resolve', 'lib/normalize-options.js')).toContain('generated by Yarn');
      expect((await p.run(['sigstore', 'verify'], freshMachine(p, 'control-verify'))).code).toBe(0);
    });
  }

  it('control: the compat-patched fsevents of another platform is not installed and does not fail the install', async () => {
    const otherOs = process.platform === 'darwin' ? 'linux' : 'darwin';
    await publishSigned(kit, { name: 'fsevents', version: '2.3.3', extra: { os: [otherOs] } });
    const p = await zeroInstallProject('node-modules', { fsevents: '2.3.3' });
    const result = await p.install();
    expect(result.code, result.output).toBe(0);
    expect(p.read('yarn.lock')).toContain('fsevents@patch:fsevents@npm%3A2.3.3#optional!builtin<compat/fsevents>');
    expect(p.exists('node_modules/fsevents')).toBe(false);
    clearLinked(p);
    const ci = await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'fsevents'));
    expect(ci.code, ci.output).toBe(0);
  });

  /** A project whose resolve carries the user's own patch (made with `yarn patch` / `yarn patch-commit`), under the compat patch: nested patches. */
  async function userPatchedResolve(): Promise<YarnProject> {
    const p = await zeroInstallProject('node-modules', { resolve: RESOLVE });
    expectInstalledWith(p, await p.install(), 'resolve', RESOLVE);
    const extracted = await p.run(['patch', 'resolve']);
    const folder = /yarn patch-commit -s (\S+)/.exec(extracted.output)?.[1];
    expect(folder, extracted.output).toBeDefined();
    appendFileSync(join(folder!, 'index.js'), '// patched by the project\n');
    const committed = await p.run(['patch-commit', '-s', folder!]);
    expect(committed.code, committed.output).toBe(0);
    expectInstalledWith(p, await p.install(), 'resolve', RESOLVE);
    expect(p.read('node_modules/resolve/index.js')).toContain('patched by the project');
    expect(p.read('node_modules/resolve/lib/normalize-options.js')).toContain('generated by Yarn');
    return p;
  }
  /** The lockfile entries: the user's patch over the registry package, and the compat patch over that. */
  const USER_PATCH = `resolve@patch:resolve@npm%3A${RESOLVE}#~/.yarn/patches/`;
  const COMPAT_OVER_USER_PATCH = 'resolve@patch:resolve@patch%3A';

  for (const [which, entryKey] of [['the inner (user) patch', USER_PATCH], ['the outer (compat over user) patch', COMPAT_OVER_USER_PATCH]] as const) {
    it(`nested patches: ${which} zip forged in a committed zero-install cache`, async () => {
      const p = await userPatchedResolve();
      forgePatchedZip(p, entryKey, 'resolve');
      clearLinked(p);
      expectForgeryRefused(p, await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'nested')), 'resolve');
    });
  }

  it('control: a user patch made with yarn patch-commit (nested under the compat patch) installs warm and from the committed cache on a fresh CI machine', async () => {
    const p = await userPatchedResolve();
    clearLinked(p);
    expectInstalledWith(p, await p.install(), 'resolve', RESOLVE);
    clearLinked(p);
    expectInstalledWith(p, await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'user-control')), 'resolve', RESOLVE);
    expect(p.read('node_modules/resolve/index.js')).toContain('patched by the project');
  });

  /** A patch file turning the package's index.js export into `<label> (patched)`. */
  const indexPatch = (label: string) =>
    ['diff --git a/index.js b/index.js', '--- a/index.js', '+++ b/index.js', '@@ -1 +1 @@', `-module.exports = "${label}";`, `+module.exports = "${label} (patched)";`, ''].join('\n');

  /** Patches over other kinds of base: the dependency's range and the policy's head lines (given the base's tarball URL), the lockfile entry. */
  const wrappedBases = [
    { label: 'an npm: alias', name: 'dz-alias', base: 'dz-aliased', range: () => 'patch:dz-alias@npm%3Adz-aliased%401.0.0#./p.patch', head: (): string[] => [], entry: 'dz-alias@patch:dz-alias@npm%3Adz-aliased' },
    { label: 'a tarball URL the policy sources allow', name: 'dz-url', base: 'dz-url', range: (url: string) => `patch:${encodeURIComponent(`dz-url@${url}`)}#./p.patch`, head: (url: string) => ['sources:', '  tarball:', `    - { package: dz-url, url: "${url}" }`], entry: 'dz-url@patch:dz-url@' },
  ];
  for (const { label, name, base, range, head, entry } of wrappedBases) {
    it(`a patch over ${label}: the forged patched zip is refused, the genuine one installs on a fresh CI machine`, async () => {
      const staged = await publishSigned(kit, { name: base, version: '1.0.0' });
      const url = kit.registry.tarballUrl(staged.name, staged.version);
      const p = await zeroInstallProject('node-modules', { [name]: range(url) }, { head: head(url) });
      p.write('p.patch', indexPatch(`${base}@1.0.0`));
      expectInstalledWith(p, await p.install(), base, '1.0.0');
      expect(p.read(`node_modules/${name}/index.js`)).toContain('(patched)');
      clearLinked(p);
      expectInstalledWith(p, await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'control')), base, '1.0.0');
      forgePatchedZip(p, entry, name);
      clearLinked(p);
      expectForgeryRefused(p, await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'attack')), name);
    });
  }

  it('a file: tarball in the project: its cached zip is compared with the tarball; a forged one is refused on a fresh CI machine, the genuine one installs', async () => {
    const p = await zeroInstallProject('node-modules', { 'dz-file': 'file:./vendor/dz-file-1.0.0.tgz' });
    mkdirSync(join(p.cwd, 'vendor'));
    writeFileSync(join(p.cwd, 'vendor/dz-file-1.0.0.tgz'), buildPackageTarball(withPostinstallMarker({ name: 'dz-file', version: '1.0.0' })));
    expectInstalledWith(p, await p.install(), 'dz-file', '1.0.0');
    clearLinked(p);
    expectInstalledWith(p, await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'file-control')), 'dz-file', '1.0.0');
    forgePatchedZip(p, 'dz-file@file:./vendor/dz-file-1.0.0.tgz', 'dz-file');
    clearLinked(p);
    const result = await p.run(['install', '--immutable', '--immutable-cache'], freshMachine(p, 'file-attack'));
    expectRefused(p, result, 'CACHE_BINDING_MISSING', { warm: ['dz-file'] });
    expect(result.output).toMatch(/the cached archive is not the one Yarn makes from the tarball in the project/);
  });
});
