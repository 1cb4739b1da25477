/**
 * Attacks on the linked copies Yarn skips when they look installed: PnP's
 * unplugged folder holding `.ready`, a package `node_modules/.yarn-state.yml`
 * lists, a copy in the pnpm linker's store. Committed (or restored from a CI
 * cache) with an edited postinstall or an edited build output, they must not
 * run or load: a copy this machine did not link, or that changed since, is
 * extracted again from the verified zip and built again. The controls: the
 * same machine's warm install re-extracts and rebuilds nothing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_MIN_ENTRIES } from '../../src/linked/scan-thread';
import { markerFileName, type PackageSpec } from '../../testkit/tarball';
import type { YarnProject, YarnResult } from '../../testkit/yarn';
import { FORGED_SCRIPT, freshMachine, markersWritten, policyOf, provenanceRule, publishSigned, startAttackKit, type AttackKit, type Staged } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => kit?.close());

const LINKERS = ['node-modules', 'pnp', 'pnpm'] as const;
type Linker = (typeof LINKERS)[number];

/** An install script that writes build/out.js, as a native build writes its .node file. */
const BUILD_SCRIPT = "const fs = require('fs'); fs.mkdirSync('build', { recursive: true }); fs.writeFileSync('build/out.js', 'module.exports = \"built\";\\n');\n";
const withBuild = (spec: PackageSpec): PackageSpec => ({ ...spec, scripts: { install: 'node build.js' }, files: [{ path: 'build.js', content: BUILD_SCRIPT }] });

function linkedProject(linker: Linker, packages: Staged[]): Promise<YarnProject> {
  const dependencies = Object.fromEntries(packages.map((staged) => [staged.name, staged.version]));
  return kit.project({ dependencies, policy: policyOf(packages.map((staged) => provenanceRule(staged.name))), env: { YARN_NODE_LINKER: linker } });
}

/** The project-relative folder Yarn linked `name`'s copy into. */
function linkedCopy(p: YarnProject, linker: Linker, name: string): string {
  if (linker === 'node-modules') return `node_modules/${name}`;
  const [folder, below] = linker === 'pnp' ? ['.yarn/unplugged', `node_modules/${name}`] : ['node_modules/.store', 'package'];
  const slug = readdirSync(join(p.cwd, folder)).find((entry) => entry.startsWith(`${name}-npm-`));
  expect(slug, `${name}'s copy in ${folder}`).toBeDefined();
  return `${folder}/${slug}/${below}`;
}

const inodeOf = (p: YarnProject, relative: string): number => statSync(join(p.cwd, relative)).ino;

/** This machine's record of the project's last link step (its MAC is the plugin's to check; the test only reads it). */
function linkedRecord(p: YarnProject): { entries?: number } {
  const file = join(p.cwd, '.yarn-global/sigstore/linked', `${createHash('sha256').update(p.cwd).digest('hex')}.json`);
  return JSON.parse(JSON.parse(readFileSync(file, 'utf8')).body);
}

/** What a clone or restored cache holds: the linked output as committed; `keepState`: Yarn's install state too (builds then look done). */
function asCommitted(p: YarnProject, { keepState = false } = {}): void {
  if (!keepState) rmSync(join(p.cwd, '.yarn/install-state.gz'), { force: true });
  rmSync(p.markers, { recursive: true, force: true });
}

/** Installed, the package's own postinstall ran (it was built), the attacker's did not. */
function expectGenuine(p: YarnProject, result: YarnResult, staged: Staged): void {
  expect(result.code, result.output).toBe(0);
  expect(markersWritten(p)).not.toContain('FORGED');
  expect(p.markerExists(staged.name, staged.version), `${staged.name}'s own postinstall ran`).toBe(true);
}

const ciInstall = (p: YarnProject, label: string) => p.run(['install', '--immutable'], freshMachine(p, label));

