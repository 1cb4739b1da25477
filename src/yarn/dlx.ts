/**
 * `yarn dlx` (and `yarn create`, which runs it) installs into a temporary
 * project, `<tmp>/xfs-*\/dlx-<pid>`, created by this very process, whose
 * `.yarnrc.yml` is a copy of the one of the project dlx runs from (plugins
 * included) but which holds no policy file. Left alone it would install under
 * zero-config what `yarn add` refuses in that project. The policy (and every
 * relative path setting, which the copy resolves inside the temporary folder)
 * is therefore taken from the project dlx runs from, found as dlx finds it.
 */
import { Configuration } from '@yarnpkg/core';
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import path from 'path';

/** Whether `projectDir` is the temporary project of a `yarn dlx` running in this process. */
export function isDlxProject(projectDir: string): boolean {
  return path.basename(projectDir) === `dlx-${process.pid}`;
}

/** The directory Yarn was run in, as Yarn computes its context cwd (a leading `--cwd <dir>` / `--cwd=<dir>`, else the process cwd). */
export function invocationCwd(argv: readonly string[] = process.argv.slice(2)): string {
  if (argv.length >= 2 && argv[0] === '--cwd') return path.resolve(argv[1]);
  if (argv.length >= 1 && argv[0].startsWith('--cwd=')) return path.resolve(argv[0].slice('--cwd='.length));
  return process.cwd();
}

/** The project `yarn dlx` copied its `.yarnrc.yml` from (Yarn's own `findProjectCwd` of the invocation directory), or null outside any project. */
export async function dlxOriginProject(): Promise<string | null> {
  const found = await Configuration.findProjectCwd(npath.toPortablePath(invocationCwd()));
  return found === null ? null : npath.fromPortablePath(found);
}

/** A path setting the copied `.yarnrc.yml` resolved inside the temporary project, mapped back to the project it was written for. */
export function originPath(value: string | null, dlxDir: string, originDir: string): string | null {
  if (value === null) return null;
  const relative = path.relative(dlxDir, value);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return value;
  return npath.fromPortablePath(ppath.join(npath.toPortablePath(originDir), npath.toPortablePath(relative) as PortablePath));
}

export interface ProjectScope {
  /** The project whose policy and committed settings apply. */
  dir: string;
  /** Set for a `yarn dlx` temporary project: its folder, and whether the project dlx runs from was found. */
  dlx?: { tempDir: string; origin: string | null };
}

/** The project whose policy applies to the project at `projectDir`: itself, or for `yarn dlx`'s temporary project the one dlx runs from. */
export async function projectScope(projectDir: string): Promise<ProjectScope> {
  if (!isDlxProject(projectDir)) return { dir: projectDir };
  const origin = await dlxOriginProject();
  return { dir: origin ?? projectDir, dlx: { tempDir: projectDir, origin } };
}
