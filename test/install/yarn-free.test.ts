/**
 * The install pipeline knows nothing of Yarn: no module of src/install/, nor
 * any module it reaches through its imports (static or dynamic), imports
 * `@yarnpkg/*` or src/yarn/. Only src/yarn/ adapts Yarn to it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/fixtures';

const INSTALL = join(REPO_ROOT, 'src', 'install');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** The module file a relative request names. */
function resolveRequest(from: string, request: string): string | undefined {
  const base = resolve(dirname(from), request);
  return [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => candidate.endsWith('.ts') && existsSync(candidate));
}

/** Every module reachable from `entries`, with the requests each one makes. */
function reachable(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const requests = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((match) => match[1]!);
    seen.set(file, requests);
    for (const request of requests) {
      if (!request.startsWith('.')) continue;
      const target = resolveRequest(file, request);
      if (target) queue.push(target);
    }
  }
  return seen;
}

describe('src/install/', () => {
  it('reaches no Yarn module and nothing of src/yarn/, through any import', () => {
    const entries = readdirSync(INSTALL).filter((name) => name.endsWith('.ts')).map((name) => join(INSTALL, name));
    expect(entries.map((file) => relative(INSTALL, file))).toEqual(expect.arrayContaining(['store.ts', 'documents.ts', 'verify.ts', 'bind.ts', 'judge.ts', 'results.ts', 'pipeline.ts']));
    const modules = reachable(entries);
    // The walk follows the core's imports (it must, to prove anything): the verifier, the policy, the pins, the sources.
    expect([...modules.keys()].map((file) => relative(REPO_ROOT, file))).toEqual(expect.arrayContaining(['src/verify/index.ts', 'src/policy/evaluate.ts', 'src/pins/index.ts', 'src/sources/index.ts']));
    const offenders = [...modules].flatMap(([file, requests]) =>
      requests
        .filter((request) => request.startsWith('@yarnpkg/') || (request.startsWith('.') && resolveRequest(file, request)?.startsWith(join(REPO_ROOT, 'src', 'yarn'))))
        .map((request) => `${relative(REPO_ROOT, file)} imports ${request}`),
    );
    expect(offenders).toEqual([]);
  });
});
