/**
 * The GitHub Action (action.yml), its step run as GitHub runs a composite
 * action's bash step (`bash --noprofile --norc -eo pipefail`), against the loopback registry: it passes a verified
 * project; it fails a denied package with an annotation on the package's
 * yarn.lock line, a job summary naming it and a SARIF log valid against the
 * SARIF 2.1.0 schema; and it cannot be fooled into green by a package.json
 * script named `sigstore` printing a passing SARIF log when the plugin is not
 * loaded, nor while it is.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../testkit/fixtures';
import { PLUGIN_RELATIVE_PATH, type YarnProject } from '../../testkit/yarn';
import { sarifProblems } from '../../testkit/sarif';
import { ciStaging, installedProject, runBash } from '../../testkit/ci-runner';
import { policyOf, provenanceRule } from '../../testkit/attack-harness';

interface ActionStep {
  shell: string;
  run: string;
  env: Record<string, string>;
}
interface Action {
  inputs: Record<string, { default: string }>;
  runs: { using: string; steps: ActionStep[] };
}
const ACTION = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as Action;

/** The step's environment as GitHub gives it: `${{ inputs.x }}` replaced by the input's default. */
function stepEnv(step: ActionStep): Record<string, string> {
  return Object.fromEntries(Object.entries(step.env).map(([key, value]) => [key, value.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_, input: string) => ACTION.inputs[input].default)]));
}

const staging = ciStaging();

interface ActionRun {
  code: number | null;
  output: string;
  summary: string;
  outputs: string;
  sarif?: unknown;
}

async function runAction(p: YarnProject, inputs: Record<string, string> = {}): Promise<ActionRun> {
  const [step] = ACTION.runs.steps;
  const github = join(p.cwd, 'github');
  mkdirSync(github, { recursive: true });
  const files = { GITHUB_STEP_SUMMARY: join(github, 'summary.md'), GITHUB_OUTPUT: join(github, 'output') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  // A composite action's `shell: bash` step, as GitHub runs it.
  const { code, output } = await runBash(p, staging.shims, ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], { GITHUB_ACTIONS: 'true', GITHUB_ACTION_PATH: REPO_ROOT, ...files, ...stepEnv(step), ...inputs });
  const sarifText = p.read(stepEnv(step).SIGSTORE_SARIF_FILE);
  let sarif: unknown;
  try {
    sarif = sarifText === undefined ? undefined : JSON.parse(sarifText);
  } catch {
    sarif = undefined;
  }
  return { code, output, summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'), outputs: readFileSync(files.GITHUB_OUTPUT, 'utf8'), sarif };
}

/** A package.json script named `sigstore` that prints a passing SARIF log (and one named `plugin`, the runtime line). */
function addSpoofingScripts(p: YarnProject): void {
  const manifest = JSON.parse(p.read('package.json')!);
  const sarif = JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'yarn-plugin-sigstore' } }, invocations: [{ executionSuccessful: true }], results: [], properties: { summary: { outcome: 'completed' } } }] });
  manifest.scripts = { sigstore: `echo '${sarif}'`, plugin: `echo '{"name":"@yarnpkg/plugin-sigstore","builtin":false}'` };
  p.write('package.json', JSON.stringify(manifest, null, 2));
}

describe.concurrent('the GitHub Action', () => {
  it('is a composite action with one bash step', () => {
    expect(ACTION.runs.using).toBe('composite');
    expect(ACTION.runs.steps).toHaveLength(1);
    expect(ACTION.runs.steps[0].shell).toBe('bash');
  });

  it('control: passes a verified project: exit 0, a valid SARIF log with no result, a summary that says verified', async () => {
    const p = await installedProject(staging.kit, 'action-control');
    const run = await runAction(p);
    expect(run.code, run.output).toBe(0);
    expect(sarifProblems(run.sarif)).toEqual([]);
    expect((run.sarif as { runs: { results: unknown[] }[] }).runs[0].results).toEqual([]);
    expect(run.output).not.toContain('::error');
    expect(run.summary).toContain('## Sigstore provenance: verified');
    expect(run.outputs).toBe('sarif-file=sigstore.sarif\nhtml-file=\n');
    expect(p.exists('sigstore.html')).toBe(false);
  });

  it('writes the whole-tree HTML report when html-file is given, and names it in its outputs', async () => {
    const p = await installedProject(staging.kit, 'action-html');
    const run = await runAction(p, { SIGSTORE_HTML_FILE: 'sigstore.html' });
    expect(run.code, run.output).toBe(0);
    expect(run.outputs).toBe('sarif-file=sigstore.sarif\nhtml-file=sigstore.html\n');
    const page = p.read('sigstore.html')!;
    expect(page).toContain('<h1>Sigstore provenance report');
    expect(page).toContain('action-html');
    expect(sarifProblems(run.sarif)).toEqual([]);
  });

  it('fails a denied package: annotation on its yarn.lock line, the summary names it, the SARIF log is valid; a `sigstore` script changes nothing', async () => {
    const p = await installedProject(staging.kit, 'action-denied');
    p.write('sigstore-policy.yml', policyOf([provenanceRule('action-denied', { repository: 'https://github.com/someone-else/action-denied' })]));
    addSpoofingScripts(p);
    const run = await runAction(p);
    expect(run.code, run.output).not.toBe(0);
    expect(sarifProblems(run.sarif)).toEqual([]);
    const annotation = /^::error file=yarn\.lock,line=(\d+),title=sigstore POLICY_DENIED::(.*)$/m.exec(run.output);
    expect(annotation, run.output).not.toBeNull();
    expect(p.read('yarn.lock')!.split('\n')[Number(annotation![1]) - 1]).toMatch(/^"action-denied@npm:/);
    expect(annotation![2]).toContain('identity.repository expected https://github.com/someone-else/action-denied');
    expect(run.summary).toContain('## Sigstore provenance: FAILED');
    expect(run.summary).toContain('| error | `action-denied@npm:1.0.0` | `POLICY_DENIED` |');
  });

  it('fails when the plugin is not loaded, whatever a `sigstore` script prints', async () => {
    const p = await installedProject(staging.kit, 'action-removed');
    addSpoofingScripts(p);
    p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace(`plugins:\n  - path: ${PLUGIN_RELATIVE_PATH}\n`, ''));
    const run = await runAction(p);
    expect(run.code, run.output).not.toBe(0);
    expect(run.output).toContain('::error title=sigstore::the yarn-plugin-sigstore plugin is not loaded');
  });
});
