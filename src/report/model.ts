/**
 * The whole-tree report's model (`yarn sigstore verify --all`, `--html`): one
 * row per `sigstore-package` event of `verify --json`, its signer and the
 * rule or source decision that let it in or stopped it, grouped by signer in
 * a stable order; and the policy's exceptions that expire. Knows nothing of
 * Yarn: it reads the events and a loaded policy. Every string in an event
 * comes from registry metadata or a certificate: outputs escape it.
 */
import path from 'node:path';
import { ErrorCodes } from '../errors';
import { describeRule, isExpired } from '../policy/evaluate';
import { sourceRepositoryOf, workflowPathOf } from '../policy/identity';
import type { LoadedPolicy } from '../policy/load';
import type { SignerIdentity } from '../verify/types';
import type { VerifyEvent } from './sarif';

/** What a group gathers; its order is the order of the report. */
export type GroupKind = 'signer' | 'publish-only' | 'no-signer' | 'source' | 'skipped' | 'project';

const GROUP_ORDER: GroupKind[] = ['signer', 'publish-only', 'no-signer', 'source', 'skipped', 'project'];

const GROUP_LABELS: Record<Exclude<GroupKind, 'signer'>, string> = {
  'publish-only': 'publish attestation only (npm registry key, no provenance)',
  'no-signer': 'no verified signer (unsigned, or a bundle that failed)',
  source: 'other sources (git, tarball, exec, outside the project), decided by the policy sources',
  skipped: 'not installed on this platform (not verified)',
  project: 'workspaces and project-local packages (patches, files of the project)',
};

export interface Signer {
  /** The source repository the provenance names, else the certificate's subject (SAN). */
  repository: string;
  /** The workflow file that defined the build, else the signing workflow URI. */
  workflow?: string;
  ref?: string;
  issuer?: string;
}

export interface ReportRow {
  locator: string;
  name: string;
  version: string;
  /** `verified`, `allowed-unsigned`, `warned`, `failed`, `skipped`, `allowed-source` or `local`. */
  status: string;
  group: { kind: GroupKind; label: string };
  signer?: Signer;
  /** The Rekor log index of the provenance bundle, else of the publish attestation. */
  logIndex?: string;
  /** The policy rule that decided (`rules[0] (@acme/*)`, `default rule`), or the source decision. */
  decidedBy: string;
  /** The deciding rule's expiry, when it is an exception that expires. */
  expires?: string;
  /** The stable code and message of a failure. */
  error?: { code: string; message: string };
  /** The verdict's message, for a warned or failed package. */
  message?: string;
}

