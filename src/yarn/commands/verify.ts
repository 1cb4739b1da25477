/**
 * `yarn sigstore verify`: runs the install gate over the lockfile's packages
 * (Yarn's own fetch step, gated exactly as during `yarn install`) and stops
 * before anything is linked or any script runs. Verified archives land in
 * Yarn's cache, so the `yarn install` that follows does not download again.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { Cache, type StreamReport } from '@yarnpkg/core';
import { Command, Option, UsageError, type Usage } from 'clipanion';
import type { CommandContext } from '@yarnpkg/core';
import { openProject, resolveFromLockfile, runReport, type OpenProject } from './context';
import { assertLockfileCurrent } from './lockfile-coverage';
import { reportPluginError } from './reporting';
import { OUTPUT_FORMATS, printSarif } from './sarif-output';
import { SigstorePluginError } from '../../errors';
import type { VerifyEvent } from '../../report/sarif';

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

      With \`--all\`, also lists every package after the run, grouped by signer (its source repository; then publish attestations only, no verified signer, other sources, other platforms, the project's own), each with its status, workflow, ref, Rekor log index and the policy rule or source decision that let it in or stopped it, and the policy exceptions expired or expiring within 30 days. With \`--all --json\`, the \`sigstore-package\` events come in that order (group, name, locator) with \`group\`, \`signer\`, \`logIndex\`, \`decidedBy\` and \`expires\` added, then the summary.

      With \`--html <file>\`, also writes one self-contained HTML page of the run (no script, no external resource): the signed share, failures, exceptions expiring, and each signer with its packages. It combines with any format.
    `,
    examples: [
      ['Verify the lockfile before installing', 'yarn sigstore verify'],
      ['Machine-readable results', 'yarn sigstore verify --json'],
      ['A SARIF log for code scanning', 'yarn sigstore verify --format sarif > sigstore.sarif'],
      ['Every package, grouped by signer', 'yarn sigstore verify --all'],
      ['Every package as sorted JSON lines', 'yarn sigstore verify --all --json'],
      ['An HTML report beside the SARIF log', 'yarn sigstore verify --format sarif --html sigstore-report.html > sigstore.sarif'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON event per package and a summary' });

  format = Option.String('--format', 'text', { description: 'text, json (as --json) or sarif (one SARIF 2.1.0 log)' });

  all = Option.Boolean('--all', false, { description: 'Then list every package, grouped by signer (with --json: the package events sorted)' });

  html = Option.String('--html', { description: 'Also write a self-contained HTML report of the run to this file' });

  async execute(): Promise<number> {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(this.format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')} (found ${this.format})`);
    if (this.all && this.format === 'sarif') throw new UsageError('--all prints a tree or JSON lines, not SARIF: use --html <file> for a whole-tree report beside the SARIF log');
    const open = await openProject(this.context);
    if (this.format !== 'sarif') return this.verify(open, this.context, this.json || this.format === 'json');
    return printSarif(this.context, open.project, (context) => this.verify(open, context, true));
  }

  /** Runs the verification; with --all or --html, collects its events and prints or writes the report after it. */
  private async verify(open: OpenProject, context: CommandContext, json: boolean): Promise<number> {
    if (!this.all && this.html === undefined) return this.run(open, context, json);
    const { collectingReport, printReport } = await import('./report-output');
    let events: VerifyEvent[] = [];
    // With --all --json the package events are printed sorted afterwards, not as they come.
    const code = await this.run(open, context, json, (report) => {
      const collecting = collectingReport(report, !(this.all && json));
      events = collecting.events;
      return collecting.report;
    });
    try {
      await printReport({ all: this.all, json, html: this.html }, events, { ...open, context });
    } catch (error) {
      return runReport(open.configuration, context, json, async (report) => reportPluginError(report, error, this.html ?? 'the report'));
    }
    return code;
  }

  private async run({ configuration, project, session }: OpenProject, context: CommandContext, json: boolean, view: (report: StreamReport) => StreamReport = (report) => report): Promise<number> {
    const cache = await Cache.find(configuration);
    return runReport(configuration, context, json, async (yarnReport) => {
      const report = view(yarnReport);
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
        session.ensureSummary(report, report.hasErrors() ? 'failed' : 'completed');
      }
    });
  }
}
