/**
 * Real npm tarballs (gzip'd ustar, every entry under `package/`), built and
 * read without extra dependencies. Output is deterministic (fixed mtime, fixed
 * gzip level) so a package's sha512 is stable across runs.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

const BLOCK = 512;
const FIXED_MTIME = Math.floor(Date.UTC(2020, 0, 1) / 1000);

export interface TarballFile {
  /** Path inside the package (`index.js`, `lib/a.js`); `package/` is prepended. */
  path: string;
  content: string | Buffer;
  /** Unix mode; defaults to 0o644 (0o755 is useful for bin scripts). */
  mode?: number;
}

export interface PackageSpec {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  bin?: string | Record<string, string>;
  /** Any other package.json fields. */
  extra?: Record<string, unknown>;
  files?: TarballFile[];
  /** Pad the tarball with an incompressible file of this many bytes (benchmarks want realistic sizes). */
  padBytes?: number;
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

function tarHeader(path: string, size: number, mode: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a '/' into prefix (155) + name (100).
    const cut = path.lastIndexOf('/', path.length - 1);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tarball path too long: ${path}`);
  }
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, mode);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, FIXED_MTIME);
  header.write('        ', 148, 8, 'ascii'); // checksum placeholder: spaces
  header.write('0', 156, 1, 'ascii'); // regular file
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return header;
}

/** A gzip'd ustar archive of the given files, each under `package/`. */
export function packFiles(files: TarballFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const body = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    parts.push(tarHeader(`package/${file.path}`, body.length, file.mode ?? 0o644), body);
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return gzipSync(Buffer.concat(parts), { level: 6 });
}

/** The package.json a spec describes (what the tarball carries). */
export function packageJsonOf(spec: PackageSpec): Record<string, unknown> {
  return {
    name: spec.name,
    version: spec.version,
    ...(spec.bin !== undefined ? { bin: spec.bin } : {}),
    ...(spec.scripts ? { scripts: spec.scripts } : {}),
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
    ...spec.extra,
  };
}

/** A real npm tarball for the spec: package.json, the given files, an index.js if none given. */
export function buildPackageTarball(spec: PackageSpec): Buffer {
  const files: TarballFile[] = [{ path: 'package.json', content: JSON.stringify(packageJsonOf(spec), null, 2) + '\n' }];
  const given = spec.files ?? [];
  if (!given.some((file) => file.path === 'index.js')) files.push({ path: 'index.js', content: `module.exports = ${JSON.stringify(`${spec.name}@${spec.version}`)};\n` });
  files.push(...given);
  if (spec.padBytes && spec.padBytes > 0) files.push({ path: 'padding.bin', content: deterministicBytes(`${spec.name}@${spec.version}`, spec.padBytes) });
  return packFiles(files);
}

/** Incompressible but reproducible bytes (sha256 counter stream). */
function deterministicBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, counter = 0; offset < length; offset += 32, counter++) {
    createHash('sha256').update(`${seed}:${counter}`).digest().copy(out, offset);
  }
  return out;
}

/**
 * A lifecycle script that writes a marker file when the package's script runs:
 * to `$<envVar>/<name>@<version>` if that variable is set, else to
 * `<project>/<relativeFallback>` (INIT_CWD is the project Yarn runs in).
 * Tests assert the marker's absence to prove no script ran.
 */
export function markerScript(options: { envVar?: string; relativeFallback?: string } = {}): { file: TarballFile; command: string } {
  const envVar = options.envVar ?? 'SIGSTORE_TEST_MARKER_DIR';
  const fallback = options.relativeFallback ?? 'postinstall-markers';
  const source = [
    "const fs = require('fs');",
    "const path = require('path');",
    "const pkg = require('./package.json');",
    `const dir = process.env[${JSON.stringify(envVar)}] || path.join(process.env.INIT_CWD || process.cwd(), ${JSON.stringify(fallback)});`,
    'fs.mkdirSync(dir, { recursive: true });',
    "fs.writeFileSync(path.join(dir, pkg.name.replace('/', '__') + '@' + pkg.version), 'ran\\n');",
    '',
  ].join('\n');
  return { file: { path: 'postinstall-marker.js', content: source }, command: 'node postinstall-marker.js' };
}

/** A package spec whose postinstall writes a marker (see markerScript). */
export function withPostinstallMarker(spec: PackageSpec, options?: { envVar?: string; relativeFallback?: string }): PackageSpec {
  const marker = markerScript(options);
  return { ...spec, scripts: { ...spec.scripts, postinstall: marker.command }, files: [...(spec.files ?? []), marker.file] };
}

/** The marker file name withPostinstallMarker writes for a package. */
export function markerFileName(name: string, version: string): string {
  return `${name.replace('/', '__')}@${version}`;
}

function readString(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

/** Every regular file in a .tgz (ustar/pax/GNU long names), path as stored. */
export function readTarball(tgz: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(tgz);
  const files = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = parseInt(readString(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const body = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = readString(body, 0, body.length);
      continue;
    }
    if (type === 'x') {
      const match = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (match) longName = match[1];
      continue;
    }
    const prefix = readString(header, 345, 155);
    const path = longName ?? (prefix ? `${prefix}/${readString(header, 0, 100)}` : readString(header, 0, 100));
    longName = undefined;
    if (type === '0' || type === '\0') files.set(path, Buffer.from(body));
  }
  return files;
}

/** The package.json inside an npm tarball (the top folder may be named other than `package/`). */
export function readPackageJson(tgz: Buffer): Record<string, unknown> {
  for (const [path, content] of readTarball(tgz)) {
    if (/^[^/]+\/package\.json$/.test(path)) return JSON.parse(content.toString('utf8')) as Record<string, unknown>;
  }
  throw new Error('tarball has no package.json at its top level');
}

export function sha512Hex(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

/** npm's `dist.integrity` (SRI sha512) of the bytes. */
export function integrityOf(bytes: Buffer): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** npm's `dist.shasum` (sha1 hex) of the bytes. */
export function shasumOf(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex');
}
