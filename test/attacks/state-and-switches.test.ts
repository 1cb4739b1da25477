/**
 * Attacks on what an install trusts from earlier runs (the committed cache,
 * the user's global folder restored from a CI cache, yarn.lock), and attempts
 * to switch the gate off from settings, the environment or a nested rc file.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verificationKey } from '../../src/install/store';
import { loadTrustedRootFile } from '../../src/trust';
import { githubIdentity } from '../../testkit/signer';
import { sha512Hex } from '../../testkit/tarball';
import { runYarn, type YarnProject } from '../../testkit/yarn';
import { clearInstallOutput, expectInstalled, expectRefused, forgedTarball, forgedZipOf, plantForgedCache, policyOf, projectFor, provenanceRule, publishSigned, startAttackKit, type AttackKit, type Staged } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => kit?.close());

interface StoreBody {
  bindings: Record<string, { value: unknown; usedAt: number }>;
  verified: Record<string, { value: unknown; usedAt: number }>;
}

/** A record store body binding `zipSha` to the genuine tarball of `staged`. */
function storeWithBinding(staged: Staged, zipSha: string): StoreBody {
  const record = { zipSha512: zipSha, tgzSha512: sha512Hex(staged.tarball), name: staged.name, version: staged.version };
  return { bindings: { [zipSha]: { value: record, usedAt: Date.now() } }, verified: {} };
}

/** Rewrites the user's record store (`<globalFolder>/sigstore/records.json`) as a restored cache would, keeping its genuine MAC. */
function poisonRecordStore(p: YarnProject, change: (body: StoreBody) => void): void {
  const file = join(p.cwd, '.yarn-global/sigstore/records.json');
  const genuine = JSON.parse(readFileSync(file, 'utf8')) as { mac: string; body: string };
  const body = JSON.parse(genuine.body) as StoreBody;
  change(body);
  writeFileSync(file, JSON.stringify({ mac: genuine.mac, body: JSON.stringify(body) }));
}


