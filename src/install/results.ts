/**
 * The results stage: one result per package of the install, the
 * `sigstore-package` events of a `--json` report (one per package and
 * status), the end-of-fetch summary line and event, and the evidence file.
 * Printed through a Printer, which src/yarn/ makes of Yarn's report.
 */
import { ErrorCodes } from '../errors';
import { writeNamedFile } from '../files';
import type { Verdict } from '../policy';
import { allowCommand } from '../policy/commands';
import type { DowngradeFinding } from '../policy/history';
import type { PackageVerification } from '../verify/types';
import type { RegistrySignatureStatus } from './registry-signals';

/** `skipped`: a registry package for another platform that Yarn does not install here. */
export type PackageStatus = 'verified' | 'allowed-unsigned' | 'warned' | 'failed' | 'skipped' | 'allowed-source' | 'local';

export interface PackageResult {
  locator: string;
  name: string;
  version: string;
  status: PackageStatus;
  tgzSha512?: string;
  source?: string;
  verdict?: Verdict;
  verification?: PackageVerification;
  /** The npm registry signature check (registry packages). */
  registrySignature?: RegistrySignatureStatus;
  /** The registry's history made this version without provenance a downgrade (judged by the policy). */
  downgrade?: DowngradeFinding;
  error?: { code: string; message: string };
}

/** The `source` of a result taken from the user's verification cache. */
export const VERIFICATION_CACHE_SOURCE = 'verification cache (user global folder)';

/** The `source` of an "unsigned" remembered from an earlier install's answer. */
export const unsignedCacheSource = (checkedAt: Date) => `remembered answer (user global folder): no attestations as of ${checkedAt.toISOString()}`;

/** Where results are printed: Yarn's report, adapted (src/yarn/pipeline-adapter.ts). */
export interface Printer {
  /** Whether JSON events are printed (building them costs time a plain install need not spend). */
  readonly json: boolean;
  info(text: string): void;
  warning(text: string): void;
  event(data: Record<string, unknown>): void;
}

export function statusOf(verdict: Verdict, outcome: { status: 'verified' | 'unsigned' | 'failed' }): PackageStatus {
  if (verdict.decision === 'deny') return 'failed';
  if (verdict.decision === 'warn') return 'warned';
  return outcome.status === 'verified' ? 'verified' : outcome.status === 'unsigned' ? 'allowed-unsigned' : 'warned';
}

export function publicResult(result: PackageResult & { judgedSha?: string }): Record<string, unknown> {
  const { judgedSha: _judged, verification, ...rest } = result;
  return {
    ...rest,
    identity: verification?.provenance?.identity,
    bundles: [verification?.provenance, verification?.publish]
      .filter((attestation) => attestation !== undefined)
      .map((attestation) => ({ kind: attestation!.kind, predicateType: attestation!.predicateType, bundleDigest: attestation!.bundleDigest, logIndex: attestation!.logIndex, verifiedTime: attestation!.verifiedTime })),
  };
}

/** One install's results, by package key (Yarn's locator hash). */
export class Results {
  readonly byKey = new Map<string, PackageResult & { judgedSha?: string }>();
  /** The registry packages the fetch step announced it would verify, for the summary's counts. */
  readonly announced = new Set<string>();
  /** The status each package's `sigstore-package` event carried: one event per package and status. */
  private readonly reportedStatuses = new Map<string, PackageStatus>();
  /** The outcome the summary was printed with, once it was. */
  summaryOutcome?: 'completed' | 'failed';
  /** The trust material's warnings printed for this install (counted in the summary). */
  trustWarnings: string[] = [];
  /** No trust policy was found (known once the policy is loaded). */
  zeroConfig = false;
  /**
   * Whether sigstore.lock records this version (or its package) as signed: set by the pipeline from its
   * pins. Unset, or failing, every package counts as once signed (the summary then offers no exception).
   */
  signedBefore?: (name: string, version: string) => boolean;

  get(key: string) {
    return this.byKey.get(key);
  }

  set(key: string, result: PackageResult & { judgedSha?: string }): void {
    this.byKey.set(key, result);
  }

  /** Records a package the source check let through, or one not installed on this platform, unless it has a result. */
  recordSource(key: string, about: Pick<PackageResult, 'locator' | 'name' | 'version'>, status: 'allowed-source' | 'local' | 'skipped', reason: string): void {
    if (!this.byKey.has(key)) this.byKey.set(key, { ...about, status, source: reason });
  }

  /** A package that passed verification but whose archive could not be bound to it (or a denied source): counted as a failure. */
  markFailed(key: string, about: Pick<PackageResult, 'locator' | 'name' | 'version'>, error: { code: string; message: string }): void {
    this.byKey.set(key, { ...(this.byKey.get(key) ?? about), status: 'failed', error });
  }

  /** Whether a lifecycle script of this package may run: only with a passing verdict of this install. */
  mayRunScripts(key: string): boolean {
    const status = this.byKey.get(key)?.status;
    return status !== undefined && status !== 'failed';
  }

