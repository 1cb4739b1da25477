import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadFixturePackages } from '../../testkit/fixtures';
import { buildPackageTarball, integrityOf, readPackageJson, readTarball, sha512Hex, withPostinstallMarker } from '../../testkit/tarball';

const LONG_PATH = `lib/${'deeply/'.repeat(16)}nested-file-with-a-long-name.js`;

describe('npm tarballs', () => {
  const spec = withPostinstallMarker({ name: '@acme/tool', version: '3.1.4', bin: { tool: 'cli.js' }, files: [{ path: 'cli.js', content: '#!/usr/bin/env node\n', mode: 0o755 }, { path: LONG_PATH, content: 'x' }], padBytes: 5000 });

  it('are deterministic and carry package.json, the files and the padding under package/', () => {
    const tarball = buildPackageTarball(spec);
    expect(buildPackageTarball(spec).equals(tarball)).toBe(true);
    expect(sha512Hex(tarball)).toMatch(/^[0-9a-f]{128}$/);
    expect(integrityOf(tarball)).toBe(`sha512-${Buffer.from(sha512Hex(tarball), 'hex').toString('base64')}`);
    const files = readTarball(tarball);
    expect([...files.keys()]).toEqual(['package/package.json', 'package/index.js', 'package/cli.js', `package/${LONG_PATH}`, 'package/postinstall-marker.js', 'package/padding.bin']);
    expect(files.get('package/padding.bin')!.length).toBe(5000);
    expect(readPackageJson(tarball)).toMatchObject({ name: '@acme/tool', version: '3.1.4', bin: { tool: 'cli.js' }, scripts: { postinstall: 'node postinstall-marker.js' } });
  });

  it('are read by the system tar, modes and long paths included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'testkit-tar-'));
    try {
      writeFileSync(join(dir, 'p.tgz'), buildPackageTarball(spec));
      const { stdout } = await promisify(execFile)('tar', ['-tvzf', join(dir, 'p.tgz')]);
      expect(stdout).toMatch(/-rwxr-xr-x .* package\/cli\.js/);
      expect(stdout).toContain(`package/${LONG_PATH}`);
      await promisify(execFile)('tar', ['-xzf', join(dir, 'p.tgz'), '-C', dir]);
      expect(readFileSync(join(dir, 'package', LONG_PATH), 'utf8')).toBe('x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the reader understands the real npm tarballs of the fixtures', () => {
    for (const fixture of loadFixturePackages()) {
      expect(fixture.packageJson.name).toBe(fixture.name);
      expect(fixture.packageJson.version).toBe(fixture.version);
    }
  });
});
