/**
 * `yarn sigstore verify`: runs the install gate over the lockfile's packages
 * (Yarn's own fetch step, gated exactly as during `yarn install`) and stops
 * before anything is linked or any script runs. Verified archives land in
 * Yarn's cache, so the `yarn install` that follows does not download again.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { Cache } from '@yarnpkg/core';
import { Command, Option, UsageError, type Usage } from 'clipanion';
import type { CommandContext } from '@yarnpkg/core';
import { openProject, resolveFromLockfile, runReport, type OpenProject } from './context';
import { assertLockfileCurrent } from './lockfileCoverage';
import { reportPluginError } from './reporting';
import { OUTPUT_FORMATS, printSarif } from './sarifOutput';
import { SigstorePluginError } from '../../errors';
import { ensureSummary } from '../summary';

export class SigstoreVerifyCommand extends BaseCommand {
  static override paths = [['sigstore', 'verify']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: "verify the provenance of every package in the lockfile against the trust policy",
    details: `
      Resolves the project from its lockfile alone (a package missing from the lockfile is an error), fetches every package and runs the same checks as the install gate: the package's Sigstore bundles are verified against the trusted root, bound to the exact tarball bytes, and judged by the trust policy. Nothing is linked and no script runs.

      Exits with 1 when any package fails. Run it in CI before \`yarn install --immutable\`: if the plugin is missing or disabled, this command does not exist and the job fails instead of installing unchecked.

      With \`--format sarif\`, prints one SARIF 2.1.0 log instead (for GitHub code scanning and this plugin's GitHub Action): a result per failed or warned package on its \`yarn.lock\` entry, and \`executionSuccessful\` true only for a completed run.

      With \`--json\`, prints one \`sigstore-package\` event per package (registry packages, sources the policy allows, workspaces) and always ends with one \`sigstore-summary\` event whose \`outcome\` is \`completed\` only when every package was verified without a failure.
    `,
    examples: [
      ['Verify the lockfile before installing', 'yarn sigstore verify'],
      ['Machine-readable results', 'yarn sigstore verify --json'],
      ['A SARIF log for code scanning', 'yarn sigstore verify --format sarif > sigstore.sarif'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON event per package and a summary' });

  format = Option.String('--format', 'text', { description: 'text, json (as --json) or sarif (one SARIF 2.1.0 log)' });

  async execute(): Promise<number> {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(this.format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')} (found ${this.format})`);
    const open = await openProject(this.context);
    if (this.format !== 'sarif') return this.verify(open, this.context, this.json || this.format === 'json');
    return printSarif(this.context, open.project, (context) => this.verify(open, context, true));
  }

  private async verify({ configuration, project, session }: OpenProject, context: CommandContext, json: boolean): Promise<number> {
    const cache = await Cache.find(configuration);
    return runReport(configuration, context, json, async (report) => {
      try {
        assertLockfileCurrent(project, 'yarn sigstore verify');
        await report.startTimerPromise('Resolution step (lockfile only)', () => resolveFromLockfile(project, report));
        if (report.hasErrors()) return;
        // The gate's fetch-step hook announces the policy, verifies and prints the summary.
        await report.startTimerPromise('Verification step', () => project.fetchEverything({ cache, report }));
      } catch (error) {
        // Yarn's fetch step reported its own errors already (reportExceptionOnce keys on the error object).
        if (error instanceof SigstorePluginError) reportPluginError(report, error, 'yarn.lock');
        else report.reportExceptionOnce(error as Error);
      } finally {
        // Whatever stopped the run, the last event says whether it verified everything.
        ensureSummary(session, report, report.hasErrors() ? 'failed' : 'completed');
      }
    });
  }
}
