/**
 * `yarn sigstore verify --all` and `--html <file>`: the run prints as usual
 * while its `sigstore-package` and `sigstore-summary` events (the same ones
 * `--json` prints) are also collected; afterwards they are printed as a tree
 * (Yarn's `treeUtils.emitTree`), as sorted JSON lines, and/or written as an
 * HTML file. The report is built in src/report/ (no Yarn); this only gathers
 * and prints.
 */
import path from 'node:path';
import { treeUtils, type CommandContext, type Configuration, type Project, type StreamReport } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { version } from '../../../package.json';
import { ErrorCodes } from '../../errors';
import { writeNamedFile } from '../../files';
import type { VerifyEvent } from '../../report/sarif';

export interface ReportRequest {
  /** Print every package: a tree, or with `json` the package events sorted. */
  all: boolean;
  json: boolean;
  /** Where to write the HTML report (relative to the working directory). */
  html?: string;
}

/**
 * A view of `report` through which the run's JSON events are collected: it
 * says it reports JSON (the gate then emits an event per package, whatever the
 * output format) and passes them on to `report` only when `forward`.
 */
export function collectingReport(report: StreamReport, forward: boolean): { report: StreamReport; events: VerifyEvent[] } {
  const events: VerifyEvent[] = [];
  const view = new Proxy(report, {
    get(target, property) {
      if (property === 'json') return true;
      if (property === 'reportJson') {
        return (data: VerifyEvent) => {
          events.push(data);
          if (forward) target.reportJson(data);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { report: view, events };
}

/** The expiring rules of the policy the run used: its committed file or `sigstorePolicyPath`; none when it does not load (the run said why). */
async function exceptions(configuration: Configuration, project: Project, now: Date) {
  const { loadPolicy } = await import('../../policy');
  const { policyExceptions } = await import('../../report/model');
  const configured = configuration.get('sigstorePolicyPath');
  try {
    return policyExceptions(await loadPolicy(npath.fromPortablePath(project.cwd), { path: configured ?? undefined }), now);
  } catch {
    return [];
  }
}

/** Prints and writes what `request` asks for from the run's collected events. */
export async function printReport(request: ReportRequest, events: VerifyEvent[], { configuration, project, context }: { configuration: Configuration; project: Project; context: CommandContext }): Promise<void> {
  const { reportRows } = await import('../../report/model');
  const { reportEvents, reportTree } = await import('../../report/tree');
  const now = new Date();
  const rows = reportRows(events);
  const due = request.html !== undefined || (request.all && !request.json) ? await exceptions(configuration, project, now) : [];
  if (request.all && request.json) {
    const others = events.filter((event) => event.type !== 'sigstore-package');
    for (const event of [...reportEvents(events), ...others]) context.stdout.write(`${JSON.stringify(event)}\n`);
  } else if (request.all) {
    treeUtils.emitTree(reportTree(rows, due), { configuration, stdout: context.stdout, json: false });
  }
  if (request.html === undefined) return;
  const { reportHtml } = await import('../../report/html');
  const summary = [...events].reverse().find((event) => event.type === 'sigstore-summary') ?? null;
  const html = reportHtml({ rows, exceptions: due, summary, generatedAt: now, toolVersion: version, project: path.basename(npath.fromPortablePath(project.cwd)) });
  writeNamedFile({ path: path.resolve(npath.fromPortablePath(context.cwd), request.html), what: 'the HTML report', code: ErrorCodes.REPORT_UNWRITABLE }, html);
}