  /** Prints the package's `sigstore-package` event unless one with its current status was printed already. */
  reportPackage(key: string, printer: Printer): void {
    const result = this.byKey.get(key);
    if (!result || this.reportedStatuses.get(key) === result.status) return;
    this.reportedStatuses.set(key, result.status);
    printer.event({ type: 'sigstore-package', ...publicResult(result) });
  }
}

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

export function summarize(results: Results): Summary {
  const summary: Summary = {
    packages: results.announced.size,
    verified: 0,
    allowedUnsigned: 0,
    warnings: 0,
    failures: 0,
    skipped: 0,
    otherSources: 0,
    otherVerified: 0,
    local: 0,
    otherFailures: 0,
    trustWarnings: results.trustWarnings.length,
    zeroConfig: results.zeroConfig,
  };
  for (const [key, result] of results.byKey) {
    if (!results.announced.has(key)) {
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

/** What the evidence file says of the policy and trust material (undefined: they did not load). */
export interface EvidenceContext {
  policy?: { loaded?: { filepath?: string; digest: string }; notes: string[]; outsideProject?: boolean };
  trust?: { origin: string; digest: string; source: string; ageDays?: number; summary: string; fromEnvironment: string[] };
}

/**
 * The end of the fetch step: the policy's notes, the summary, the evidence
 * file at `evidencePath` (throws EVIDENCE_UNWRITABLE when it cannot be written).
 */
export function reportSummary(results: Results, printer: Printer, outcome: 'completed' | 'failed', context: EvidenceContext, files: { evidencePath: string; project: string }): void {
  const summary = summarize(results);
  if (results.byKey.size === 0 && outcome === 'completed') return;
  for (const note of context.policy?.notes ?? []) printer.info(`sigstore: ${note}`);
  if (!context.policy?.loaded && summary.allowedUnsigned > 0) {
    const remedy = context.policy?.outsideProject ? ' (outside any project, no policy applies)' : '; run `yarn sigstore policy init` to write one';
    printer.info(`sigstore: no trust policy found: unsigned packages are allowed${remedy}`);
  }
  const final = printSummary(results, printer, summary, outcome);
  const { policy, trust } = context;
  const evidence = {
    tool: 'yarn-plugin-sigstore',
    createdAt: new Date().toISOString(),
    outcome: final,
    project: files.project,
    policy: policy?.loaded ? { file: policy.loaded.filepath, digest: policy.loaded.digest } : null,
    trust: trust ? { origin: trust.origin, digest: trust.digest, source: trust.source, ageDays: trust.ageDays ?? null, summary: trust.summary, fromEnvironment: trust.fromEnvironment } : null,
    summary,
    packages: [...results.byKey.values()].map(publicResult),
  };
  writeNamedFile({ path: files.evidencePath, what: 'the evidence file', code: ErrorCodes.EVIDENCE_UNWRITABLE }, `${JSON.stringify(evidence, null, 2)}\n`);
}

/**
 * For `yarn sigstore verify`: the summary of a run the fetch step did not
 * summarize (it failed before the fetch step, e.g. a stale lockfile or a
 * policy that does not load, or had nothing to report), so that a CI job can
 * always tell "verified everything" from "did not run".
 */
export function ensureSummary(results: Results, printer: Printer, outcome: 'completed' | 'failed'): void {
  if (results.summaryOutcome === undefined) printSummary(results, printer, summarize(results), outcome);
}

/**
 * The packages without provenance the default rule denied, which an exception in the project's
 * policy would allow (a `yarn add` often brings several, each message naming `policy allow` for its
 * own). Left out: a package a rule of its own requires to be signed, or that sigstore.lock records
 * as signed; provenance gone from a package that had it is an attack's signal, to look at one by one.
 */
function allowableNames(results: Results): string[] {
  const names = new Set<string>();
  for (const result of results.byKey.values()) {
    const verdict = result.verdict;
    if (result.status !== 'failed' || verdict?.decision !== 'deny' || verdict.resolution !== 'allow' || verdict.rule?.index !== -1) continue;
    if (!wasSigned(results, result)) names.add(result.name);
  }
  return [...names].sort();
}

function wasSigned(results: Results, { name, version }: PackageResult): boolean {
  try {
    return results.signedBefore?.(name, version) ?? true;
  } catch {
    return true;
  }
}

/** The summary line and event, after the events of the packages not reported yet (non-registry ones, late failures). */
function printSummary(results: Results, printer: Printer, summary: Summary, outcome: 'completed' | 'failed'): 'completed' | 'failed' {
  // A failed package is never part of a completed run, whatever stopped first.
  const final = summary.failures + summary.otherFailures > 0 ? 'failed' : outcome;
  if (printer.json) for (const key of results.byKey.keys()) results.reportPackage(key, printer);
  // "0 failures" alone would read as a pass when a stale lockfile or a broken policy stopped the run.
  printer.info(final === 'failed' && summary.failures + summary.otherFailures === 0 ? `${summaryLine(summary)} (stopped before every package was verified)` : summaryLine(summary));
  const allowable = allowableNames(results);
  if (allowable.length > 1) printer.info(`sigstore: to allow the ${allowable.length} packages without provenance the default rule denied, once you accept them: ${allowCommand(...allowable)}`);
  printer.event({ type: 'sigstore-summary', outcome: final, ...summary });
  results.summaryOutcome = final;
  return final;
}
