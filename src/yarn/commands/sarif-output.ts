/**
 * `--format sarif` for `yarn sigstore verify`: the command runs as with
 * `--json`, its events are collected instead of printed, and one SARIF log
 * (src/report/sarif.ts) is printed in their place, located on the project's
 * `yarn.lock` and workspace `package.json` files.
 */
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { CommandContext, Project } from '@yarnpkg/core';
import { Filename, npath, ppath } from '@yarnpkg/fslib';
import { version } from '../../../package.json';
import { toSarif, type SourceFile, type VerifyEvent } from '../../report/sarif';

export const OUTPUT_FORMATS = ['text', 'json', 'sarif'] as const;

function sourceFile(project: Project, path: string): SourceFile | undefined {
  try {
    return { path: ppath.relative(project.cwd, npath.toPortablePath(path)), text: readFileSync(path, 'utf8') };
  } catch {
    return undefined;
  }
}

/** Runs `run` with a stdout that collects its JSON events, then prints them as one SARIF log; returns `run`'s exit code. */
export async function printSarif(context: CommandContext, project: Project, run: (context: CommandContext) => Promise<number>): Promise<number> {
  let text = '';
  const collected = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  const code = await run({ ...context, stdout: collected });
  collected.end();
  await once(collected, 'finish');
  const events = text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as VerifyEvent);
  const lockfilePath = npath.fromPortablePath(ppath.join(project.cwd, Filename.lockfile));
  const manifests = project.workspaces.map((workspace) => sourceFile(project, npath.fromPortablePath(ppath.join(workspace.cwd, Filename.manifest)))).filter((file) => file !== undefined);
  context.stdout.write(`${JSON.stringify(toSarif({ events, toolVersion: version, lockfile: sourceFile(project, lockfilePath), manifests }), null, 2)}\n`);
  return code;
}
