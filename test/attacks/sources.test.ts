/**
 * Non-registry sources allowed by where they come from, not by name: registry
 * metadata of a verified package pointing an allowed name at another git
 * repository or tarball URL is denied before Yarn fetches anything (a git
 * dependency is cloned and its `prepack` run during resolution).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForeignHost, type TestRegistry } from '../../testkit/registry';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import { expectInstalled, expectRefused, policyOf, provenanceRule, publishSigned, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
let evil: TestRegistry;
let vendor: TestRegistry;
beforeAll(async () => {
  kit = await startAttackKit();
  evil = await startForeignHost();
  vendor = await startForeignHost();
});
afterAll(async () => {
  await evil?.close();
  await vendor?.close();
  await kit?.close();
});

/** A signed package whose registry metadata (not its signed package.json) declares `dependencies`. */
async function hostWithMetadataDependencies(name: string, dependencies: Record<string, string>) {
  const staged = await publishSigned(kit, { name, version: '1.0.0' });
  const manifest = { name, version: '1.0.0', dependencies, scripts: { postinstall: 'node postinstall-marker.js' } };
  kit.registry.addVersion({ name, version: '1.0.0', tarball: staged.tarball, attestations: staged.attestations, manifest });
  return staged;
}

const sourcesBlock = (lines: string[]) => ['sources:', ...lines].join('\n');

describe.concurrent('sources allowed by repository and URL', () => {
  it('registry metadata points an allowed git name at another repository: denied before anything is cloned', async () => {
    const host = await hostWithMetadataDependencies('src-git-host', { 'src-tool': `git+${evil.url}/evil/src-tool.git` });
    const policy = [policyOf([provenanceRule(host.name)]), sourcesBlock(['  git:', '    - { package: src-tool, repository: "https://github.com/acme/src-tool" }'])].join('');
    const p = await kit.project({ dependencies: { [host.name]: '1.0.0' }, policy });
    const result = await p.install();
    expectRefused(p, result, 'SOURCE_DENIED');
    expect(result.output).toContain('src-tool@');
    expect(result.output).toContain(`repository: "https://127.0.0.1:${evil.port}/evil/src-tool"`);
    expect(evil.requests).toEqual([]);
  });

  it('registry metadata points an allowed tarball name at another URL: denied before it is downloaded', async () => {
    const host = await hostWithMetadataDependencies('src-tgz-host', { 'src-vendored': `${evil.url}/files/src-vendored-1.0.0.tgz` });
    const policy = [policyOf([provenanceRule(host.name)]), sourcesBlock(['  tarball:', `    - { package: src-vendored, url: "${vendor.url}/files/*" }`])].join('');
    const p = await kit.project({ dependencies: { [host.name]: '1.0.0' }, policy });
    expectRefused(p, await p.install(), 'SOURCE_DENIED');
    expect(evil.requests.filter((request) => request.url.includes('src-vendored'))).toEqual([]);
  });

  it('control: the allowed tarball URL installs', async () => {
    const name = 'src-vendored-ok';
    vendor.setRoute(`/files/${name}-1.0.0.tgz`, { body: buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' })), contentType: 'application/octet-stream' });
    const policy = ['version: 1', 'mode: enforce', 'default: { require: provenance }', sourcesBlock(['  tarball:', `    - { package: ${name}, url: "${vendor.url}/files/*" }`]), ''].join('\n');
    const p = await kit.project({ dependencies: { [name]: `${vendor.url}/files/${name}-1.0.0.tgz` }, policy });
    expectInstalled(p, await p.install(), name, '1.0.0');
  });

  it('a yarn.lock edited to resolve the allowed tarball from another URL: denied before it is downloaded', async () => {
    const name = 'src-vendored-lock';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
    vendor.setRoute(`/files/${name}-1.0.0.tgz`, { body: tarball, contentType: 'application/octet-stream' });
    evil.setRoute(`/files/${name}-1.0.0.tgz`, { body: tarball, contentType: 'application/octet-stream' });
    const policy = ['version: 1', 'mode: enforce', 'default: { require: provenance }', sourcesBlock(['  tarball:', `    - { package: ${name}, url: "${vendor.url}/files/*" }`]), ''].join('\n');
    const p = await kit.project({ dependencies: { [name]: `${vendor.url}/files/${name}-1.0.0.tgz` }, policy });
    expectInstalled(p, await p.install(), name, '1.0.0');
    const lockfile = p.read('yarn.lock')!;
    const edited = lockfile.replace(/(resolution: "[^"]*@)http:\/\/127\.0\.0\.1:\d+(\/files\/)/, `$1${evil.url}$2`);
    expect(edited).not.toBe(lockfile);
    p.write('yarn.lock', edited);
    const { rmSync } = await import('node:fs');
    rmSync(`${p.cwd}/node_modules`, { recursive: true, force: true });
    rmSync(p.markers, { recursive: true, force: true });
    rmSync(`${p.cwd}/.yarn/cache`, { recursive: true, force: true });
    const result = await p.install();
    expectRefused(p, result, 'SOURCE_DENIED', { warm: [name] });
    expect(evil.requests.filter((request) => request.url.includes(name))).toEqual([]);
  });

  it('the old name-only form is refused with a message that says why', async () => {
    const host = await publishSigned(kit, { name: 'src-old-form', version: '1.0.0' });
    const policy = [policyOf([provenanceRule(host.name)]), sourcesBlock(['  git: ["src-tool"]'])].join('');
    const p = await kit.project({ dependencies: { [host.name]: '1.0.0' }, policy });
    const result = await p.install();
    expectRefused(p, result, 'POLICY_INVALID');
    expect(result.output).toContain('sources.git[0]');
    expect(result.output).toContain('a name alone lets registry metadata point "src-tool" at any repository');
  });
});