describe.concurrent('stored state attacks', () => {
  it('a committed zero-install cache holding a forged zip next to a forged binding record', async () => {
    const staged = await publishSigned(kit, { name: 'ss-zero', version: '1.0.0' });
    const p = await projectFor(kit, staged, { yarnrc: 'enableGlobalCache: false' });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    const forged = await forgedZipOf(kit, staged, forgedTarball(staged));
    plantForgedCache(p, join(p.cwd, '.yarn/cache'), forged, staged.name);
    // The attacker also commits the record store the plugin would have written, binding the forged zip to the genuine tarball.
    const zipSha = sha512Hex(forged.zip);
    mkdirSync(join(p.cwd, '.yarn/sigstore'), { recursive: true });
    writeFileSync(join(p.cwd, '.yarn/sigstore/records.json'), JSON.stringify({ body: JSON.stringify(storeWithBinding(staged, zipSha)) }));
    clearInstallOutput(p);
    const result = await p.run(['install', '--immutable', '--immutable-cache'], { YARN_GLOBAL_FOLDER: join(p.cwd, '.yarn-ci') });
    expectRefused(p, result, 'CACHE_BINDING_MISSING', { warm: [staged.name] });
  });

  it('a restored CI cache (global folder) with a forged zip and a poisoned binding record', async () => {
    const staged = await publishSigned(kit, { name: 'ss-poison-binding', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    const forged = await forgedZipOf(kit, staged, forgedTarball(staged));
    plantForgedCache(p, join(p.cwd, '.yarn-global/cache'), forged, staged.name);
    // The store restored with the forged binding added, under the genuine store's MAC (the attacker has no record key).
    poisonRecordStore(p, (body) => Object.assign(body.bindings, storeWithBinding(staged, sha512Hex(forged.zip)).bindings));
    clearInstallOutput(p);
    const result = await p.install();
    expectRefused(p, result, 'CACHE_BINDING_MISSING', { warm: [staged.name] });
  });

  it('a cached zip rewritten in place, its mtime put back, after the project index recorded its identity (checksumBehavior: ignore)', async () => {
    const staged = await publishSigned(kit, { name: 'ss-in-place', version: '1.0.0' });
    // checksumBehavior: ignore makes Yarn hand over a zip that no longer matches yarn.lock.
    const p = await projectFor(kit, staged, { yarnrc: 'checksumBehavior: ignore' });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    // The index vouches for a zip by its file identity only once the zip's ctime is 2 s older than its hash.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    clearInstallOutput(p);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    const indexFolder = join(p.cwd, '.yarn-global/sigstore/projects');
    const [indexFile] = readdirSync(indexFolder);
    const entries = Object.values(JSON.parse(JSON.parse(readFileSync(join(indexFolder, indexFile), 'utf8')).body)) as Array<{ name: string; identity?: string }>;
    expect(entries.find((entry) => entry.name === staged.name)?.identity).toMatch(/^\d+:\d+:\d+:\d+:\d+$/);

    const forged = await forgedZipOf(kit, staged, forgedTarball(staged));
    const cache = join(p.cwd, '.yarn-global/cache');
    const zipPath = join(cache, readdirSync(cache).find((file) => file.startsWith(`${staged.name}-npm-`))!);
    const { atime, mtime } = statSync(zipPath);
    writeFileSync(zipPath, forged.zip);
    utimesSync(zipPath, atime, mtime);
    clearInstallOutput(p);
    expectRefused(p, await p.install(), 'CACHE_BINDING_MISSING', { warm: [staged.name] });
  });

  it('checksumBehavior: reset, yarn.lock naming a forged zip: the zip made from the verified tarball is bound by its own sha512, and the forged zip planted later is refused', async () => {
    const staged = await publishSigned(kit, { name: 'ss-reset', version: '1.0.0' });
    const forged = await forgedZipOf(kit, staged, forgedTarball(staged));
    const p = await projectFor(kit, staged, { yarnrc: 'checksumBehavior: reset' });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    // yarn.lock names the forged zip, which is not there: Yarn makes the zip again from the verified tarball and,
    // under reset, hands over the lockfile's checksum for it. A binding under that checksum would vouch for the forged zip.
    const cache = join(p.cwd, '.yarn-global/cache');
    plantForgedCache(p, cache, forged, staged.name);
    const plantedName = readdirSync(cache).find((file) => file.startsWith(`${staged.name}-npm-`))!;
    rmSync(join(cache, plantedName));
    clearInstallOutput(p);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    const madeName = readdirSync(cache).find((file) => file.startsWith(`${staged.name}-npm-`))!;
    expect(sha512Hex(readFileSync(join(cache, madeName)))).not.toBe(sha512Hex(forged.zip));
    // The forged zip in its place (a restored cache): bound to nothing.
    writeFileSync(join(cache, madeName), forged.zip);
    clearInstallOutput(p);
    expectRefused(p, await p.install(), 'CACHE_BINDING_MISSING', { warm: [staged.name] });
  });

  // By default the warm install reads the content-keyed record and fetches no document; with recheck on, the document-keyed one.
  for (const [suffix, yarnrc] of [['', undefined], [' (sigstoreRecheckAttestations: true)', 'sigstoreRecheckAttestations: true']] as const) {
    it(`a restored CI cache with a poisoned verification result for a forged tarball${suffix}`, async () => {
      const staged = await publishSigned(kit, { name: `ss-poison-verified${yarnrc ? '-recheck' : ''}`, version: '1.0.0' });
      const p = await projectFor(kit, staged, { yarnrc });
      expectInstalled(p, await p.install(), staged.name, staged.version);
      const forged = forgedTarball(staged);
      const subject = { name: staged.name, version: staged.version, sha512Hex: sha512Hex(forged) };
      const trust = loadTrustedRootFile(join(kit.trustDir, 'trusted_root.json'), JSON.parse(readFileSync(join(kit.trustDir, 'keys.json'), 'utf8')));
      // Every key the cache has used: with the attestation document's digest, and the content-only one.
      const keys = [verificationKey(subject, trust.digest, JSON.parse(JSON.stringify(staged.attestations))), verificationKey(subject, trust.digest)];
      // The genuine result, rewritten for the forged tarball's digest under each key; without the user's record key the attacker can only reuse a genuine MAC.
      poisonRecordStore(p, (body) => {
        const [genuine] = Object.values(body.verified);
        for (const key of keys.filter((value): value is string => typeof value === 'string')) body.verified[key] = { ...genuine, value: { ...(genuine.value as object), subject } };
      });
      // The attacker's registry now serves the forged tarball with the genuine attestations.
      kit.registry.setTarball(staged.name, staged.version, forged);
      rmSync(join(p.cwd, '.yarn-global/cache'), { recursive: true, force: true });
      rmSync(join(p.cwd, 'yarn.lock'));
      clearInstallOutput(p);
      const result = await p.install();
      expectRefused(p, result, 'SUBJECT_DIGEST_MISMATCH', { warm: [staged.name] });
    });
  }

  for (const [label, resolution] of [
    ['a tarball URL', (url: string) => url],
    ['git', () => 'git+https://github.com/evil/payload.git#commit=0123456789abcdef0123456789abcdef01234567'],
  ] as const) {
    it(`a lockfile resolution swapped to ${label}`, async () => {
      const staged = await publishSigned(kit, { name: `ss-lock-${label.replace(/\W+/g, '-')}`, version: '1.0.0' });
      const p = await projectFor(kit, staged);
      expectInstalled(p, await p.install(), staged.name, staged.version);
      const url = kit.registry.tarballUrl(staged.name, staged.version);
      const lockfile = p.read('yarn.lock')!.replace(`resolution: "${staged.name}@npm:1.0.0"`, `resolution: "${staged.name}@${resolution(url)}"`);
      expect(lockfile).not.toBe(p.read('yarn.lock'));
      p.write('yarn.lock', lockfile);
      clearInstallOutput(p);
      expectRefused(p, await p.install(), 'LOCKFILE_PROTOCOL_MISMATCH', { warm: [staged.name] });
    });
  }

  it('yarn.lock gives a verified package a dependency its package.json does not have', async () => {
    const helper = await publishSigned(kit, { name: 'ss-lock-injected', version: '1.0.0' });
    const staged = await publishSigned(kit, { name: 'ss-lock-deps', version: '1.0.0' });
    const policy = policyOf([provenanceRule(staged.name), provenanceRule(helper.name)]);
    const p = await kit.project({ dependencies: { [staged.name]: staged.version, [helper.name]: helper.version }, policy });
    expectInstalled(p, await p.install(), staged.name, staged.version);
    const lockfile = p.read('yarn.lock')!;
    const entry = lockfile.indexOf(`resolution: "${staged.name}@npm:1.0.0"`);
    const injected = lockfile.slice(0, entry) + `dependencies:\n    ${helper.name}: "npm:1.0.0"\n  ` + lockfile.slice(entry);
    p.write('yarn.lock', injected);
    clearInstallOutput(p);
    expectRefused(p, await p.install(), 'MANIFEST_MISMATCH', { warm: [staged.name] });
  });
});

describe.concurrent('switching the gate off', () => {
  /** A package whose tarball was replaced after signing: the attack the switch would let through. */
  async function tampered(name: string): Promise<Staged> {
    const staged = await publishSigned(kit, { name, version: '1.0.0' });
    kit.registry.setTarball(name, '1.0.0', forgedTarball(staged));
    return staged;
  }

  it('YARN_SIGSTORE_MODE=off is refused and printed; the tampered package still fails', async () => {
    const staged = await tampered('sw-env-off');
    const p = await projectFor(kit, staged);
    const result = await p.install({ YARN_SIGSTORE_MODE: 'off' });
    expectRefused(p, result, 'SUBJECT_DIGEST_MISMATCH');
    expect(result.output).toMatch(/sigstoreMode.*asks for mode off, refused/);
  });

  it('YARN_SIGSTORE_MODE=warn does not turn an identity mismatch into a warning', async () => {
    const staged = await publishSigned(kit, { name: 'sw-env-warn', version: '1.0.0' }, { identity: githubIdentity({ repository: 'evil/sw-env-warn' }) });
    const p = await projectFor(kit, staged);
    const result = await p.install({ YARN_SIGSTORE_MODE: 'warn' });
    expectRefused(p, result, 'POLICY_DENIED');
    expect(result.output).toMatch(/asks for mode warn, refused/);
  });

  it('sigstoreMode: off committed in .yarnrc.yml is refused and printed', async () => {
    const staged = await tampered('sw-rc-off');
    const p = await projectFor(kit, staged, { yarnrc: 'sigstoreMode: "off"' });
    const result = await p.install();
    expectRefused(p, result, 'SUBJECT_DIGEST_MISMATCH');
    expect(result.output).toMatch(/asks for mode off, refused/);
  });

  it('YARN_RC_FILENAME pointing elsewhere drops the plugin, and `yarn sigstore verify` then fails as an unknown command', async () => {
    const staged = await publishSigned(kit, { name: 'sw-rc-filename', version: '1.0.0' });
    const p = await projectFor(kit, staged);
    expectInstalled(p, await p.install(), staged.name, staged.version);
    rmSync(p.markers, { recursive: true, force: true });
    p.write('other.yml', `npmRegistryServer: "${kit.registry.url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nenableTelemetry: false\n`);
    const withPlugin = await p.run(['sigstore', 'verify']);
    expect(withPlugin.output).not.toMatch(/Couldn't find a script named "sigstore"/);
    // HOME elsewhere, as on a CI runner (the test kit puts HOME in the project, whose rc Yarn would then read as the home rc).
    mkdirSync(join(p.cwd, 'runner-home'));
    const withoutPlugin = await p.run(['sigstore', 'verify'], { YARN_RC_FILENAME: 'other.yml', HOME: join(p.cwd, 'runner-home') });
    expect(withoutPlugin.code).not.toBe(0);
    expect(withoutPlugin.output).toMatch(/Couldn't find a script named "sigstore"/);
  });

  it('a same-named plugin in a nested .yarnrc.yml does not replace the gate', async () => {
    const staged = await tampered('sw-nested');
    const p = await projectFor(kit, staged);
    const manifest = JSON.parse(p.read('package.json')!);
    p.write('package.json', JSON.stringify({ ...manifest, workspaces: ['packages/*'] }));
    mkdirSync(join(p.cwd, 'packages/app'), { recursive: true });
    p.write('packages/app/package.json', JSON.stringify({ name: 'app', version: '1.0.0' }));
    p.write('packages/app/decoy.cjs', "module.exports = { name: '@yarnpkg/plugin-sigstore', factory: () => ({ default: {} }) };\n");
    p.write('packages/app/.yarnrc.yml', 'plugins:\n  - path: ./decoy.cjs\n');
    const result = await p.install();
    const nested = await runYarn(join(p.cwd, 'packages/app'), ['install'], { HOME: p.cwd, YARN_GLOBAL_FOLDER: join(p.cwd, '.yarn-global'), YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', SIGSTORE_TEST_MARKER_DIR: p.markers });
    for (const run of [result, nested]) expectRefused(p, run, 'SUBJECT_DIGEST_MISMATCH');
  });
});

