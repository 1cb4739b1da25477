/** The end-of-fetch summary line and the per-install evidence file. */
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import type { Report } from '@yarnpkg/core';
import { mkdirSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import { publicResult, reportsJson, type GateSession } from './session';

export interface Summary {
  verified: number;
  allowedUnsigned: number;
  warnings: number;
  failures: number;
  otherSources: number;
  /** Workspaces, patches, project-local sources and packages not installed on this platform. */
  local: number;
  /** Every package the run recorded (the sum of the counts above). */
  packages: number;
}

export function summarize(session: GateSession): Summary {
  const summary: Summary = { verified: 0, allowedUnsigned: 0, warnings: 0, failures: 0, otherSources: 0, local: 0, packages: session.results.size };
  for (const result of session.results.values()) {
    if (result.status === 'verified') summary.verified++;
    else if (result.status === 'allowed-unsigned') summary.allowedUnsigned++;
    else if (result.status === 'warned') summary.warnings++;
    else if (result.status === 'failed') summary.failures++;
    else if (result.status === 'allowed-source') summary.otherSources++;
    else if (result.status === 'local') summary.local++;
  }
  return summary;
}

export function summaryLine(summary: Summary): string {
  const extra = summary.otherSources > 0 ? `, ${summary.otherSources} non-registry allowed by sources` : '';
  return `sigstore: ${summary.verified} verified, ${summary.allowedUnsigned} allowed unsigned by rule, ${summary.warnings} warnings, ${summary.failures} failures${extra}`;
}

export async function reportSummary(session: GateSession, report: Report, outcome: 'completed' | 'failed'): Promise<void> {
  const summary = summarize(session);
  if (session.results.size === 0 && outcome === 'completed') return;
  const ready = await session.ready().catch(() => undefined);
  for (const note of ready?.policy.notes ?? []) report.reportInfo(0, `sigstore: ${note}`);
  if (!ready?.policy.loaded && summary.allowedUnsigned > 0) {
    report.reportInfo(0, 'sigstore: no trust policy found: unsigned packages are allowed; run `yarn sigstore policy init` to write one');
  }
  const final = printSummary(session, report, summary, outcome);
  writeEvidence(session, summary, final, ready);
}

/**
 * For `yarn sigstore verify`: the summary of a run the fetch step did not
 * summarize (it failed before the fetch step, e.g. a stale lockfile or a
 * policy that does not load, or had nothing to report), so that a CI job can
 * always tell "verified everything" from "did not run".
 */
export function ensureSummary(session: GateSession, report: Report, outcome: 'completed' | 'failed'): void {
  if (session.summaryOutcome === undefined) printSummary(session, report, summarize(session), outcome);
}

/** The summary line and event, after the events of the packages not reported yet (non-registry ones, late failures). */
function printSummary(session: GateSession, report: Report, summary: Summary, outcome: 'completed' | 'failed'): 'completed' | 'failed' {
  // A failed package is never part of a completed run, whatever stopped first.
  const final = summary.failures > 0 ? 'failed' : outcome;
  if (reportsJson(report)) for (const locatorHash of session.results.keys()) session.reportPackage(locatorHash, report);
  // "0 failures" alone would read as a pass when a stale lockfile or a broken policy stopped the run.
  report.reportInfo(0, final === 'failed' && summary.failures === 0 ? `${summaryLine(summary)} (stopped before every package was verified)` : summaryLine(summary));
  report.reportJson({ type: 'sigstore-summary', outcome: final, ...summary });
  session.summaryOutcome = final;
  return final;
}

function writeEvidence(session: GateSession, summary: Summary, outcome: string, ready: Awaited<ReturnType<GateSession['ready']>> | undefined): void {
  const path =
    session.settings.evidencePath ??
    npath.fromPortablePath(ppath.join(session.project.cwd, '.yarn/sigstore-evidence.json' as PortablePath));
  const evidence = {
    tool: 'yarn-plugin-sigstore',
    createdAt: new Date().toISOString(),
    outcome,
    project: npath.fromPortablePath(session.project.cwd),
    policy: ready?.policy.loaded ? { file: ready.policy.loaded.filepath, digest: ready.policy.loaded.digest } : null,
    trust: ready ? { origin: ready.trust.origin, digest: ready.trust.digest, source: ready.trustInfo.source, ageDays: ready.trustInfo.ageDays ?? null, summary: ready.trustInfo.summary, fromEnvironment: ready.trustInfo.fromEnvironment } : null,
    summary,
    packages: [...session.results.values()].map(publicResult),
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(evidence, null, 2)}\n`);
}
