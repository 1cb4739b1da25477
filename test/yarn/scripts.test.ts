/**
 * The second line of defence: a dependency's lifecycle script runs only when
 * this install gave its package a passing verdict. Real Yarn core objects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Configuration, Project, structUtils } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin from '../../src/index';
import { guardScript } from '../../src/yarn/scripts';
import { PipelineAdapter } from '../../src/yarn/pipeline-adapter';

let cwd: string;
let project: Project;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'sigstore-scripts-'));
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name: 'root', private: true }));
  writeFileSync(join(cwd, 'yarn.lock'), '');
  const configuration = Configuration.create(npath.toPortablePath(cwd), npath.toPortablePath(cwd), new Map([['plugin-sigstore', plugin]]));
  ({ project } = await Project.find(configuration, npath.toPortablePath(cwd)));
});

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function run(locator: ReturnType<typeof structUtils.makeLocator>): Promise<{ code: number; ran: boolean; stderr: string }> {
  let ran = false;
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk) => (text += chunk));
  const executor = await guardScript(async () => ((ran = true), 0), project, locator, 'postinstall', { stderr });
  const code = await executor();
  return { code, ran, stderr: text };
}

describe('wrapScriptExecution guard', () => {
  it("refuses a dependency's script when the package got no verdict in this install", async () => {
    const locator = structUtils.makeLocator(structUtils.makeIdent(null, 'sneaky'), 'npm:1.0.0');
    const result = await run(locator);
    expect(result).toMatchObject({ code: 1, ran: false });
    expect(result.stderr).toContain('refusing to run the postinstall script of sneaky@npm:1.0.0');
  });

  it('runs it once the package was allowed, and refuses it when the package failed', async () => {
    const allowed = structUtils.makeLocator(structUtils.makeIdent(null, 'allowed'), 'npm:1.0.0');
    PipelineAdapter.for(project).recordSource(allowed, 'allowed-source', 'test');
    expect(await run(allowed)).toMatchObject({ code: 0, ran: true });

    const failed = structUtils.makeLocator(structUtils.makeIdent(null, 'failed'), 'npm:1.0.0');
    PipelineAdapter.for(project).markFailed(failed, { code: 'POLICY_DENIED', message: 'denied' });
    expect(await run(failed)).toMatchObject({ code: 1, ran: false });
  });

  it("always runs the project's own workspace scripts", async () => {
    expect(await run(project.topLevelWorkspace.anchoredLocator)).toMatchObject({ code: 0, ran: true });
  });
});
