/**
 * `yarn sigstore verify --all` and `--html` end to end: the real pinned Yarn,
 * the built plugin and a loopback registry serving mock-signed packages from
 * two signers, unsigned ones (one allowed by an exception that expires in ten
 * days, one denied), with a workspace and a project-local `file:` package.
 * The tree, the sorted JSON lines and the HTML page list every package with
 * its signer, workflow, ref, Rekor log index and deciding rule, and the
 * command fails as `verify` does.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestRegistry } from '../../testkit/registry';
import { githubIdentity, type MockSigstore } from '../../testkit/signer';
import { buildPackageTarball } from '../../testkit/tarball';
import { jsonEvents, type YarnProject } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SIGNED = [
  { name: '@acme/widget', version: '1.0.0', repository: 'acme/widget', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v1.0.0' },
  { name: '@acme/gadget', version: '2.1.0', repository: 'acme/widget', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v2.1.0' },
  { name: 'beta-tool', version: '3.0.0', repository: 'beta/tools', workflow: '.github/workflows/publish.yml', ref: 'refs/heads/main' },
];
const EXCEPTED = { name: 'plain-unsigned', version: '2.0.0' };
const DENIED = { name: 'denied-unsigned', version: '1.0.0' };

let kit: E2eKit;
let registry: TestRegistry;
let mock: MockSigstore;
let p: YarnProject;
/** The Rekor log index of each signed package's provenance, as the mock logged it. */
const logIndexes = new Map<string, string>();

const day = (offset: number) => new Date(Date.now() + offset * 24 * 3600 * 1000).toISOString().slice(0, 10);
const SOON = day(10);
const YESTERDAY = day(-1);

function policy(denyUnsigned: boolean): string {
  return [
    'version: 1',
    'mode: enforce',
    'default: { require: provenance }',
    'rules:',
    '  - packages: ["@acme/*"]',
    '    require: provenance',
    `    identity: { issuer: "${ISSUER}", repository: "https://github.com/acme/widget" }`,
    '  - packages: [beta-tool]',
    '    require: provenance',
    `    identity: { issuer: "${ISSUER}", repository: "https://github.com/beta/tools" }`,
    `  - packages: [${EXCEPTED.name}]`,
    '    require: none',
    '    reason: "waiting for a signed release"',
    `    expires: "${SOON}"`,
    '  - packages: [gone-lib]',
    '    require: none',
    '    reason: "removed last month"',
    `    expires: "${YESTERDAY}"`,
    ...(denyUnsigned ? [] : [`  - packages: [${DENIED.name}]`, '    require: none', '    reason: "for the first install only"']),
    '',
  ].join('\n');
}

beforeAll(async () => {
  kit = await startE2eKit({ tempPrefix: 'sigstore-report-' });
  ({ registry, mock } = kit);
  for (const pkg of SIGNED) {
    const tarball = buildPackageTarball({ name: pkg.name, version: pkg.version });
    const attestations = await mock.signPackage({ name: pkg.name, version: pkg.version, tarball, identity: githubIdentity({ repository: pkg.repository, workflow: pkg.workflow, ref: pkg.ref }) });
    registry.addVersion({ name: pkg.name, version: pkg.version, tarball, attestations });
  }
  for (const pkg of [EXCEPTED, DENIED]) registry.addVersion({ ...pkg, tarball: buildPackageTarball(pkg) });
  const dependencies = Object.fromEntries([...SIGNED, EXCEPTED, DENIED].map((pkg) => [pkg.name, pkg.version]));
  p = await kit.project({ manifest: { name: 'report-app', private: true, dependencies: { ...dependencies, 'local-lib': 'file:./vendor/local-lib' } }, policy: policy(false) });
  mkdirSync(join(p.cwd, 'vendor/local-lib'), { recursive: true });
  writeFileSync(join(p.cwd, 'vendor/local-lib/package.json'), JSON.stringify({ name: 'local-lib', version: '0.0.1' }));
  const installed = await p.install();
  expect(installed.code, installed.output).toBe(0);
  for (const pkg of p.evidence().packages) {
    const provenance = pkg.bundles?.find((bundle: { kind: string }) => bundle.kind === 'provenance');
    if (provenance) logIndexes.set(pkg.name, provenance.logIndex);
  }
  // The exception for DENIED is gone: verify denies it from now on.
  p.write('sigstore-policy.yml', policy(true));
});

afterAll(() => kit?.close());

const ORDER = [
  '@acme/gadget@npm:2.1.0',
  '@acme/widget@npm:1.0.0',
  'beta-tool@npm:3.0.0',
  'denied-unsigned@npm:1.0.0',
  'plain-unsigned@npm:2.0.0',
];

