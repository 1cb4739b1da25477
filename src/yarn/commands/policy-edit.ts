/**
 * What `policy allow` and `policy trust` share: find the policy the gate
 * loads, edit it, check the result as the gate would load it (baselines
 * included) and that it decides the package as asked, then print the change
 * (`--dry-run`) or write it. Nothing invalid, and nothing that would not
 * take effect, is ever written.
 */
import { MessageName, type StreamReport } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { readFileSync, writeFileSync } from 'fs';
import path from 'path';
import { ErrorCodes, SigstorePluginError } from '../../errors';
import type { LoadedPolicy, Verdict } from '../../policy';
import type { PolicyEdit } from '../../policy/edit';
import type { OpenProject } from './context';

export interface PolicyEditRun {
  command: 'allow' | 'trust';
  /** The package as the user named it. */
  subject: string;
  dryRun: boolean;
  /** The rule to add by hand, for a policy the command does not edit (JSON, JavaScript). */
  byHand: string;
  edit(text: string, file: string, now: Date): PolicyEdit;
  /** The verdicts the edited policy gives the package: each must allow it. */
  verdicts(policy: LoadedPolicy, now: Date): Verdict[];
}

/** YAML files the commands edit; JSON, JavaScript and package.json policies are edited by hand. */
function isYamlPolicy(file: string): boolean {
  return /\.ya?ml$/i.test(file) || path.basename(file) === '.sigstorerc';
}

export function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export async function runPolicyEdit(open: OpenProject, report: StreamReport, run: PolicyEditRun): Promise<void> {
  const [{ validatePolicyText, formatProblem }, { diffLines, formatDiff }] = await Promise.all([import('../../policy'), import('../../policy/line-diff')]);
  const { policy } = await open.session.ready();
  const file = policy.loaded?.filepath;
  if (!file) {
    const dir = npath.fromPortablePath(open.project.cwd);
    throw new SigstorePluginError(ErrorCodes.POLICY_NOT_FOUND, `no trust policy in ${dir} to edit: write one with \`yarn sigstore policy init\` (it records today's dependencies, unsigned ones as exceptions), then run \`yarn sigstore policy ${run.command} ${run.subject}\` again`);
  }
  if (!isYamlPolicy(file)) {
    throw new SigstorePluginError(ErrorCodes.POLICY_NOT_EDITABLE, `${file} is not a YAML policy: \`yarn sigstore policy ${run.command}\` edits YAML only (keeping its comments). Add this rule by hand, before any rule that selects ${run.subject}: ${run.byHand}`);
  }
  const now = new Date();
  const original = readFileSync(file, 'utf8');
  const edit = run.edit(original, file, now);
  const check = await validatePolicyText(edit.text, file);
  if (!check.policy) {
    const errors = check.problems.filter((problem) => problem.severity === 'error').map(formatProblem);
    throw new SigstorePluginError(ErrorCodes.POLICY_INVALID, `the edited policy would not load, so ${file} was left as it is:\n${errors.join('\n')}`);
  }
  const refused = run.verdicts(check.policy, now).filter((verdict) => verdict.decision !== 'allow');
  if (refused.length > 0) {
    throw new SigstorePluginError(ErrorCodes.POLICY_EDIT_REFUSED, `even after the edit the policy would not allow it, so ${file} was left as it is: ${refused.map((verdict) => verdict.message).join('; ')}`);
  }
  const info = (text: string) => report.reportInfo(MessageName.UNNAMED, text);
  info(`sigstore: ${path.basename(file)}: ${edit.summary}`);
  for (const note of edit.notes) info(`sigstore: note: ${note}`);
  const written = edit.changed && !run.dryRun;
  if (edit.changed && run.dryRun) {
    for (const line of formatDiff(diffLines(original, edit.text))) info(`  ${line}`);
    info(`sigstore: dry run: ${file} not written`);
  }
  if (written) {
    writeFileSync(file, edit.text);
    info(`sigstore: wrote ${file}; review the change and commit it`);
  }
  report.reportJson({ type: 'sigstore-policy-edit', command: run.command, package: run.subject, file, rule: edit.ruleIndex, changed: edit.changed, written, notes: edit.notes, summary: edit.summary });
}
