/**
 * `yarn sigstore policy trust <package>`: verifies the installed version(s)
 * of a package as `explain` and the install gate do, and writes a
 * `require: provenance` rule pinned to the verified signer identity.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { MessageName, structUtils, type Locator, type StreamReport } from '@yarnpkg/core';
import { Command, Option, type Usage } from 'clipanion';
import { ErrorCodes, SigstorePluginError } from '../../errors';
import type { VerificationOutcome } from '../../policy';
import type { SignerIdentity } from '../../verify/types';
import { openProject, runReport, verifyRegistryPackage, type OpenProject } from './context';
import { runPolicyEdit, today } from './policy-edit';
import { withPackageProgress } from './progress';
import { reportPluginError } from './reporting';
import { parseRequest, resolveTarget } from './resolve';

export class SigstorePolicyTrustCommand extends BaseCommand {
  static override paths = [['sigstore', 'policy', 'trust']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: "write a rule that pins a package to its verified signer identity",
    details: `
      Verifies the bundles of the version(s) of the package in the lockfile exactly as the install gate does, then writes a \`require: provenance\` rule for it pinned to what the verified certificate says: the OIDC issuer, the source repository (and its immutable ID when the certificate has it), the workflow file, and a \`ref\`: a release tag naming the version becomes a template that binds each version to its own tag (\`refs/tags/v1.2.3\` becomes \`refs/tags/v{version}\`); another tag any tag; a branch stays that branch.

      The YAML policy is edited in place, keeping its comments. A rule that lists only this package is rewritten (an unsigned exception becomes the provenance rule); otherwise the package leaves its rule and joins one pinned to the same identity, or gets a new rule, placed before any earlier rule that selects it. The result is validated and must allow the verified package before anything is written; \`--dry-run\` prints the change instead.

      A package denied because its signer changed may be under attack: check the change upstream (release notes, the repository's own announcement) before trusting the new signer. A package without provenance has no identity to trust: see \`yarn sigstore policy allow\`. A bundle that fails verification is never trusted.
    `,
    examples: [
      ['Pin a dependency to the identity that built it', 'yarn sigstore policy trust @acme/widget'],
      ['See the rule without writing it', 'yarn sigstore policy trust @acme/widget --dry-run'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print the result as JSON' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Print the change without writing the policy' });
  packageName = Option.String({ name: 'package' });

  async execute(): Promise<number> {
    const open = await openProject(this.context);
    return runReport(open.configuration, this.context, this.json, async (report) => {
      try {
        const [{ trustIdentity }, { identityPinOf, refPatternOf, pinFields }, { evaluate, allowCommand }] = await Promise.all([import('../../policy/edit'), import('../../policy/identity-pin'), import('../../policy')]);
        const verified = await verifyInstalled(open, report, this.packageName, allowCommand);
        const pins = verified.map(({ version, outcome }) => {
          const identity = outcome.result.provenance!.identity;
          return { version, pin: { ...identityPinOf(identity), ref: refPatternOf(identity.sourceRepositoryRef, version) } };
        });
        const distinct = new Set(pins.map(({ pin }) => JSON.stringify(pinFields(pin))));
        if (distinct.size > 1) {
          const listed = pins.map(({ version, pin }) => `${version}: ${pinFields(pin).map(([field, value]) => `${field} ${value}`).join(', ')}`).join('; ');
          throw new SigstorePluginError(ErrorCodes.POLICY_EDIT_REFUSED, `${this.packageName}: the versions in the lockfile were built by different identities (${listed}); write one rule per version (\`${this.packageName}@<version>\`) by hand`);
        }
        const { version, pin } = pins[0];
        const name = verified[0].name;
        await runPolicyEdit(open, report, {
          command: 'trust',
          subject: name,
          dryRun: this.dryRun,
          byHand: JSON.stringify({ packages: [name], require: 'provenance', identity: Object.fromEntries(pinFields(pin)) }),
          edit: (text, file, now) => trustIdentity(text, file, { name, version, pin, today: today(now) }, now),
          verdicts: (policy, now) => verified.map((entry) => evaluate(policy, { name: entry.name, version: entry.version }, entry.outcome, { now })),
        });
        const pinned = await pinnedChange(open, name, verified[0].outcome.result.provenance!.identity);
        if (pinned) report.reportInfo(MessageName.UNNAMED, `sigstore: note: sigstore.lock pins ${name} to another signer (${pinned}): installs are refused (versions it has not recorded, and recorded ones it no longer agrees with) until you accept the new signer there too: \`yarn sigstore pin update ${name} --reason "..."\``);
      } catch (error) {
        reportPluginError(report, error, this.packageName);
      }
    });
  }
}

type Verified = { name: string; version: string; outcome: Extract<VerificationOutcome, { status: 'verified' }> };

/** Every lockfile version of the package, verified; each must carry provenance, or nothing is trusted. */
async function verifyInstalled(open: OpenProject, report: StreamReport, request: string, allowCommand: (name: string) => string): Promise<Verified[]> {
  const targets = await resolveTarget(open.project, request);
  if (!Array.isArray(targets)) {
    throw new SigstorePluginError(ErrorCodes.POLICY_EDIT_REFUSED, `${request}: not a registry package (the policy's \`sources\` decide for it); there is no provenance to trust`);
  }
  let installed = targets.filter((target) => target.inProject).map((target) => target.locator);
  // Denied before the lockfile was written (a first install, `yarn add`): the version Yarn resolves for the declared range.
  if (installed.length === 0) installed = await declaredVersions(open, request);
  if (installed.length === 0) {
    throw new SigstorePluginError(ErrorCodes.POLICY_EDIT_REFUSED, `${request} is neither in the lockfile nor a dependency in package.json: add it first, or see what it carries with \`yarn sigstore explain ${request}\``);
  }
  const verified: Verified[] = [];
  await withPackageProgress(report, installed.length, async (tick) => {
    for (const locator of installed) {
      verified.push(await verifyTrustable(open, locator, allowCommand));
      tick();
    }
  });
  return verified;
}

