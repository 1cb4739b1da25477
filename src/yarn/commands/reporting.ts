/** Prints a failure with the plugin's stable code, whatever threw it. */
import { MessageName, type Report } from '@yarnpkg/core';
import { toPluginError } from '../errors';

export function reportPluginError(report: Report, error: unknown, subject: string): void {
  const coded = (error as { sigstoreCode?: string }).sigstoreCode;
  // A gate ReportError already reads `sigstore [CODE] ...`.
  if (coded) return void report.reportError(MessageName.UNNAMED, (error as Error).message);
  const plugin = toPluginError(error, subject);
  report.reportError(MessageName.UNNAMED, `sigstore [${plugin.code}] ${plugin.message}`);
}
