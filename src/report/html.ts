/**
 * `yarn sigstore verify --html <file>`: the whole-tree report as one
 * self-contained HTML page for people who would rather look than read: the
 * signed share, failures, policy exceptions expired or about to expire, and
 * each signer with its packages. No script, no external resource (a
 * Content-Security-Policy forbids both), inline CSS only; every string from a
 * package, certificate or policy is escaped. Knows nothing of Yarn.
 */
import { groupRows, signedShare, type PolicyException, type ReportRow } from './model';

export interface HtmlReportInput {
  rows: readonly ReportRow[];
  exceptions: readonly PolicyException[];
  /** The run's `sigstore-summary` event, when it printed one. */
  summary?: Record<string, unknown> | null;
  generatedAt: Date;
  toolVersion: string;
  /** The project's name or folder, for the title. */
  project?: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or attribute value: the five characters that could end either are entities. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

const KNOWN_STATUSES = new Set(['verified', 'allowed-unsigned', 'warned', 'failed', 'skipped', 'allowed-source', 'local']);

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#1b1f24}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}h3{font-size:1em;margin-bottom:.3em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #eaeef2;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}code{font-size:.95em}
.bar{display:flex;height:1.2em;border-radius:.3em;overflow:hidden;background:#eaeef2;margin:.5em 0}
.bar span{display:block;height:100%}.provenance{background:#1a7f37}.publish{background:#9a6700}.unsigned{background:#8c959f}
.status-failed,.expired{color:#cf222e;font-weight:600}.status-warned,.expiring{color:#9a6700;font-weight:600}.status-verified{color:#1a7f37}
.outcome-failed{color:#cf222e}.outcome-completed{color:#1a7f37}.muted{color:#57606a}
`;

const percent = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10);

function table(headers: string[], rows: string[][]): string {
  const head = `<tr>${headers.map((header) => `<th>${escapeHtml(header)}</th>`).join('')}</tr>`;
  // Cells arrive escaped (some carry markup of their own).
  return `<table>${head}${rows.map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('')}</table>`;
}

const statusCell = (status: string) => (KNOWN_STATUSES.has(status) ? `<span class="status-${status}">${status}</span>` : escapeHtml(status));

function shareSection(rows: readonly ReportRow[]): string {
  const share = signedShare(rows);
  const bar = [
    ['provenance', share.provenance],
    ['publish', share.publishOnly],
    ['unsigned', share.unsigned],
  ]
    .map(([kind, count]) => `<span class="${kind}" style="width:${percent(count as number, share.registry)}%"></span>`)
    .join('');
  return `<h2>Signed share</h2>
<p><strong>${share.provenance}</strong> of ${share.registry} registry packages (${percent(share.provenance, share.registry)}%) carry verified provenance; ${share.publishOnly} a publish attestation only; ${share.unsigned} no verified signature.</p>
<div class="bar" title="provenance, publish attestation only, unsigned">${bar}</div>`;
}

function failuresSection(rows: readonly ReportRow[]): string {
  const failed = rows.filter((row) => row.status === 'failed' || row.status === 'warned');
  if (failed.length === 0) return '<h2>Failures</h2>\n<p>None.</p>';
  return `<h2>Failures and warnings (${failed.length})</h2>\n${table(
    ['Package', 'Status', 'Code', 'Why'],
    failed.map((row) => [`<code>${escapeHtml(row.locator)}</code>`, statusCell(row.status), escapeHtml(row.error?.code ?? ''), escapeHtml(row.error?.message ?? row.message ?? '')]),
  )}`;
}

function exceptionsSection(exceptions: readonly PolicyException[]): string {
  const due = exceptions.filter((exception) => exception.state !== 'active');
  const later = exceptions.length - due.length;
  const note = later > 0 ? `<p class="muted">${later} more expire later than 30 days from now.</p>` : '';
  if (due.length === 0) return `<h2>Policy exceptions expiring</h2>\n<p>None expired or expiring within 30 days.</p>${note}`;
  return `<h2>Policy exceptions expired or expiring within 30 days (${due.length})</h2>\n${table(
    ['Rule', 'Packages', 'Reason', 'Expires', 'State'],
    due.map((exception) => [
      escapeHtml(exception.rule),
      exception.packages.map((name) => `<code>${escapeHtml(name)}</code>`).join(', '),
      escapeHtml(exception.reason ?? ''),
      escapeHtml(exception.expires),
      `<span class="${exception.state}">${exception.state === 'expired' ? 'expired' : `${exception.daysLeft} days left`}</span>`,
    ]),
  )}${note}`;
}

function groupsSection(rows: readonly ReportRow[]): string {
  return groupRows(rows)
    .map((group) => {
      const title = group.kind === 'signer' ? `Signer <code>${escapeHtml(group.label)}</code>` : escapeHtml(group.label);
      const body = table(
        ['Package', 'Status', 'Workflow', 'Ref', 'Rekor log index', 'Decided by'],
        group.rows.map((row) => [
          `<code>${escapeHtml(row.locator)}</code>`,
          statusCell(row.status),
          escapeHtml(row.signer?.workflow ?? ''),
          escapeHtml(row.signer?.ref ?? ''),
          escapeHtml(row.logIndex ?? ''),
          escapeHtml(row.expires ? `${row.decidedBy}, until ${row.expires}` : row.decidedBy),
        ]),
      );
      return `<h3>${title} (${group.rows.length})</h3>\n${body}`;
    })
    .join('\n');
}

/** The report as one HTML document. */
export function reportHtml(input: HtmlReportInput): string {
  const outcome = typeof input.summary?.outcome === 'string' ? input.summary.outcome : 'unknown (no summary)';
  const title = `Sigstore provenance report${input.project ? `: ${input.project}` : ''}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Outcome: <strong class="outcome-${outcome === 'completed' ? 'completed' : 'failed'}">${escapeHtml(outcome)}</strong> · ${input.rows.length} packages · generated ${escapeHtml(input.generatedAt.toISOString())} by yarn-plugin-sigstore ${escapeHtml(input.toolVersion)}</p>
${shareSection(input.rows)}
${failuresSection(input.rows)}
${exceptionsSection(input.exceptions)}
<h2>Signers and packages</h2>
${groupsSection(input.rows)}
</body>
</html>
`;
}
