/**
 * `yarn sigstore verify --all` as text and as JSON lines: the report rows
 * (model.ts) as a tree of plain nodes that Yarn's `treeUtils.emitTree` prints
 * (the shape of its TreeNode, without Yarn), and the run's `sigstore-package`
 * events in the report's order with the derived columns added.
 */
import { compareRows, groupRows, lastPackageEvents, reportRow, type PolicyException, type ReportRow } from './model';
import type { VerifyEvent } from './sarif';
import { printable } from '../printable';

export { printable };

export interface PlainTreeNode {
  label?: string;
  children?: PlainTreeNode[];
}

const plural = (count: number, one: string) => `${count} ${one}${count === 1 ? '' : 's'}`;

function field(name: string, value: string | undefined): PlainTreeNode[] {
  return value === undefined ? [] : [{ label: `${name}: ${printable(value)}` }];
}

function packageNode(row: ReportRow): PlainTreeNode {
  const decided = row.expires ? `${row.decidedBy}, until ${row.expires}` : row.decidedBy;
  const children = [
    ...field('Workflow', row.signer?.workflow),
    ...field('Ref', row.signer?.ref),
    ...field('Rekor log index', row.logIndex),
    ...field('Decided by', decided),
    ...field('Error', row.error ? `${row.error.code} ${row.error.message}` : row.message),
  ];
  return { label: `${printable(row.locator)}: ${row.status}`, children };
}

function exceptionLabel(exception: PolicyException): string {
  const when = exception.state === 'expired' ? `expired ${exception.expires}` : `expires ${exception.expires} (${exception.daysLeft === 0 ? 'last day' : `${plural(exception.daysLeft, 'day')} left`})`;
  return printable(`${exception.rule}: ${when}${exception.reason ? `, ${exception.reason}` : ''}`);
}

/** The report's tree: a node per group (signers first, by repository), a node per package with its fields, then the exceptions expiring or expired. */
export function reportTree(rows: readonly ReportRow[], exceptions: readonly PolicyException[] = []): PlainTreeNode & { children: PlainTreeNode[] } {
  const children: PlainTreeNode[] = groupRows(rows).map((group) => ({
    label: `${group.kind === 'signer' ? 'signer ' : ''}${printable(group.label)} (${plural(group.rows.length, 'package')})`,
    children: group.rows.map(packageNode),
  }));
  const due = exceptions.filter((exception) => exception.state !== 'active');
  if (due.length > 0) children.push({ label: `policy exceptions expired or expiring within 30 days (${due.length})`, children: due.map((exception) => ({ label: exceptionLabel(exception) })) });
  return { children };
}

/** The run's `sigstore-package` events (the last of each package), in the report's order, each with its group, signer, log index and deciding rule. */
export function reportEvents(events: readonly VerifyEvent[]): VerifyEvent[] {
  return lastPackageEvents(events)
    .map((event) => ({ event, row: reportRow(event) }))
    .sort((a, b) => compareRows(a.row, b.row))
    .map(({ event, row }) => ({ ...event, group: row.group, signer: row.signer ?? null, logIndex: row.logIndex ?? null, decidedBy: row.decidedBy, expires: row.expires ?? null }));
}
