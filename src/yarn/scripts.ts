/**
 * Second line of defence: a dependency's lifecycle script runs only if this
 * install gave its package a passing verdict. Workspaces' own scripts run.
 * No script gets the CI record key.
 */
import { structUtils, type Locator, type Project } from '@yarnpkg/core';
import { RECORD_KEY_VARIABLE } from '../install/record-key';
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

/**
 * Every script's environment (lifecycle scripts, `yarn run`, `yarn exec`)
 * without SIGSTORE_RECORD_KEY: Yarn builds it from its configuration's copy
 * of the environment, which may predate the plugin's load (src/index.ts
 * removes the variable from process.env). Whoever holds the key can vouch
 * for a zip in the next job's restored cache.
 */
export async function withoutRecordKey(_project: Project, env: Record<string, string | undefined>): Promise<void> {
  delete env[RECORD_KEY_VARIABLE];
}
