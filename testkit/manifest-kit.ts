/**
 * Staging for the manifest check's end-to-end and attack suites: packages
 * Yarn normalises (node-gyp injection, a built-in compat patch) and the
 * helpers that edit a yarn.lock entry.
 */
import { buildPackageTarball } from './tarball';
import type { YarnProject } from './yarn';
import type { E2eKit } from './e2e-kit';

/** A stand-in for node-gyp, which Yarn adds as `node-gyp@latest` to packages whose scripts call it: its bin succeeds. */
export function serveNodeGyp(kit: E2eKit): void {
  const script = '#!/usr/bin/env node\n';
  kit.registry.addVersion({
    name: 'node-gyp',
    version: '10.0.0',
    tarball: buildPackageTarball({ name: 'node-gyp', version: '10.0.0', bin: { 'node-gyp': 'bin.js' }, files: [{ path: 'bin.js', content: script, mode: 0o755 }] }),
  });
}

/** The yarn.lock block whose `resolution:` starts with `resolutionPrefix`: its text and where it sits. */
export function lockfileEntry(p: YarnProject, resolutionPrefix: string): { text: string; start: number; end: number } {
  const lockfile = p.read('yarn.lock')!;
  const at = lockfile.indexOf(`resolution: "${resolutionPrefix}`);
  if (at === -1) throw new Error(`yarn.lock has no entry resolved as ${resolutionPrefix}:\n${lockfile}`);
  const start = lockfile.lastIndexOf('\n\n', at) + 2;
  const next = lockfile.indexOf('\n\n', at);
  const end = next === -1 ? lockfile.length : next;
  return { text: lockfile.slice(start, end), start, end };
}

/** Rewrites one yarn.lock entry, as a malicious or careless commit would. */
export function editLockfileEntry(p: YarnProject, resolutionPrefix: string, edit: (entry: string) => string): void {
  const lockfile = p.read('yarn.lock')!;
  const { text, start, end } = lockfileEntry(p, resolutionPrefix);
  const edited = edit(text);
  if (edited === text) throw new Error(`the edit changed nothing in:\n${text}`);
  p.write('yarn.lock', lockfile.slice(0, start) + edited + lockfile.slice(end));
}

/** Adds a `dependencies:` line to an entry (creating the block when it has none). */
export function withLockfileDependency(entry: string, name: string, range: string): string {
  if (entry.includes('\n  dependencies:\n')) return entry.replace('\n  dependencies:\n', `\n  dependencies:\n    ${name}: "${range}"\n`);
  return entry.replace(/\n  resolution: ([^\n]+)\n/, `\n  resolution: $1\n  dependencies:\n    ${name}: "${range}"\n`);
}