describe.concurrent('linked copies Yarn would skip', () => {
  for (const linker of LINKERS) {
    it(`${linker}: a committed linked copy whose postinstall was edited, yarn install --immutable on a fresh CI machine`, async () => {
      const staged = await publishSigned(kit, { name: `lc-script-${linker}`, version: '1.0.0' });
      const p = await linkedProject(linker, [staged]);
      expectGenuine(p, await p.install(), staged);
      const copy = linkedCopy(p, linker, staged.name);
      p.write(`${copy}/postinstall-marker.js`, FORGED_SCRIPT);
      asCommitted(p);
      const result = await ciInstall(p, 'script');
      expectGenuine(p, result, staged);
      expect(markersWritten(p)).toEqual([markerFileName(staged.name, staged.version)]);
      expect(p.read(`${linkedCopy(p, linker, staged.name)}/postinstall-marker.js`)).not.toContain('FORGED');
      expect(result.output).toMatch(/was not linked by this machine \(this machine has no record of linking it with this linker: a commit, a cache restore, another linker.s output, or the first install with this plugin\)/);
    });

    it(`${linker}: a committed build output replaced, with the install state committed too (the build looks done), on a fresh CI machine`, async () => {
      const staged = await publishSigned(kit, withBuild({ name: `lc-build-${linker}`, version: '1.0.0' }));
      const p = await linkedProject(linker, [staged]);
      expectGenuine(p, await p.install(), staged);
      const output = `${linkedCopy(p, linker, staged.name)}/build/out.js`;
      expect(p.read(output)).toContain('"built"');
      p.write(output, 'module.exports = "TAMPERED";\n');
      asCommitted(p, { keepState: true });
      const result = await ciInstall(p, 'build');
      expectGenuine(p, result, staged);
      expect(p.read(`${linkedCopy(p, linker, staged.name)}/build/out.js`)).toContain('"built"');
    });

    it(`${linker}: on the developer's machine, a copy edited after this machine linked it is extracted and built again, the others are left alone`, async () => {
      const edited = await publishSigned(kit, { name: `lc-dev-${linker}`, version: '1.0.0' });
      const other = await publishSigned(kit, { name: `lc-dev-other-${linker}`, version: '1.0.0' });
      const p = await linkedProject(linker, [edited, other]);
      expect((await p.install()).code).toBe(0);
      const untouched = `${linkedCopy(p, linker, other.name)}/package.json`;
      const inode = inodeOf(p, untouched);
      // In place (same inode), the quietest edit; in the pnpm store, replaced as git would (an edit in place is the next case).
      const script = `${linkedCopy(p, linker, edited.name)}/postinstall-marker.js`;
      if (linker === 'pnpm') rmSync(join(p.cwd, script));
      p.write(script, FORGED_SCRIPT);
      rmSync(p.markers, { recursive: true, force: true });
      const result = await p.install();
      expectGenuine(p, result, edited);
      expect(p.read(`${linkedCopy(p, linker, edited.name)}/postinstall-marker.js`)).not.toContain('FORGED');
      expect(result.output).toMatch(new RegExp(`${edited.name}[^\\n]* changed since this machine linked it`));
      expect(result.output).not.toMatch(new RegExp(`${other.name}[^\\n]* changed since`));
      expect(inodeOf(p, untouched), `${other.name} was not extracted again`).toBe(inode);
    });

    it(`${linker}: control: a warm install on the machine that linked the copies extracts and builds nothing again`, async () => {
      const staged = await publishSigned(kit, withBuild({ name: `lc-warm-${linker}`, version: '1.0.0' }));
      const p = await linkedProject(linker, [staged]);
      expectGenuine(p, await p.install(), staged);
      const manifest = `${linkedCopy(p, linker, staged.name)}/package.json`;
      const inode = inodeOf(p, manifest);
      rmSync(p.markers, { recursive: true, force: true });
      const warm = await p.install();
      expect(warm.code, warm.output).toBe(0);
      expect(markersWritten(p), 'no build ran').toEqual([]);
      expect(inodeOf(p, manifest), 'not extracted again').toBe(inode);
      expect(warm.output).not.toMatch(/linked by this machine|changed since this machine/);
    });
  }

  it('node-modules: a node_modules large enough to be scanned on the worker thread: a copy edited after this machine linked it is extracted again, the others are left alone', async () => {
    const files = Array.from({ length: WORKER_MIN_ENTRIES }, (_, i) => ({ path: `data/${i}.js`, content: '' }));
    const large = await publishSigned(kit, { name: 'lc-large-node-modules', version: '1.0.0', files });
    const edited = await publishSigned(kit, { name: 'lc-large-edited-node-modules', version: '1.0.0' });
    const p = await linkedProject('node-modules', [large, edited]);
    expect((await p.install()).code).toBe(0);
    // The second install is the first to scan node_modules (in this thread): it records the count the third goes by.
    expect((await p.install()).code).toBe(0);
    expect(linkedRecord(p).entries, 'entries the last scan counted').toBeGreaterThanOrEqual(WORKER_MIN_ENTRIES);
    const untouched = `${linkedCopy(p, 'node-modules', large.name)}/data/0.js`;
    const inode = inodeOf(p, untouched);
    p.write(`${linkedCopy(p, 'node-modules', edited.name)}/postinstall-marker.js`, FORGED_SCRIPT);
    rmSync(p.markers, { recursive: true, force: true });
    const result = await p.install();
    expectGenuine(p, result, edited);
    expect(p.read(`${linkedCopy(p, 'node-modules', edited.name)}/postinstall-marker.js`)).not.toContain('FORGED');
    expect(result.output).toMatch(new RegExp(`${edited.name}[^\\n]* changed since this machine linked it`));
    expect(result.output).not.toMatch(new RegExp(`${large.name}[^\\n]* changed since`));
    expect(inodeOf(p, untouched), `${large.name} was not extracted again`).toBe(inode);
  });

  it("pnpm: a store file edited in place changes Yarn's shared index too (hard links): the index is dropped, every copy linked from it is extracted again", async () => {
    const edited = await publishSigned(kit, { name: 'lc-index-pnpm', version: '1.0.0' });
    const other = await publishSigned(kit, { name: 'lc-index-other-pnpm', version: '1.0.0' });
    const p = await linkedProject('pnpm', [edited, other]);
    expect((await p.install()).code).toBe(0);
    // Both packages' postinstall-marker.js have the same content: one inode in the index, linked into both copies.
    p.write(`${linkedCopy(p, 'pnpm', edited.name)}/postinstall-marker.js`, FORGED_SCRIPT);
    expect(p.read(`${linkedCopy(p, 'pnpm', other.name)}/postinstall-marker.js`)).toContain('FORGED');
    rmSync(p.markers, { recursive: true, force: true });
    const result = await p.install();
    expectGenuine(p, result, edited);
    expectGenuine(p, result, other);
    for (const staged of [edited, other]) expect(p.read(`${linkedCopy(p, 'pnpm', staged.name)}/postinstall-marker.js`)).not.toContain('FORGED');
  });

  it('node-modules: nmMode hardlinks-global (a store shared through the global folder) is used as hardlinks-local and says so; the warm install extracts nothing again', async () => {
    const staged = await publishSigned(kit, { name: 'lc-global-store', version: '1.0.0' });
    const p = await kit.project({ dependencies: { [staged.name]: staged.version }, policy: policyOf([provenanceRule(staged.name)]), yarnrc: 'nmMode: hardlinks-global' });
    const cold = await p.install();
    expectGenuine(p, cold, staged);
    expect(cold.output).toContain('this install uses hardlinks-local');
    expect(p.read('node_modules/.yarn-state.yml')).toContain('nmMode: hardlinks-local');
    const inode = inodeOf(p, `node_modules/${staged.name}/package.json`);
    rmSync(p.markers, { recursive: true, force: true });
    const warm = await p.install();
    expect(warm.code, warm.output).toBe(0);
    expect(markersWritten(p)).toEqual([]);
    expect(inodeOf(p, `node_modules/${staged.name}/package.json`)).toBe(inode);
  });
});
