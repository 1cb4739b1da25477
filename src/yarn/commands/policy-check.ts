/** `yarn sigstore policy check [file]`: every problem of a policy file (and its baselines), for editors and hooks. */
import { BaseCommand } from '@yarnpkg/cli';
import { MessageName } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { Command, Option, type Usage } from 'clipanion';
import path from 'path';
import { ErrorCodes } from '../../errors';
import { openProject, runReport } from './context';

export class SigstorePolicyCheckCommand extends BaseCommand {
  static override paths = [['sigstore', 'policy', 'check']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: 'validate a trust policy and print every problem',
    details: `
      Reads the given policy file (default: the project's policy, as the install gate finds it) and its \`extends\` baselines, and prints every error and warning with the file, the place inside it and what was expected. Exits with 1 when there is any error; warnings alone exit with 0.
    `,
    examples: [
      ["Check the project's policy", 'yarn sigstore policy check'],
      ['Check a file (pre-commit hook)', 'yarn sigstore policy check config/sigstore-policy.yml'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object per problem and a summary' });
  file = Option.String({ required: false, name: 'file' });

  async execute(): Promise<number> {
    const open = await openProject(this.context);
    const projectDir = npath.fromPortablePath(open.project.cwd);
    const { findPolicyFiles, formatProblem, validatePolicyFile } = await import('../../policy');
    return runReport(open.configuration, this.context, this.json, async (report) => {
      const explicit = this.file ?? open.session.settings.policyPath ?? undefined;
      const candidates = explicit !== undefined ? [path.resolve(this.context.cwd, explicit)] : findPolicyFiles(projectDir);
      if (candidates.length !== 1) {
        const found = candidates.length === 0 ? 'none found; write one with `yarn sigstore policy init`' : `several: ${candidates.join(', ')}; keep exactly one`;
        return report.reportError(MessageName.UNNAMED, `sigstore [${candidates.length === 0 ? ErrorCodes.POLICY_NOT_FOUND : ErrorCodes.POLICY_INVALID}] expected one trust policy in ${projectDir}: ${found}`);
      }
      const check = await validatePolicyFile(candidates[0]);
      for (const problem of check.problems) {
        report.reportJson({ type: 'sigstore-policy-problem', ...problem });
        if (problem.severity === 'error') report.reportError(MessageName.UNNAMED, `sigstore [${ErrorCodes.POLICY_INVALID}] ${formatProblem(problem)}`);
        else report.reportWarning(MessageName.UNNAMED, `sigstore: ${formatProblem(problem)}`);
      }
      const errors = check.problems.filter((problem) => problem.severity === 'error').length;
      report.reportJson({ type: 'sigstore-policy-check', file: check.filepath, valid: errors === 0, errors, warnings: check.problems.length - errors });
      if (errors === 0) report.reportInfo(MessageName.UNNAMED, `sigstore: ${check.filepath} is valid (${check.problems.length} warnings)`);
    });
  }
}
