/**
 * `yarn sigstore policy allow <package>[@<range>]... --reason "..." [--expires YYYY-MM-DD]`:
 * adds or renews an exception for each package without provenance, editing
 * the YAML policy in place.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { structUtils, type StreamReport } from '@yarnpkg/core';
import { Command, Option, type Usage } from 'clipanion';
import type { PackageSelector } from '../../policy';
import { npmVersion } from '../locators';
import { lockfileRegistryPackages, openProject, runReport, type OpenProject } from './context';
import { runPolicyEdit, today } from './policy-edit';
import { reportPluginError } from './reporting';

/** How long an exception holds when `--expires` is not given: the review period `policy init` uses. */
export const EXCEPTION_DAYS = 90;

export class SigstorePolicyAllowCommand extends BaseCommand {
  static override paths = [['sigstore', 'policy', 'allow']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: 'allow packages without provenance, with a reason and an expiry',
    details: `
      Adds a \`require: none\` exception for the package to the trust policy, or renews the one it has (new \`reason\` and \`expires\`), editing the YAML file in place: comments, order and every other line stay as they are.

      The package joins an exception with the same reason and expiry, or gets a rule of its own. When an earlier rule selects the package (say \`@acme/*\` requiring provenance), the exception is placed before that rule, since the first matching rule decides, and the command says so. When it expires, the rules below it apply again.

      The edited policy is validated, with its \`extends\` baselines, and must allow the package before anything is written. A baseline that requires provenance for the package cannot be relaxed here. A JSON or JavaScript policy is not edited: the command prints the rule to add by hand.

      Several packages (the new dependencies a \`yarn up\` or \`yarn add\` brought in) take one command: each is edited in turn, with the same reason and expiry, and the first that cannot be allowed stops the command (those before it stay written).

      \`--expires\` defaults to ${EXCEPTION_DAYS} days from today. A bundle the package carries is still verified under the exception. \`--dry-run\` prints the change without writing it.
    `,
    examples: [
      ['Allow a package until the end of June 2027', 'yarn sigstore policy allow left-pad --reason "no provenance upstream, ACME-123" --expires 2027-06-30'],
      ['Allow only the 1.x line, 90 days', 'yarn sigstore policy allow legacy-lib@^1.0.0 --reason "replaced in Q3"'],
      ['Allow the unsigned dependencies an upgrade brought in', 'yarn sigstore policy allow strip-ansi-cjs wrap-ansi-cjs --reason "eslint 9 upgrade, ACME-124"'],
      ['See the change without writing it', 'yarn sigstore policy allow left-pad --reason "ACME-123" --dry-run'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print the result as JSON' });
  reason = Option.String('--reason', { required: true, description: 'Why the package is trusted without provenance (written to the rule)' });
  expires = Option.String('--expires', { description: `Last day (YYYY-MM-DD, UTC) the exception applies (default: ${EXCEPTION_DAYS} days from today)` });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Print the change without writing the policy' });
  requests = Option.Rest({ name: 'package[@range]', required: 1 });

  async execute(): Promise<number> {
    const open = await openProject(this.context);
    return runReport(open.configuration, this.context, this.json, async (report) => {
      for (const subject of this.requests) {
        try {
          await this.allow(open, report, subject);
        } catch (error) {
          return reportPluginError(report, error, subject);
        }
      }
    });
  }

  /** Loaded once for all the packages of the command (each `import()` of a bundled module copies its exports again). */
  private modules?: Promise<[typeof import('../../policy/edit'), typeof import('../../policy')]>;

  private async allow(open: OpenProject, report: StreamReport, subject: string): Promise<void> {
    const [{ allowUnsigned, lowestVersionOf }, { evaluate, parseSelector }] = await (this.modules ??= Promise.all([import('../../policy/edit'), import('../../policy')]));
    const selector = parseSelector(subject);
    const now = new Date();
    const expires = this.expires ?? today(new Date(now.getTime() + EXCEPTION_DAYS * 24 * 3600 * 1000));
    const request = { selector: subject, reason: this.reason.trim(), expires, today: today(now) };
    await runPolicyEdit(open, report, {
      command: 'allow',
      subject,
      dryRun: this.dryRun,
      byHand: JSON.stringify({ packages: [subject], require: 'none', reason: request.reason, expires }),
      edit: (text, file, at) => allowUnsigned(text, file, request, at),
      verdicts: (policy, at) => [lowestVersionOf(subject), ...lockfileVersions(open, selector)].map((version) => evaluate(policy, { name: selector.name, version }, { status: 'unsigned' }, { now: at })),
    });
  }
}

/** The lockfile's versions of the package that the selector takes in: each must be allowed by the edited policy. */
function lockfileVersions(open: OpenProject, selector: PackageSelector): string[] {
  return lockfileRegistryPackages(open)
    .map((locator) => ({ name: structUtils.stringifyIdent(locator), version: npmVersion(locator) }))
    .filter((pkg): pkg is { name: string; version: string } => pkg.version !== null && selector.test(pkg.name, pkg.version))
    .map((pkg) => pkg.version);
}
