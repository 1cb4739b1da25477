/**
 * `npm run demo`: the plugin in one minute, entirely on this machine.
 * A loopback npm registry serves two real packages with their real Sigstore
 * provenance; a temp project installs them twice with the real Yarn: once
 * under a policy naming their real repositories (passes), once under a policy
 * naming another repository (blocked). Trust material is pinned to the
 * production trusted root in fixtures/: nothing goes beyond 127.0.0.1.
 * Exits 0 when both installs behaved as expected.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, INSTALLABLE_FIXTURES, fixtureToRegistryVersion, loadFixturePackage } from '../testkit/fixtures';
import { startRegistry, type TestRegistry } from '../testkit/registry';
import { createYarnProject, type YarnProject } from '../testkit/yarn';

const [GUNDAM, GOGGLES] = INSTALLABLE_FIXTURES;
const OTHER_REPOSITORY = 'https://github.com/someone-else/gundam-visor';
const TRUSTED_ROOT = join(FIXTURES_DIR, 'sigstore', 'trusted_root.production.json');
const NPM_KEYS = join(FIXTURES_DIR, 'sigstore', 'npm_registry_keys.json');

const say = (text = '') => process.stdout.write(`${text}\n`);
const heading = (text: string) => say(`\n== ${text} ==`);

function policy(gundamRepository: string): string {
  const rule = (name: string, repository: string) =>
    [`  - packages: ["${name}"]`, '    require: provenance', '    identity:', '      issuer: https://token.actions.githubusercontent.com', `      repository: ${repository}`, '      workflow: .github/workflows/npm-publish.yml'].join('\n');
  return ['version: 1', 'mode: enforce', 'default: { require: provenance }', 'rules:', rule(GUNDAM.name, gundamRepository), rule(GOGGLES.name, GOGGLES.repository), ''].join('\n');
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n');
}

async function demoProject(registry: TestRegistry, gundamRepository: string, projects: YarnProject[]): Promise<YarnProject> {
  const project = await createYarnProject({
    registryUrl: registry.url,
    dependencies: { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version },
    policy: policy(gundamRepository),
    trustedRootPath: TRUSTED_ROOT,
    npmKeysPath: NPM_KEYS,
  });
  projects.push(project);
  return project;
}

/** Install 1: the real provenance matches the policy. */
async function installPasses(registry: TestRegistry, projects: YarnProject[]): Promise<boolean> {
  heading('1. Install under a policy naming the packages\' real repositories');
  say(`The policy (sigstore-policy.yml) requires SLSA provenance built by GitHub Actions from:`);
  say(`    ${GUNDAM.name}  <- ${GUNDAM.repository}`);
  say(`    ${GOGGLES.name}  <- ${GOGGLES.repository}`);
  const project = await demoProject(registry, GUNDAM.repository, projects);
  say('Running `yarn install`...');
  const result = await project.install();
  const summary = result.output.split('\n').find((line) => line.includes('sigstore:') && line.includes('verified,'));
  if (summary) say(indent(summary.replace(/^.*?sigstore:/, 'sigstore:')));
  const evidence = project.evidence();
  const verified = (evidence?.packages ?? []).filter((entry: any) => entry.status === 'verified');
  for (const entry of verified) {
    say(`  verified ${entry.name}@${entry.version}`);
    say(`    built from  ${entry.identity?.sourceRepositoryUri} (${entry.identity?.sourceRepositoryRef})`);
    say(`    by workflow ${entry.identity?.buildConfigUri}`);
    say(`    signed      ${entry.bundles.map((bundle: any) => `${bundle.kind} (Rekor log index ${bundle.logIndex})`).join(', ')}`);
  }
  const passed = result.code === 0 && verified.length === 2 && project.exists(`node_modules/${GUNDAM.name}/package.json`);
  say(passed ? 'PASS: the install succeeded and both packages were verified against the policy.' : `UNEXPECTED: the install should have passed (exit ${result.code}):\n${indent(result.output)}`);
  return passed;
}

/** Install 2: the same bytes, a policy naming another repository: blocked before anything is linked. */
async function installBlocked(registry: TestRegistry, projects: YarnProject[]): Promise<boolean> {
  heading('2. Install under a policy naming another repository');
  say(`Now the policy says ${GUNDAM.name} must be built from ${OTHER_REPOSITORY}.`);
  say('Its real provenance says otherwise, so the plugin must stop the install before anything is linked or run.');
  const project = await demoProject(registry, OTHER_REPOSITORY, projects);
  say('Running `yarn install`...');
  const result = await project.install();
  const message = result.output.split('\n').find((line) => line.includes('sigstore [POLICY_DENIED]'));
  if (message) say(indent(message.replace(/^.*?(?=gundam-visor@npm)/, '')));
  const blocked = result.code !== 0 && message !== undefined && message.includes(GUNDAM.repository) && !project.exists(`node_modules/${GUNDAM.name}`);
  say(blocked ? `BLOCKED as expected: yarn install exited with ${result.code}; node_modules/${GUNDAM.name} does not exist.` : `UNEXPECTED: the install should have been blocked (exit ${result.code}):\n${indent(result.output)}`);
  return blocked;
}

async function main(): Promise<number> {
  say('yarn-plugin-sigstore demo: verifying npm packages\' Sigstore provenance at install time');
  say('Everything runs locally: a registry on 127.0.0.1 serves real packages with their real provenance,');
  say('checked against the Sigstore production trusted root from fixtures/ (no network access).');
  const registry = await startRegistry({ versions: INSTALLABLE_FIXTURES.map((fixture) => fixtureToRegistryVersion(loadFixturePackage(fixture.name, fixture.version))) });
  const projects: YarnProject[] = [];
  try {
    say(`Registry: ${registry.url}`);
    const passed = await installPasses(registry, projects);
    const blocked = await installBlocked(registry, projects);
    heading('Result');
    const ok = passed && blocked;
    say(ok ? 'DEMO OK: verified provenance let the install through; a mismatched identity blocked it.' : 'DEMO FAILED: see the UNEXPECTED lines above.');
    return ok ? 0 : 1;
  } finally {
    await registry.close();
    for (const project of projects) rmSync(project.cwd, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`DEMO FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