export interface ReportGroup {
  kind: GroupKind;
  label: string;
  rows: ReportRow[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

const record = (value: unknown): Record<string, unknown> | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);

/** The locator's reference (`npm:1.0.0`, `workspace:.`, `patch:...`): after the first `@` past a scope's. */
function referenceOf(locator: string): string {
  const at = locator.indexOf('@', 1);
  return at === -1 ? '' : locator.slice(at + 1);
}

function signerOf(identity: Record<string, unknown> | undefined): Signer | undefined {
  if (!identity || !text(identity.san)) return undefined;
  const claims = identity as unknown as SignerIdentity;
  const repository = text(sourceRepositoryOf(claims)) ?? String(identity.san);
  const workflow = text(workflowPathOf(claims)) ?? text(claims.buildSignerUri) ?? (claims.sanType === 'uri' ? text(claims.san) : undefined);
  const ref = text(claims.sourceRepositoryRef);
  const issuer = text(claims.issuer);
  return { repository, ...(workflow ? { workflow } : {}), ...(ref ? { ref } : {}), ...(issuer ? { issuer } : {}) };
}

function logIndexOf(bundles: unknown): string | undefined {
  if (!Array.isArray(bundles)) return undefined;
  const all = bundles.map(record).filter((bundle) => bundle !== undefined);
  const chosen = all.find((bundle) => bundle.kind === 'provenance') ?? all.find((bundle) => bundle.kind === 'publish');
  return text(chosen?.logIndex);
}

function groupOf(status: string, reference: string, signer: Signer | undefined, hasPublish: boolean): ReportRow['group'] {
  if (signer) return { kind: 'signer', label: signer.repository };
  let kind: GroupKind;
  if (status === 'local') kind = 'project';
  else if (status === 'skipped') kind = 'skipped';
  else if (status === 'allowed-source' || !reference.startsWith('npm:')) kind = 'source';
  else kind = hasPublish ? 'publish-only' : 'no-signer';
  return { kind, label: GROUP_LABELS[kind] };
}

function decidedByOf(event: VerifyEvent, rule: Record<string, unknown> | undefined, status: string): string {
  if (rule) return text(rule.description) ?? `rules[${String(rule.index)}]`;
  // A source decision names the locator first; the row already does.
  const source = text(event.source)?.replace(`${String(event.locator)}: `, '');
  if (source && status !== 'verified' && status !== 'allowed-unsigned' && status !== 'warned') return source;
  const verdict = record(event.verdict);
  // Zero-config verdicts carry no rule: the absence of a policy decided.
  if (verdict) return 'no trust policy (zero-config)';
  return source ?? 'no decision recorded';
}

/** One report row of a `sigstore-package` event. */
export function reportRow(event: VerifyEvent): ReportRow {
  const locator = String(event.locator ?? '');
  const status = text(event.status) ?? 'unknown';
  const verdict = record(event.verdict);
  const rule = record(verdict?.rule);
  const signer = signerOf(record(event.identity));
  const hasPublish = Array.isArray(event.bundles) && event.bundles.some((bundle) => record(bundle)?.kind === 'publish');
  const logIndex = logIndexOf(event.bundles);
  const expires = text(rule?.expires);
  // A policy denial carries no error of its own: the gate stops it as POLICY_DENIED.
  const error = record(event.error) ?? (status === 'failed' && verdict?.decision === 'deny' ? { code: ErrorCodes.POLICY_DENIED, message: verdict.message } : undefined);
  const message = status === 'failed' || status === 'warned' ? text(verdict?.message) : undefined;
  return {
    locator,
    name: String(event.name ?? ''),
    version: String(event.version ?? ''),
    status,
    group: groupOf(status, referenceOf(locator), signer, hasPublish),
    ...(signer ? { signer } : {}),
    ...(logIndex ? { logIndex } : {}),
    decidedBy: decidedByOf(event, rule, status),
    ...(expires ? { expires } : {}),
    ...(error ? { error: { code: String(error.code ?? 'ERROR'), message: String(error.message ?? '') } } : {}),
    ...(message ? { message } : {}),
  };
}

/** Code-unit order, not the locale's: the same list sorts the same on every machine. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The report's order: group (signers by repository), then name, then locator. */
export function compareRows(a: ReportRow, b: ReportRow): number {
  return GROUP_ORDER.indexOf(a.group.kind) - GROUP_ORDER.indexOf(b.group.kind) || compare(a.group.label, b.group.label) || compare(a.name, b.name) || compare(a.locator, b.locator);
}

/** The `sigstore-package` event of each package, its last (a status can change: verified, then its archive failed to bind). */
export function lastPackageEvents(events: readonly VerifyEvent[]): VerifyEvent[] {
  const last = new Map<string, VerifyEvent>();
  for (const event of events) if (event.type === 'sigstore-package') last.set(String(event.locator), event);
  return [...last.values()];
}

/** Every package of the run once, in the report's order. */
export function reportRows(events: readonly VerifyEvent[]): ReportRow[] {
  return lastPackageEvents(events).map(reportRow).sort(compareRows);
}

/** The sorted rows in their groups, the groups in report order. */
export function groupRows(rows: readonly ReportRow[]): ReportGroup[] {
  const groups: ReportGroup[] = [];
  for (const row of [...rows].sort(compareRows)) {
    const current = groups.at(-1);
    if (current && current.kind === row.group.kind && current.label === row.group.label) current.rows.push(row);
    else groups.push({ ...row.group, rows: [row] });
  }
  return groups;
}

/** How many registry packages carry provenance, a publish attestation only, or nothing verified (for the signed share). */
export function signedShare(rows: readonly ReportRow[]): { provenance: number; publishOnly: number; unsigned: number; registry: number } {
  const count = (kind: GroupKind) => rows.filter((row) => row.group.kind === kind).length;
  const provenance = rows.filter((row) => row.group.kind === 'signer' && referenceOf(row.locator).startsWith('npm:')).length;
  const publishOnly = count('publish-only');
  const unsigned = count('no-signer');
  return { provenance, publishOnly, unsigned, registry: provenance + publishOnly + unsigned };
}

/** Exceptions whose expiry is this close are listed as expiring. */
export const EXPIRING_WITHIN_DAYS = 30;

export interface PolicyException {
  /** How verdicts name the rule: `rules[1] (left-pad)`, `rule "legacy" of base.yml`. */
  rule: string;
  packages: string[];
  reason?: string;
  expires: string;
  state: 'expired' | 'expiring' | 'active';
  /** Calendar days (UTC) from today to the expiry day: 0 on its last day, negative once expired. */
  daysLeft: number;
}

const DAY = 24 * 3600 * 1000;

/** Every rule of the policy and its baselines that expires, soonest first; the baselines' rules name their file. */
export function policyExceptions(policy: LoadedPolicy | undefined, now: Date): PolicyException[] {
  const found: PolicyException[] = [];
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  // Named as evaluation names a baseline's rules (src/policy/index.ts), so rows and exceptions match.
  for (let current = policy, file: string | undefined; current; file = current.baseline?.filepath ? path.basename(current.baseline.filepath) : 'baseline', current = current.baseline) {
    for (const rule of current.model.rules) {
      if (rule.expires === undefined) continue;
      const daysLeft = Math.round((Date.parse(`${rule.expires}T00:00:00Z`) - today) / DAY);
      const state = isExpired(rule, now) ? 'expired' : daysLeft <= EXPIRING_WITHIN_DAYS ? 'expiring' : 'active';
      found.push({ rule: describeRule(rule, file), packages: [...rule.packages], ...(rule.reason ? { reason: rule.reason } : {}), expires: rule.expires, state, daysLeft });
    }
  }
  return found.sort((a, b) => compare(a.expires, b.expires) || compare(a.rule, b.rule));
}
