/**
 * What every `yarn sigstore` command needs: the project as Yarn sees it, a
 * report that honours `--json`, and the gate's own verification of one
 * registry package (same sources, same verifier, same cache, same messages).
 */
import { Configuration, Project, StreamReport, type Locator, type Report, type FetchOptions } from '@yarnpkg/core';
import type { CommandContext } from '@yarnpkg/core';
import { sha512Hex } from '../../install/bind';
import { PipelineAdapter } from '../pipeline-adapter';
import { downloadTarball } from '../tarball';
import { patchBase, routeOf } from '../locators';

export interface OpenProject {
  configuration: Configuration;
  project: Project;
  session: PipelineAdapter;
}

export async function openProject(context: CommandContext): Promise<OpenProject> {
  const configuration = await Configuration.find(context.cwd, context.plugins);
  const { project } = await Project.find(configuration, context.cwd);
  return { configuration, project, session: PipelineAdapter.for(project) };
}

/** Runs a command body in a StreamReport (`--json`: one JSON object a line) and returns the exit code. */
export async function runReport(configuration: Configuration, context: CommandContext, json: boolean, body: (report: StreamReport) => Promise<void>): Promise<number> {
  const report = await StreamReport.start({ configuration, json, stdout: context.stdout, includeFooter: false }, body);
  return report.exitCode();
}

/** The lockfile's packages, resolved from the lockfile alone: nothing is fetched, installed or written. */
export async function resolveFromLockfile(project: Project, report: Report): Promise<void> {
  await project.resolveEverything({ lockfileOnly: true, report });
}

/** Downloads a registry tarball as the gate does, hashes it and verifies it (no verdict). */
export async function verifyRegistryPackage(open: OpenProject, locator: Locator) {
  // downloadTarball reads only the project's configuration (registry, auth, TLS) from the fetch options.
  const tarball = await downloadTarball(locator, { project: open.project } as FetchOptions);
  return open.session.outcomeFor(locator, sha512Hex(tarball));
}

/** The lockfile's registry packages (the base of each `patch:` one included), once each. */
export function lockfileRegistryPackages(open: OpenProject): Locator[] {
  const byHash = new Map<string, Locator>();
  for (const pkg of open.project.originalPackages.values()) {
    const route = routeOf(pkg.reference);
    const base = route === 'patch' ? patchBase(pkg) : pkg;
    if (base && routeOf(base.reference) === 'npm') byHash.set(base.locatorHash, base);
  }
  return [...byHash.values()];
}
