/**
 * Second line of defence: a dependency's lifecycle script runs only if this
 * install gave its package a passing verdict. Workspaces' own scripts run.
 */
import { structUtils, type Locator, type Project } from '@yarnpkg/core';
import { PipelineAdapter } from './pipeline-adapter';

export async function guardScript(executor: () => Promise<number>, project: Project, locator: Locator, scriptName: string, extra: { stderr: NodeJS.WritableStream }): Promise<() => Promise<number>> {
  const physical = structUtils.isVirtualLocator(locator) ? structUtils.devirtualizeLocator(locator) : locator;
  if (project.tryWorkspaceByLocator(physical)) return executor;
  if (PipelineAdapter.for(project).mayRunScripts(physical)) return executor;
  return async () => {
    extra.stderr.write(`sigstore: refusing to run the ${scriptName} script of ${structUtils.stringifyLocator(physical)}: the package was not verified or allowed in this install\n`);
    return 1;
  };
}
