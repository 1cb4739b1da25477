/**
 * The README's CI step, run as GitHub runs it (`bash -eo pipefail`), against
 * a repository that tries to fake it: the plugin not loaded (removed from
 * .yarnrc.yml, or YARN_RC_FILENAME pointing at another rc file) and a
 * package.json script named `sigstore` (and one named `plugin`) printing the
 * lines the step looks for. The step must fail; with the plugin loaded, the
 * plugin's own verdict decides whatever the scripts print.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/fixtures';
import { PLUGIN_RELATIVE_PATH, type YarnProject } from '../../testkit/yarn';
import { ciStaging, installedProject, runBash } from '../../testkit/ci-runner';
import { policyOf, provenanceRule } from '../../testkit/attack-harness';

/** The `run:` block of the README's "Verify Sigstore provenance" step, as written there. */
function readmeCiStep(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const match = /- name: Verify Sigstore provenance\n\s+run: \|\n((?:\s{10}.*\n)+)/.exec(readme);
  if (!match) throw new Error('README.md has no "Verify Sigstore provenance" step');
  return match[1].replace(/^ {10}/gm, '');
}

const staging = ciStaging();

/** The step as GitHub runs a `run:` step (`bash -eo pipefail`). */
const runStep = (p: YarnProject, env: Record<string, string> = {}) => runBash(p, staging.shims, ['-eo', 'pipefail', '-c', readmeCiStep()], env);

/** package.json scripts printing what the README's step looks for. */
function addSpoofingScripts(p: YarnProject): void {
  const manifest = JSON.parse(p.read('package.json')!);
  const summary = JSON.stringify({ type: 'sigstore-summary', outcome: 'completed', verified: 1, allowedUnsigned: 0, warnings: 0, failures: 0, otherSources: 0, local: 0, packages: 1 });
  const runtime = JSON.stringify({ name: '@yarnpkg/plugin-sigstore', builtin: false });
  manifest.scripts = { sigstore: `echo '${summary}'`, plugin: `echo '${runtime}'` };
  p.write('package.json', JSON.stringify(manifest, null, 2));
}

describe.concurrent("the README's CI step", () => {
  it('control: passes on a verified project with the plugin loaded', async () => {
    const p = await installedProject(staging.kit, 'ci-control');
    const step = await runStep(p);
    expect(step.code, step.output).toBe(0);
  });

  it('fails when the plugin is removed from .yarnrc.yml and a `sigstore` script prints a completed summary', async () => {
    const p = await installedProject(staging.kit, 'ci-removed');
    addSpoofingScripts(p);
    p.write('.yarnrc.yml', p.read('.yarnrc.yml')!.replace(`plugins:\n  - path: ${PLUGIN_RELATIVE_PATH}\n`, ''));
    // The spoof itself works: the script answers `yarn sigstore verify --json` with the expected summary.
    const spoof = await p.run(['sigstore', 'verify', '--json']);
    expect(spoof.output).toContain('"outcome":"completed"');
    const step = await runStep(p);
    expect(step.code, step.output).not.toBe(0);
  });

  it('fails when YARN_RC_FILENAME points at an rc file without the plugin, with the spoofing scripts', async () => {
    const p = await installedProject(staging.kit, 'ci-rc-filename');
    addSpoofingScripts(p);
    p.write('ci.yml', p.read('.yarnrc.yml')!.replace(`plugins:\n  - path: ${PLUGIN_RELATIVE_PATH}\n`, ''));
    const step = await runStep(p, { YARN_RC_FILENAME: 'ci.yml' });
    expect(step.code, step.output).not.toBe(0);
  });

  it('with the plugin loaded, a `sigstore` script cannot answer for it: a package the policy now denies fails the step', async () => {
    const p = await installedProject(staging.kit, 'ci-denied');
    p.write('sigstore-policy.yml', policyOf([provenanceRule('ci-denied', { repository: 'https://github.com/someone-else/ci-denied' })]));
    addSpoofingScripts(p);
    const step = await runStep(p);
    expect(step.code, step.output).not.toBe(0);
    expect(step.output).toContain('POLICY_DENIED');
  });
});
