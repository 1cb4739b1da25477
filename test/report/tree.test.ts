/**
 * The whole-tree report's model and text/JSON forms (src/report/model.ts,
 * tree.ts): every package once, grouped by signer in a stable order whatever
 * order the run finished them in, its signer fields and deciding rule, the
 * policy's expiring exceptions, and names and identities made safe for a
 * terminal.
 */
import { describe, expect, it } from 'vitest';
import { validatePolicyText } from '../../src/policy/load';
import { groupRows, policyExceptions, reportRows, signedShare } from '../../src/report/model';
import { printable, reportEvents, reportTree } from '../../src/report/tree';
import { EVENTS, signed } from '../../testkit/report-events';

const ORDER = [
  '@acme/widget@npm:2.0.0',
  'alpha@npm:1.0.0',
  'zeta@npm:1.0.0',
  'published@npm:3.0.0',
  'left-pad@npm:1.3.0',
  'old-lib@npm:0.1.0',
  'from-git@https://github.com/acme/from-git.git#commit=0123456789abcdef0123456789abcdef01234567',
  'fsevents@npm:2.3.3',
  'app@workspace:.',
  'left-pad@patch:left-pad@npm%3A1.3.0#./fix.patch::locator=app%40workspace%3A.',
];

/** A deterministic shuffle (reversal and a rotation), so the test shows the order does not depend on the input's. */
const reordered = [...EVENTS].reverse().slice(3).concat([...EVENTS].reverse().slice(0, 3));

