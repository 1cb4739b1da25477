/** Turns the plugin's coded errors into Yarn's ReportError, keeping code and message. */
import { MessageName, ReportError } from '@yarnpkg/core';
import type { SigstorePluginError } from '../errors';
import { printableMessage } from '../printable';

export { toPluginError } from '../errors';

/** A Yarn ReportError that still carries the plugin's stable code. */
export type CodedReportError = ReportError & { sigstoreCode: string };

export function reportError(error: SigstorePluginError | { code: string; message: string }): CodedReportError {
  return Object.assign(new ReportError(MessageName.UNNAMED, `sigstore [${error.code}] ${printableMessage(error.message)}`), { sigstoreCode: error.code });
}