/** One installed version, verified; it must carry provenance to be trusted. */
async function verifyTrustable(open: OpenProject, locator: Locator, allowCommand: (name: string) => string): Promise<Verified> {
  const { subject, outcome } = await verifyRegistryPackage(open, locator);
  const id = `${subject.name}@${subject.version}`;
  if (outcome.status === 'failed') {
    throw new SigstorePluginError(outcome.error.code, `${outcome.error.message}; nothing written: a bundle that fails verification is never trusted`, { subject: id });
  }
  if (outcome.status === 'unsigned' || !outcome.result.provenance) {
    const carries = outcome.status === 'unsigned' ? 'no Sigstore bundle' : 'only an npm publish attestation, which names no builder';
    throw new SigstorePluginError(ErrorCodes.POLICY_EDIT_REFUSED, `${id} carries ${carries}: there is no identity to trust. To allow it without provenance: ${allowCommand(subject.name)}`, { subject: id });
  }
  return { name: subject.name, version: subject.version, outcome };
}

/** What Yarn resolves for the ranges the workspaces declare for the package (none when no workspace depends on it). */
async function declaredVersions(open: OpenProject, request: string): Promise<Locator[]> {
  const ident = parseRequest(open.project, request).descriptor;
  const declared = open.project.workspaces.flatMap((workspace) => [workspace.manifest.dependencies, workspace.manifest.devDependencies].map((dependencies) => dependencies.get(ident.identHash)));
  const ranges = [...new Set(declared.filter((descriptor) => descriptor !== undefined).map((descriptor) => structUtils.stringifyDescriptor(descriptor)))];
  const resolved = await Promise.all(ranges.map((range) => resolveTarget(open.project, range)));
  return resolved.flatMap((targets) => (Array.isArray(targets) ? targets.map((target) => target.locator) : []));
}

/** How the identity sigstore.lock pins for the package differs from the verified one (undefined: no pin, same identity, or an update pending). */
async function pinnedChange(open: OpenProject, name: string, identity: SignerIdentity): Promise<string | undefined> {
  const [{ pinLockPath, readPinLock }, { identityChanges, pinnedIdentityOf }] = await Promise.all([import('../pipeline-adapter'), import('../../pins')]);
  const pin = readPinLock(pinLockPath(open.project)).parsed?.lock.packages.get(name);
  if (!pin?.identity || pin.pendingUpdate) return undefined;
  const changes = identityChanges(pin.identity, pinnedIdentityOf(identity));
  return changes.length === 0 ? undefined : changes.map((change) => `${change.field} ${change.pinned}`).join(', ');
}