describe('reportRows', () => {
  it('lists every package once: signers by repository, then publish-only, no signer, other sources, other platforms, the project', () => {
    const rows = reportRows(EVENTS);
    expect(rows.map((row) => row.locator)).toEqual(ORDER);
    expect(groupRows(rows).map((group) => `${group.kind}:${group.label}:${group.rows.length}`)).toEqual([
      'signer:https://github.com/acme/widget:1',
      'signer:https://github.com/acme/zeta:2',
      'publish-only:publish attestation only (npm registry key, no provenance):1',
      'no-signer:no verified signer (unsigned, or a bundle that failed):2',
      'source:other sources (git, tarball, exec, outside the project), decided by the policy sources:1',
      'skipped:not installed on this platform (not verified):1',
      'project:workspaces and project-local packages (patches, files of the project):2',
    ]);
  });

  it('sorts the same whatever order the packages were verified in', () => {
    expect(reportRows(reordered)).toEqual(reportRows(EVENTS));
    expect(reportEvents(reordered)).toEqual(reportEvents(EVENTS));
  });

  it('gives each package its signer, workflow, ref, Rekor log index (of the provenance) and the rule or source decision', () => {
    const rows = new Map(reportRows(EVENTS).map((row) => [row.locator, row]));
    expect(rows.get('zeta@npm:1.0.0')).toMatchObject({
      status: 'verified',
      signer: { repository: 'https://github.com/acme/zeta', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0' },
      logIndex: '300',
      decidedBy: 'rules[0] (zeta)',
    });
    expect(rows.get('published@npm:3.0.0')).toMatchObject({ logIndex: '555', decidedBy: 'default rule' });
    expect(rows.get('published@npm:3.0.0')!.signer).toBeUndefined();
    expect(rows.get('old-lib@npm:0.1.0')).toMatchObject({ status: 'allowed-unsigned', decidedBy: 'rules[2] (old-lib)', expires: '2026-12-20' });
    expect(rows.get('left-pad@npm:1.3.0')).toMatchObject({ status: 'failed', error: { code: 'POLICY_DENIED' }, decidedBy: 'default rule' });
    expect(rows.get('app@workspace:.')).toMatchObject({ status: 'local', decidedBy: 'workspace' });
    expect(rows.get(ORDER[6])!.decidedBy).toBe('from-git: git source github.com/acme/from-git allowed by sources.git[0]');
    // A source decision that names the locator first is shown without it (the row names it).
    const [local] = reportRows([{ type: 'sigstore-package', locator: 'lib@file:./lib', name: 'lib', version: 'file:./lib', status: 'local', source: 'lib@file:./lib: project-local source' }]);
    expect(local.decidedBy).toBe('project-local source');
  });

  it('keeps the last event of a package (verified, then its archive failed to bind)', () => {
    const failedLater = { ...signed('zeta', '1.0.0', 'acme/zeta', '300'), status: 'failed', error: { code: 'CACHE_BINDING_MISSING', message: 'no archive' } };
    const rows = reportRows([...EVENTS, failedLater]);
    expect(rows.filter((row) => row.name === 'zeta')).toMatchObject([{ status: 'failed', error: { code: 'CACHE_BINDING_MISSING' } }]);
    expect(rows).toHaveLength(ORDER.length);
  });

  it('says a zero-config verdict was decided by the absence of a policy', () => {
    const [row] = reportRows([{ type: 'sigstore-package', locator: 'x@npm:1.0.0', name: 'x', version: '1.0.0', status: 'allowed-unsigned', verdict: { decision: 'allow', reason: 'allowed-unsigned', mismatches: [], message: 'x' } }]);
    expect(row).toMatchObject({ group: { kind: 'no-signer' }, decidedBy: 'no trust policy (zero-config)' });
  });

  it('counts the signed share of the registry packages only', () => {
    expect(signedShare(reportRows(EVENTS))).toEqual({ provenance: 3, publishOnly: 1, unsigned: 2, registry: 6 });
  });
});

describe('reportEvents (--all --json)', () => {
  it('prints each package event once, in the report order, with the derived columns added and the original fields kept', () => {
    const events = reportEvents(EVENTS);
    expect(events.map((event) => event.locator)).toEqual(ORDER);
    expect(events.every((event) => event.type === 'sigstore-package')).toBe(true);
    expect(events[1]).toMatchObject({ name: 'alpha', status: 'verified', group: { kind: 'signer', label: 'https://github.com/acme/zeta' }, signer: { workflow: '.github/workflows/release.yml' }, logIndex: '100', decidedBy: 'rules[0] (alpha)', expires: null });
    expect(events[1].identity).toEqual(EVENTS.find((event) => event.locator === 'alpha@npm:1.0.0')!.identity);
    expect(events[5]).toMatchObject({ signer: null, logIndex: null, expires: '2026-12-20' });
  });
});

const NOW = new Date('2026-12-07T12:00:00Z');

async function policy(text: string) {
  const check = await validatePolicyText(text, '/project/sigstore-policy.yml');
  expect(check.problems.filter((problem) => problem.severity === 'error')).toEqual([]);
  return check.policy!;
}

const POLICY = `version: 1
default: { require: provenance }
rules:
  - packages: [later-lib]
    require: none
    reason: "upstream signs from 2027"
    expires: "2027-03-01"
  - packages: [old-lib]
    require: none
    reason: "waiting for a signed release"
    expires: "2026-12-20"
  - packages: [gone-lib]
    require: none
    reason: "removed last month"
    expires: "2026-12-06"
  - packages: [zeta]
    require: provenance
`;

describe('policyExceptions', () => {
  it('lists the rules that expire, soonest first: expired, expiring within 30 days, active', async () => {
    expect(policyExceptions(await policy(POLICY), NOW)).toEqual([
      { rule: 'rules[2] (gone-lib)', packages: ['gone-lib'], reason: 'removed last month', expires: '2026-12-06', state: 'expired', daysLeft: -1 },
      { rule: 'rules[1] (old-lib)', packages: ['old-lib'], reason: 'waiting for a signed release', expires: '2026-12-20', state: 'expiring', daysLeft: 13 },
      { rule: 'rules[0] (later-lib)', packages: ['later-lib'], reason: 'upstream signs from 2027', expires: '2027-03-01', state: 'active', daysLeft: 84 },
    ]);
  });

  it('holds an exception through the end of its expiry day', async () => {
    const [lastDay] = policyExceptions(await policy(POLICY), new Date('2026-12-06T23:59:59Z'));
    expect(lastDay).toMatchObject({ rule: 'rules[2] (gone-lib)', state: 'expiring', daysLeft: 0 });
    const [dayAfter] = policyExceptions(await policy(POLICY), new Date('2026-12-07T00:00:00Z'));
    expect(dayAfter).toMatchObject({ rule: 'rules[2] (gone-lib)', state: 'expired', daysLeft: -1 });
    expect(policyExceptions(undefined, NOW)).toEqual([]);
  });
});

describe('reportTree', () => {
  it('is a node per group and per package, with the fields a package has, then the exceptions due', async () => {
    const tree = reportTree(reportRows(EVENTS), policyExceptions(await policy(POLICY), NOW));
    expect(tree.children.map((node) => node.label)).toEqual([
      'signer https://github.com/acme/widget (1 package)',
      'signer https://github.com/acme/zeta (2 packages)',
      'publish attestation only (npm registry key, no provenance) (1 package)',
      'no verified signer (unsigned, or a bundle that failed) (2 packages)',
      'other sources (git, tarball, exec, outside the project), decided by the policy sources (1 package)',
      'not installed on this platform (not verified) (1 package)',
      'workspaces and project-local packages (patches, files of the project) (2 packages)',
      'policy exceptions expired or expiring within 30 days (2)',
    ]);
    expect(tree.children[1].children![1]).toEqual({
      label: 'zeta@npm:1.0.0: verified',
      children: [{ label: 'Workflow: .github/workflows/release.yml' }, { label: 'Ref: refs/tags/v1.0.0' }, { label: 'Rekor log index: 300' }, { label: 'Decided by: rules[0] (zeta)' }],
    });
    expect(tree.children[3].children).toEqual([
      { label: 'left-pad@npm:1.3.0: failed', children: [{ label: 'Decided by: default rule' }, { label: 'Error: POLICY_DENIED left-pad@1.3.0: denied by default rule: require expected provenance, found no attestation' }] },
      { label: 'old-lib@npm:0.1.0: allowed-unsigned', children: [{ label: 'Decided by: rules[2] (old-lib), until 2026-12-20' }] },
    ]);
    expect(tree.children[7].children).toEqual([
      { label: 'rules[2] (gone-lib): expired 2026-12-06, removed last month' },
      { label: 'rules[1] (old-lib): expires 2026-12-20 (13 days left), waiting for a signed release' },
    ]);
  });

  it('shows control characters and bidirectional overrides of a name or identity as escapes', () => {
    const hostile = { ...signed('evil', '1.0.0', 'acme/evil\u001b[2J\nforged line', '1'), locator: 'evil@npm:1.0.0\u001b]0;title\u0007\u202e' };
    const tree = reportTree(reportRows([hostile]));
    const labels = JSON.stringify(tree);
    expect(tree.children[0].label).toBe('signer https://github.com/acme/evil\\u{1b}[2J\\u{a}forged line (1 package)');
    expect(tree.children[0].children![0].label).toBe('evil@npm:1.0.0\\u{1b}]0;title\\u{7}\\u{202e}: verified');
    expect(labels).not.toMatch(/\\u001b|\\n|\\u0007|\u202e/);
    expect(printable('plain @scope/name-1.0')).toBe('plain @scope/name-1.0');
  });
});
