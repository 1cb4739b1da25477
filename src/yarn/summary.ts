/** The end-of-fetch summary line and the per-install evidence file. */
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import type { Report } from '@yarnpkg/core';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { writeNamedFile } from '../files';
import { reportError } from './errors';
import { publicResult, reportsJson, type GateSession } from './session';

export interface Summary {
  /**
   * The registry packages announced ("verifying N registry packages"). In a
   * run that reached every package: verified + allowedUnsigned + warnings +
   * failures + skipped.
   */
  packages: number;
  verified: number;
  allowedUnsigned: number;
  /** Packages the policy warned about (warn mode). */
  warnings: number;
  failures: number;
  /** Registry packages for another platform, which Yarn does not install here. */
  skipped: number;
  /** Non-registry packages the policy's `sources` admit. */
  otherSources: number;
  /** Of those, tarball URLs whose `<url>.sigstore.json` bundle verified. */
  otherVerified: number;
  /** Workspaces, patches and project-local sources. */
  local: number;
  /** Non-registry packages refused. */
  otherFailures: number;
  /** Warnings about the trust material (its age, an override from the environment). */
  trustWarnings: number;
  /** Whether no trust policy was found: the unsigned were allowed for want of one, not by a rule. */
  zeroConfig: boolean;
}

export function summarize(session: GateSession): Summary {
  const summary: Summary = {
    packages: session.announced.size,
    verified: 0,
    allowedUnsigned: 0,
    warnings: 0,
    failures: 0,
    skipped: 0,
    otherSources: 0,
    otherVerified: 0,
    local: 0,
    otherFailures: 0,
    trustWarnings: session.trustWarnings.length,
    zeroConfig: session.zeroConfig,
  };
  for (const [locatorHash, result] of session.results) {
    if (!session.announced.has(locatorHash)) {
      if (result.status === 'failed') summary.otherFailures++;
      else if (result.status === 'local') summary.local++;
      else {
        summary.otherSources++;
        if (result.status === 'verified') summary.otherVerified++;
      }
    } else if (result.status === 'verified') summary.verified++;
    else if (result.status === 'allowed-unsigned') summary.allowedUnsigned++;
    else if (result.status === 'warned') summary.warnings++;
    else if (result.status === 'failed') summary.failures++;
    else if (result.status === 'skipped') summary.skipped++;
  }
  return summary;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export function summaryLine(summary: Summary): string {
  const unsigned = summary.zeroConfig ? 'allowed unsigned (no policy)' : 'allowed unsigned by rule';
  const parts = [`${summary.verified} verified`, `${summary.allowedUnsigned} ${unsigned}`, `${summary.warnings} warnings`, `${summary.failures} failures`];
  if (summary.skipped > 0) parts.push(`${summary.skipped} skipped (not installed on this platform)`);
  if (summary.otherSources > 0) parts.push(`${summary.otherSources} non-registry allowed by sources${summary.otherVerified > 0 ? ` (${summary.otherVerified} with a verified bundle)` : ''}`);
  if (summary.otherFailures > 0) parts.push(`${summary.otherFailures} non-registry denied`);
  const trust = summary.trustWarnings > 0 ? `; ${plural(summary.trustWarnings, 'trust warning')}` : '';
  return `sigstore: ${parts.join(', ')}${trust}`;
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
  const final = summary.failures + summary.otherFailures > 0 ? 'failed' : outcome;
  if (reportsJson(report)) for (const locatorHash of session.results.keys()) session.reportPackage(locatorHash, report);
  // "0 failures" alone would read as a pass when a stale lockfile or a broken policy stopped the run.
  report.reportInfo(0, final === 'failed' && summary.failures + summary.otherFailures === 0 ? `${summaryLine(summary)} (stopped before every package was verified)` : summaryLine(summary));
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
  try {
    writeNamedFile({ path, what: 'the evidence file', code: ErrorCodes.EVIDENCE_UNWRITABLE }, `${JSON.stringify(evidence, null, 2)}\n`);
  } catch (error) {
    throw reportError(error as SigstorePluginError);
  }
}
