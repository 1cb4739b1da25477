/**
 * The registry speaks what the real Yarn needs, without the plugin: scoped and
 * unscoped packuments, tarballs, dependency trees, lifecycle scripts, token auth.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureToRegistryVersion, loadFixturePackage } from '../../testkit/fixtures';
import { publishPackage } from '../../testkit/publish';
import { startRegistry, type TestRegistry } from '../../testkit/registry';
import { githubIdentity, MockSigstore } from '../../testkit/signer';
import { markerFileName, withPostinstallMarker } from '../../testkit/tarball';
import { runYarn } from '../../testkit/yarn';

describe('real Yarn against the test registry (no plugin)', () => {
  let registry: TestRegistry;
  let cwd: string;

  beforeAll(async () => {
    registry = await startRegistry({ requiredToken: 'registry-token' });
    registry.addVersion(fixtureToRegistryVersion(loadFixturePackage('gundam-visor', '1.0.1')));
    registry.addVersion(fixtureToRegistryVersion(loadFixturePackage('@trishankatdatadog/supreme-goggles', '1.0.5')));
    const mock = await MockSigstore.create();
    await publishPackage(registry, mock, withPostinstallMarker({ name: '@acme/app', version: '1.0.0', dependencies: { 'gundam-visor': '^1.0.0' } }), {
      identity: githubIdentity({ repository: 'acme/app' }),
    });
    cwd = mkdtempSync(join(tmpdir(), 'testkit-yarn-'));
    writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'p', private: true, dependencies: { '@acme/app': '1.0.0', '@trishankatdatadog/supreme-goggles': '1.0.5' } }));
    writeFileSync(
      join(cwd, '.yarnrc.yml'),
      [`npmRegistryServer: "${registry.url}"`, 'npmAuthToken: registry-token', 'npmAlwaysAuth: true', 'unsafeHttpWhitelist: ["127.0.0.1"]', 'enableScripts: true', 'nodeLinker: node-modules', ''].join('\n'),
    );
  });

  afterAll(async () => {
    await registry.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('installs a signed package with a dependency from a real fixture, runs its postinstall, authenticates every request', async () => {
    const markers = join(cwd, 'markers');
    const result = await runYarn(cwd, ['install'], { HOME: cwd, YARN_GLOBAL_FOLDER: join(cwd, '.global'), YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', SIGSTORE_TEST_MARKER_DIR: markers });
    expect(result.code, result.output).toBe(0);
    expect(existsSync(join(markers, markerFileName('@acme/app', '1.0.0')))).toBe(true);
    expect(JSON.parse(readFileSync(join(cwd, 'node_modules/gundam-visor/package.json'), 'utf8')).version).toBe('1.0.1');
    expect(existsSync(join(cwd, 'node_modules/@trishankatdatadog/supreme-goggles/package.json'))).toBe(true);
    const kinds = new Set(registry.requests.map((request) => request.kind));
    expect(kinds).toEqual(new Set(['packument', 'tarball']));
    expect(registry.requests.every((request) => request.authorization === 'Bearer registry-token' && request.status === 200)).toBe(true);
  });
});
