/**
 * The files an install reads or writes besides the cache: sigstore.lock
 * edited to disagree with what the install verifies, and files of the
 * project or the user that are not files at all (a directory in their
 * place). Each must end in a coded error naming the file, never a pass and
 * never a bare EISDIR.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearInstallOutput, expectInstalled, expectRefused, projectFor, publishSigned, repositoryOf, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => kit?.close());

describe.concurrent('sigstore.lock against what the install verified', () => {
  for (const immutable of [true, false]) {
    it(`an entry edited to name another repository for an installed version (${immutable ? 'yarn install --immutable' : 'yarn install'})`, async () => {
      const staged = await publishSigned(kit, { name: `cf-pin-edit-${immutable ? 'ci' : 'dev'}`, version: '1.0.0' });
      const p = await projectFor(kit, staged);
      expectInstalled(p, await p.install(), staged.name, staged.version);
      const genuine = `https://github.com/${repositoryOf(staged.name)}`;
      const lock = p.read('sigstore.lock')!;
      expect(lock).toContain(genuine);
      const edited = lock.replace(genuine, `https://github.com/evil/${staged.name}`);
      p.write('sigstore.lock', edited);
      clearInstallOutput(p);
      const result = await p.run(immutable ? ['install', '--immutable'] : ['install']);
      expectRefused(p, result, 'PIN_LOCK_DISAGREES', { warm: [staged.name] });
      expect(result.output).toContain(`the entry of ${staged.name} says identity.repository https://github.com/evil/${staged.name}, but this install verified ${genuine} for ${staged.name}@1.0.0`);
      expect(result.output).toContain(`yarn sigstore pin update ${staged.name} --reason`);
      // The false value is not kept silently, nor replaced behind the reviewer's back.
      expect(p.read('sigstore.lock')).toBe(edited);
    });
  }

  it('control: the genuine lock installs with --immutable; `pin update` accepts the verified value on purpose', async () => {
    const staged = await publishSigned(kit, { name: 'cf-pin-control', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    clearInstallOutput(p);
    expectInstalled(p, await p.run(['install', '--immutable']), staged.name, staged.version);
    const genuine = `https://github.com/${repositoryOf(staged.name)}`;
    p.write('sigstore.lock', p.read('sigstore.lock')!.replace(genuine, `https://github.com/evil/${staged.name}`));
    const update = await p.run(['sigstore', 'pin', 'update', staged.name, '--reason', 'restore the verified signer']);
    expect(update.code, update.output).toBe(0);
    clearInstallOutput(p);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    expect(p.read('sigstore.lock')).toContain(genuine);
    expect(p.read('sigstore.lock')).not.toContain('evil/');
  });
});

describe.concurrent('a directory where a file belongs', () => {
  /** Puts a directory where the install expects a file; returns extra .yarnrc.yml lines. */
  type Stage = (cwd: string, name: string) => string | undefined;
  const folder = (path: string) => mkdirSync(path, { recursive: true });
  const cases: Array<[what: string, code: string, message: RegExp, stage: Stage]> = [
    ['sigstore.lock', 'PIN_LOCK_INVALID', /sigstore\.lock \S+ cannot be read: it is a directory/, (cwd) => void folder(join(cwd, 'sigstore.lock'))],
    ['the evidence file', 'EVIDENCE_UNWRITABLE', /the evidence file \S+ cannot be written: it is a directory/, (cwd) => void folder(join(cwd, '.yarn/sigstore-evidence.json'))],
    ['the evidence path setting', 'EVIDENCE_UNWRITABLE', /the evidence file \S+evidence-folder cannot be written: it is a directory/, (cwd) => (folder(join(cwd, 'evidence-folder')), `sigstoreEvidencePath: "${join(cwd, 'evidence-folder')}"`)],
    ['the policy file', 'POLICY_INVALID', /sigstore-policy\.yml.*EISDIR|sigstore-policy\.yml[^\n]*directory/, (cwd) => (rmSync(join(cwd, 'sigstore-policy.yml')), void folder(join(cwd, 'sigstore-policy.yml')))],
    ['the trusted root path', 'TRUSTED_ROOT_INVALID', /the trusted root file \S*root-folder cannot be read: it is a directory/, (cwd) => (folder(join(cwd, 'root-folder')), `sigstoreTrustedRootPath: "${join(cwd, 'root-folder')}"`)],
    ['a bundle directory document', 'SOURCE_FETCH_FAILED', /the bundle directory's document \S+ cannot be read: it is a directory/, (cwd, name) => (folder(join(cwd, 'bundles', `${name}@1.0.0.json`)), `sigstoreBundleDirectory: "${join(cwd, 'bundles')}"`)],
  ];
  cases.forEach(([what, code, message, stage], index) => {
    it(what, async () => {
      const staged = await publishSigned(kit, { name: `cf-dir-${index}`, version: '1.0.0' });
      const p = await projectFor(kit, staged);
      const yarnrc = stage(p.cwd, staged.name);
      // A setting staged here replaces the kit's own line for it.
      if (yarnrc) p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace(new RegExp(`^${yarnrc.split(':')[0]}: .*$`, 'm'), '') + `${yarnrc}\n`);
      const result = await p.install();
      expectRefused(p, result, code);
      expect(result.output).toMatch(message);
      expect(result.output).not.toMatch(/\bINTERNAL\b/);
    });
  });

  it("control: the user's record store and archive index being directories are cache misses: the install verifies afresh and passes", async () => {
    const staged = await publishSigned(kit, { name: 'cf-dir-records', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    mkdirSync(join(p.cwd, '.yarn-global/sigstore/records.json'), { recursive: true });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    const projects = join(p.cwd, '.yarn-global/sigstore/projects');
    for (const file of readdirSync(projects)) {
      rmSync(join(projects, file));
      mkdirSync(join(projects, file));
    }
    clearInstallOutput(p);
    expectInstalled(p, await p.install(), staged.name, staged.version);
  });
});
