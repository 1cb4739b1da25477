/**
 * `yarn sigstore policy init`: verifies the lockfile's registry packages as
 * the gate does and writes the policy under which today's install passes.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { MessageName, structUtils, type Locator, type Package, type StreamReport } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import { Command, Option, type Usage } from 'clipanion';
import { existsSync, writeFileSync } from 'fs';
import path from 'path';
import { ErrorCodes } from '../../errors';
import { printableMessage } from '../../printable';
import type { SourceKind } from '../../policy';
import { isOutsideProject, routeOf, splitProtocol } from '../locators';
import { assertLockfileCurrent } from './lockfile-coverage';
import { createPool } from '../../install/pool';
import { lockfileRegistryPackages, openProject, runReport, verifyRegistryPackage, type OpenProject } from './context';
import { withPackageProgress } from './progress';
import type { DraftEntry } from './policy-draft';
import { reportPluginError } from './reporting';

const REVIEW_DAYS = 90;

export class SigstorePolicyInitCommand extends BaseCommand {
  static override paths = [['sigstore', 'policy', 'init']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: 'write a starting trust policy from the identities the dependencies carry today',
    details: `
      Verifies every registry package of the lockfile exactly as the install gate does and writes \`sigstore-policy.yml\` (or the file the \`sigstorePolicyPath\` setting names): one \`require: provenance\` rule per signer identity, grouped by repository owner and pinned to the repository (and its immutable ID when the certificate carries it) and the workflow; a \`require: publish\` rule for packages with only an npm publish attestation; a \`require: none\` exception with a reason to fill in and an expiry date for unsigned packages; and \`sources\` entries for git, tarball, exec and outside-the-project dependencies.

      The written policy passes validation and makes the current install pass. Packages whose bundles fail verification are reported and nothing is written. An existing policy is never overwritten without \`--force\`.
    `,
    examples: [
      ['Write sigstore-policy.yml', 'yarn sigstore policy init'],
      ['Start over', 'yarn sigstore policy init --force'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print the result as JSON' });
  force = Option.Boolean('--force', false, { description: 'Overwrite an existing policy file' });

  async execute(): Promise<number> {
    const open = await openProject(this.context);
    const projectDir = npath.fromPortablePath(open.project.cwd);
    const target = open.session.settings.policyPath ?? path.join(projectDir, 'sigstore-policy.yml');
    // Loaded here, not at plugin load: every Yarn command loads the plugin.
    const [{ classifySource, findPolicyFiles, formatProblem, validatePolicyDocument }, { parse: parseYaml }, { draftPolicy }] = await Promise.all([
      import('../../policy'),
      import('yaml'),
      import('./policy-draft'),
    ]);
    return runReport(open.configuration, this.context, this.json, async (report) => {
      const existing = [...new Set([...findPolicyFiles(projectDir), ...(existsSync(target) ? [target] : [])])];
      const others = existing.filter((file) => file !== target);
      if (others.length > 0 || (existing.length > 0 && !this.force)) {
        const hint = others.length > 0 ? 'remove it first (several policy files are ambiguous)' : 'pass --force to overwrite it';
        return report.reportError(MessageName.UNNAMED, `sigstore [${ErrorCodes.POLICY_EXISTS}] a trust policy already exists: ${existing.join(', ')}; ${hint}`);
      }
      // A policy drafted from a missing or stale lockfile would deny what the next install resolves.
      try {
        assertLockfileCurrent(open.project, 'yarn sigstore policy init');
      } catch (error) {
        return reportPluginError(report, error, 'yarn.lock');
      }
      const entries = await report.startTimerPromise('Verifying the lockfile\'s registry packages', () => collectEntries(open, report));
      if (entries === null) return;
      const text = draftPolicy({ entries, sources: collectSources(open, classifySource), reviewBy: daysFromNow(REVIEW_DAYS), generatedAt: daysFromNow(0) });
      // Fail closed on our own output: a policy we cannot load is never written.
      const problems = validatePolicyDocument(parseYaml(text), target).problems.filter((problem) => problem.severity === 'error');
      if (problems.length > 0) return report.reportError(MessageName.UNNAMED, `sigstore [${ErrorCodes.INTERNAL}] the drafted policy is invalid:\n${problems.map(formatProblem).join('\n')}`);
      writeFileSync(target, text);
      // Packages, as the rules list them: one in the tree at two versions is one name.
      const names = { provenance: new Set<string>(), publish: new Set<string>(), unsigned: new Set<string>() };
      for (const entry of entries) names[entry.kind].add(entry.name);
      const counts = { provenance: names.provenance.size, publish: names.publish.size, unsigned: names.unsigned.size };
      report.reportInfo(MessageName.UNNAMED, `sigstore: wrote ${target}: ${counts.provenance} packages pinned to their provenance identity, ${counts.publish} publish-only, ${counts.unsigned} unsigned exceptions to review`);
      report.reportJson({ type: 'sigstore-policy-init', file: target, ...counts });
    });
  }
}

/** What each registry package carries; null (after reporting) when any fails verification. */
async function collectEntries(open: OpenProject, report: StreamReport): Promise<DraftEntry[] | null> {
  try {
    // Policy and trust material load together; a broken one is reported once, not per package.
    await open.session.ready();
  } catch (error) {
    reportPluginError(report, error, 'yarn sigstore policy init');
    report.reportInfo(MessageName.UNNAMED, 'sigstore: with --force over a policy that does not load, move the file away first');
    return null;
  }
  const pool = createPool(open.session.settings.concurrency);
  const packages = lockfileRegistryPackages(open);
  const results = await withPackageProgress(report, packages.length, (tick) => Promise.all(
    packages.map((locator) =>
      pool(async (): Promise<DraftEntry | null> => {
        const subject = structUtils.stringifyLocator(locator);
        try {
          const { subject: pkg, outcome, source } = await verifyRegistryPackage(open, locator);
          if (outcome.status === 'failed') {
            report.reportError(MessageName.UNNAMED, printableMessage(`sigstore [${outcome.error.code}] ${outcome.error.message}${source ? ` (bundle from ${source})` : ''}`));
            return null;
          }
          const { name, version } = pkg;
          if (outcome.status === 'unsigned') return { name, version, kind: 'unsigned' };
          const provenance = outcome.result.provenance;
          return provenance ? { name, version, kind: 'provenance', identity: provenance.identity } : { name, version, kind: 'publish' };
        } catch (error) {
          reportPluginError(report, error, subject);
          return null;
        } finally {
          tick();
        }
      }),
    ),
  ));
  if (results.some((entry) => entry === null)) {
    report.reportError(MessageName.UNNAMED, 'sigstore: no policy written: fix or remove the packages above first (a policy must never allow a bundle that fails verification)');
    return null;
  }
  return results as DraftEntry[];
}

/** Non-registry packages of the lockfile the policy's `sources` must name. */
function collectSources(open: OpenProject, classifySource: typeof import('../../policy').classifySource): Map<SourceKind, Map<string, Set<string>>> {
  const sources = new Map<SourceKind, Map<string, Set<string>>>();
  for (const pkg of open.project.originalPackages.values() as Iterable<Package>) {
    const route = routeOf(pkg.reference);
    if (route !== 'foreign' && route !== 'local') continue;
    const { protocol, reference } = splitProtocol(pkg.reference);
    const category = classifySource({ protocol, reference, outsideProject: route === 'local' ? isOutsideProject(open.project, pkg.reference) : undefined });
    if (category === 'git' || category === 'tarball' || category === 'exec' || category === 'local') {
      const found = sources.get(category) ?? new Map<string, Set<string>>();
      const name = structUtils.stringifyIdent(pkg);
      found.set(name, (found.get(name) ?? new Set<string>()).add(pkg.reference));
      sources.set(category, found);
    }
  }
  return sources;
}

function daysFromNow(days: number): string {
  return new Date(Date.now() + days * 24 * 3600 * 1000).toISOString().slice(0, 10);
}