describe('yarn sigstore verify --all', () => {
  it('prints the run, then every package as a tree grouped by signer, and fails on the denied package', async () => {
    const result = await p.run(['sigstore', 'verify', '--all']);
    expect(result.code, result.output).toBe(1);
    expect(result.stdout).toContain('sigstore [POLICY_DENIED] denied-unsigned@1.0.0: denied by default rule');
    expect(result.stdout).toContain('sigstore: 3 verified, 1 allowed unsigned by rule, 0 warnings, 1 failures');
    const tree = result.stdout.slice(result.stdout.indexOf('├─ signer'));
    expect(tree.split('\n')).toEqual(
      [
        '├─ signer https://github.com/acme/widget (2 packages)',
        '│  ├─ @acme/gadget@npm:2.1.0: verified',
        '│  │  ├─ Workflow: .github/workflows/release.yml',
        '│  │  ├─ Ref: refs/tags/v2.1.0',
        `│  │  ├─ Rekor log index: ${logIndexes.get('@acme/gadget')}`,
        '│  │  └─ Decided by: rules[0] (@acme/*)',
        '│  └─ @acme/widget@npm:1.0.0: verified',
        '│     ├─ Workflow: .github/workflows/release.yml',
        '│     ├─ Ref: refs/tags/v1.0.0',
        `│     ├─ Rekor log index: ${logIndexes.get('@acme/widget')}`,
        '│     └─ Decided by: rules[0] (@acme/*)',
        '├─ signer https://github.com/beta/tools (1 package)',
        '│  └─ beta-tool@npm:3.0.0: verified',
        '│     ├─ Workflow: .github/workflows/publish.yml',
        '│     ├─ Ref: refs/heads/main',
        `│     ├─ Rekor log index: ${logIndexes.get('beta-tool')}`,
        '│     └─ Decided by: rules[1] (beta-tool)',
        '├─ no verified signer (unsigned, or a bundle that failed) (2 packages)',
        '│  ├─ denied-unsigned@npm:1.0.0: failed',
        '│  │  ├─ Decided by: default rule',
        `│  │  └─ Error: POLICY_DENIED denied-unsigned@1.0.0: denied by default rule: require expected provenance, found no attestation; to allow it without provenance: yarn sigstore policy allow denied-unsigned --reason "..."`,
        '│  └─ plain-unsigned@npm:2.0.0: allowed-unsigned',
        `│     └─ Decided by: rules[2] (plain-unsigned), until ${SOON}`,
        '├─ workspaces and project-local packages (patches, files of the project) (2 packages)',
        expect.stringMatching(/^│  ├─ local-lib@file:\.\/vendor\/local-lib#\.\/vendor\/local-lib::hash=\w+&locator=report-app%40workspace%3A\.: local$/),
        '│  │  └─ Decided by: project-local source',
        '│  └─ report-app@workspace:.: local',
        '│     └─ Decided by: workspace',
        '└─ policy exceptions expired or expiring within 30 days (2)',
        `   ├─ rules[3] (gone-lib): expired ${YESTERDAY}, removed last month`,
        expect.stringMatching(new RegExp(`^   └─ rules\\[2\\] \\(plain-unsigned\\): expires ${SOON} \\((9|10) days left\\), waiting for a signed release$`)),
        '',
      ],
    );
  });

  it('with --json prints every package event once, in the tree order, with its signer, log index and deciding rule, then the summary', async () => {
    const result = await p.run(['sigstore', 'verify', '--all', '--json']);
    expect(result.code, result.output).toBe(1);
    const events = jsonEvents(result.stdout);
    const packages = events.filter((event) => event.type === 'sigstore-package');
    expect(packages.map((event) => event.locator)).toEqual([...ORDER, expect.stringMatching(/^local-lib@file:/), 'report-app@workspace:.']);
    expect(packages[0]).toMatchObject({
      name: '@acme/gadget',
      status: 'verified',
      group: { kind: 'signer', label: 'https://github.com/acme/widget' },
      signer: { repository: 'https://github.com/acme/widget', workflow: '.github/workflows/release.yml', ref: 'refs/tags/v2.1.0', issuer: ISSUER },
      logIndex: logIndexes.get('@acme/gadget'),
      decidedBy: 'rules[0] (@acme/*)',
      expires: null,
      identity: { sourceRepositoryUri: 'https://github.com/acme/widget' },
    });
    expect(packages[3]).toMatchObject({ name: DENIED.name, status: 'failed', group: { kind: 'no-signer' }, signer: null, decidedBy: 'default rule' });
    expect(packages[4]).toMatchObject({ name: EXCEPTED.name, status: 'allowed-unsigned', decidedBy: 'rules[2] (plain-unsigned)', expires: SOON, verdict: { rule: { expires: SOON } } });
    expect(packages[6]).toMatchObject({ status: 'local', group: { kind: 'project' }, decidedBy: 'workspace' });
    // One event per package, the summary after them and last.
    expect(events.at(-1)).toMatchObject({ type: 'sigstore-summary', outcome: 'failed', verified: 3, allowedUnsigned: 1, failures: 1 });
    expect(events.filter((event) => event.type === 'sigstore-summary')).toHaveLength(1);
    expect(events.findIndex((event) => event.type === 'sigstore-summary')).toBeGreaterThan(events.map((event) => event.type).lastIndexOf('sigstore-package'));
    // The same run again gives the same lines (sorted, not in the order packages finished).
    const again = jsonEvents((await p.run(['sigstore', 'verify', '--all', '--json'])).stdout).filter((event) => event.type === 'sigstore-package');
    expect(again.map((event) => event.locator)).toEqual(packages.map((event) => event.locator));
  });

  it('with --html writes one self-contained page: the signed share, signers, the failure and the exceptions due', async () => {
    const result = await p.run(['sigstore', 'verify', '--html', 'out/report.html']);
    expect(result.code, result.output).toBe(1);
    // The run prints as plain verify does; no tree without --all.
    expect(result.stdout).toContain('sigstore: 3 verified, 1 allowed unsigned by rule, 0 warnings, 1 failures');
    expect(result.stdout).not.toContain('├─ signer');
    const html = readFileSync(join(p.cwd, 'out/report.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
    expect(html).toContain('<title>Sigstore provenance report: ');
    expect(html).toContain('Outcome: <strong class="outcome-failed">failed</strong> · 7 packages');
    expect(html).toContain('<p><strong>3</strong> of 5 registry packages (60%) carry verified provenance; 0 a publish attestation only; 2 no verified signature.</p>');
    expect(html).toContain('<h3>Signer <code>https://github.com/acme/widget</code> (2)</h3>');
    expect(html).toContain('<h3>Signer <code>https://github.com/beta/tools</code> (1)</h3>');
    expect(html).toContain(`<tr><td><code>beta-tool@npm:3.0.0</code></td><td><span class="status-verified">verified</span></td><td>.github/workflows/publish.yml</td><td>refs/heads/main</td><td>${logIndexes.get('beta-tool')}</td><td>rules[1] (beta-tool)</td></tr>`);
    expect(html).toContain('<h2>Failures and warnings (1)</h2>');
    expect(html).toContain('<tr><td><code>denied-unsigned@npm:1.0.0</code></td><td><span class="status-failed">failed</span></td><td>POLICY_DENIED</td><td>denied-unsigned@1.0.0: denied by default rule');
    expect(html).toContain('<h2>Policy exceptions expired or expiring within 30 days (2)</h2>');
    expect(html).toContain(`<td>removed last month</td><td>${YESTERDAY}</td><td><span class="expired">expired</span></td>`);
    expect(html).toMatch(new RegExp(`<td>waiting for a signed release</td><td>${SOON}</td><td><span class="expiring">(9|10) days left</span></td>`));
  });

  it('fails with REPORT_UNWRITABLE when the HTML file cannot be written, writes it beside a SARIF log, and refuses --all with --format sarif', async () => {
    mkdirSync(join(p.cwd, 'taken.html'), { recursive: true });
    const unwritable = await p.run(['sigstore', 'verify', '--html', 'taken.html']);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stdout).toContain('sigstore [REPORT_UNWRITABLE] the HTML report');
    expect(unwritable.stdout).toContain('taken.html cannot be written: it is a directory, not a file');

    const both = await p.run(['sigstore', 'verify', '--format', 'sarif', '--html', 'both.html']);
    expect(both.code).toBe(1);
    const log = JSON.parse(both.stdout);
    expect(log.runs[0].results.map((result: { properties: { locator: string } }) => result.properties.locator)).toEqual(['denied-unsigned@npm:1.0.0']);
    expect(readFileSync(join(p.cwd, 'both.html'), 'utf8')).toContain('<h3>Signer <code>https://github.com/beta/tools</code> (1)</h3>');

    const sarif = await p.run(['sigstore', 'verify', '--all', '--format', 'sarif']);
    expect(sarif.code).not.toBe(0);
    expect(sarif.output).toContain('--all prints a tree or JSON lines, not SARIF');
  });

  it('exits with 0 and lists the same tree once nothing fails', async () => {
    p.write('sigstore-policy.yml', policy(false));
    try {
      const result = await p.run(['sigstore', 'verify', '--all']);
      expect(result.code, result.output).toBe(0);
      expect(result.stdout).toContain('│  ├─ denied-unsigned@npm:1.0.0: allowed-unsigned\n│  │  └─ Decided by: rules[4] (denied-unsigned)\n');
    } finally {
      p.write('sigstore-policy.yml', policy(true));
    }
  });
});

describe('a hostile signer identity', () => {
  // A git branch may be named `"><img src=x onerror=...>` (git refuses control characters, a certificate claim need not).
  const REF = 'refs/heads/x\u001b[2J"><img src=x onerror=alert(1)><script>alert(2)</script>';

  it('is printed as text: escaped in the HTML page, its control characters shown as escapes in the tree, explain and a failed install', async () => {
    const pkg = { name: 'hostile-ref', version: '1.0.0' };
    const tarball = buildPackageTarball(pkg);
    const attestations = await mock.signPackage({ ...pkg, tarball, identity: githubIdentity({ repository: 'acme/hostile', ref: REF }) });
    registry.addVersion({ ...pkg, tarball, attestations });
    const hostile = await kit.project({ dependencies: { [pkg.name]: pkg.version } });
    expect((await hostile.install()).code).toBe(0);

    const result = await hostile.run(['sigstore', 'verify', '--all', '--html', 'report.html']);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain('│     ├─ Ref: refs/heads/x\\u{1b}[2J"><img src=x onerror=alert(1)><script>alert(2)</script>\n');
    expect(result.stdout).not.toContain('\u001b[2J');
    const html = readFileSync(join(hostile.cwd, 'report.html'), 'utf8');
    expect(html).toContain('<td>refs/heads/x\u001b[2J&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;</td>');
    expect(html).not.toMatch(/<img|<script/i);

    // Its control characters are shown escaped wherever else the plugin prints it: explain, and an install it fails.
    const explain = await hostile.run(['sigstore', 'explain', pkg.name]);
    expect(explain.code, explain.output).toBe(0);
    expect(explain.stdout).toContain('Source ref: refs/heads/x\\u{1b}[2J');
    hostile.write('sigstore-policy.yml', ['version: 1', 'default: { require: provenance }', 'rules:', `  - packages: [${pkg.name}]`, '    require: provenance', `    identity: { issuer: "${ISSUER}", ref: "refs/tags/v*" }`, ''].join('\n'));
    const denied = await hostile.run(['install']);
    expect(denied.code, denied.output).toBe(1);
    expect(denied.stdout).toContain('identity.ref expected refs/tags/v*, found refs/heads/x\\u{1b}[2J');
    expect(explain.stdout + denied.stdout).not.toContain('\u001b[2J');
  });
});

describe('a hostile attestations URL', () => {
  it('announced by the packument with control characters, is never printed raw: explain shows where the bundles were found, escaped', async () => {
    const pkg = { name: 'hostile-url', version: '1.0.0' };
    const tarball = buildPackageTarball(pkg);
    const attestations = await mock.signPackage({ ...pkg, tarball, identity: githubIdentity({ repository: 'acme/hostile' }) });
    registry.addVersion({ ...pkg, tarball, attestations });
    // The endpoint knows nothing; the packument announces the document elsewhere on the registry, at a URL carrying an escape sequence.
    registry.setRoute('/announced/hostile-url', { body: JSON.stringify(attestations), contentType: 'application/json' });
    registry.setAttestations(pkg.name, pkg.version, null);
    registry.setAttestationsUrl(pkg.name, pkg.version, `${registry.url}/announced/hostile-url?x=\u001b[2J`);
    const hostile = await kit.project({ dependencies: { [pkg.name]: pkg.version } });
    const install = await hostile.run(['install']);
    expect(install.code, install.output).toBe(0);
    // Asked again (not the result cached for these bytes), so that explain says where the bundles were found.
    const explain = await hostile.run(['sigstore', 'explain', pkg.name], { YARN_SIGSTORE_RECHECK_ATTESTATIONS: 'true' });
    expect(explain.code, explain.output).toBe(0);
    expect(explain.stdout).toContain(`Bundles: found at ${registry.url}/announced/hostile-url?x=`);
    expect(install.stdout + explain.stdout).not.toContain('\u001b');
  });
});
