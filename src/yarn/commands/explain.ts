/**
 * `yarn sigstore explain <package>[@<range>]`: what the gate would decide for
 * one package and why: where its bundles come from, what they prove, which
 * rule matches and the verdict.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { MessageName, ThrowReport, structUtils, type StreamReport } from '@yarnpkg/core';
import { Command, Option, type Usage } from 'clipanion';
import type { PolicyRule, Verdict, VerificationOutcome } from '../../policy';
import { ErrorCodes, SigstorePluginError, type ErrorCode } from '../../errors';
import { VERIFICATION_CACHE_SOURCE, publicResult, type PackageResult } from '../../install/results';
import { attestationsOf, describeAttestation, identityClaims } from './claims';
import { openProject, resolveFromLockfile, runReport, type OpenProject } from './context';
import { installedLocators, runGate, runGateOutsideProject } from './gate-run';
import { isOutsideProject, routeOf, splitProtocol } from '../locators';
import { resolveTarget, type ResolvedTarget, type SourceTarget } from './resolve';
import { withPackageProgress } from './progress';
import { reportPluginError } from './reporting';
import { printable } from '../../printable';

export class SigstoreExplainCommand extends BaseCommand {
  static override paths = [['sigstore', 'explain']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: 'explain the trust policy verdict for one package',
    details: `
      For a package of the project (the version in the lockfile), runs the install gate on it exactly as \`yarn install\` and \`yarn sigstore verify\` do (the same cache, verification, policy, pins and manifest check, every locator of it the install fetches, patched ones included) and prints: where its bundles were found, every claim of the verified signer identity, the policy rule that matches and what it requires, and the verdict the install reaches. For one not added yet (resolved with Yarn's own resolver and configuration: registries, scopes, authentication), does the same with the tarball and metadata \`yarn add\` would use.

      Exits with 1 when the package would be denied.
    `,
    examples: [
      ['Explain a dependency of the project', 'yarn sigstore explain gundam-visor'],
      ['Would this version pass the policy if we added it?', 'yarn sigstore explain @acme/tool@^2.0.0'],
      ['Machine-readable', 'yarn sigstore explain lodash --json'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object per package' });
  request = Option.String({ name: 'package[@range]' });

  async execute(): Promise<number> {
    const open = await openProject(this.context);
    return runReport(open.configuration, this.context, this.json, async (report) => {
      let targets: Awaited<ReturnType<typeof resolveTarget>>;
      try {
        targets = await resolveTarget(open.project, this.request);
        if (Array.isArray(targets) && targets.some((target) => target.inProject)) await resolveLockfileForGate(open);
      } catch (error) {
        return reportPluginError(report, error, this.request);
      }
      if (!Array.isArray(targets)) return explainSource(open, targets, report);
      await withPackageProgress(report, targets.length, async (tick) => {
        for (const target of targets) {
          await explainOne(open, target, report);
          tick();
        }
      });
    });
  }
}

/** The lockfile's packages as an install resolves them, so that the gate sees what `yarn install` would fetch. */
async function resolveLockfileForGate(open: OpenProject): Promise<void> {
  try {
    await resolveFromLockfile(open.project, new ThrowReport());
  } catch (error) {
    throw new SigstorePluginError(ErrorCodes.LOCKFILE_STALE, `yarn.lock does not describe the next install (${(error as Error).message}): run \`yarn install\`, then explain again`, { cause: error });
  }
}

/**
 * Runs the install gate on the package (every locator of it the install
 * fetches, patched ones included), then explains the session's result: the
 * verdict is the one `yarn install` and `yarn sigstore verify` reach.
 */
async function explainOne(open: OpenProject, target: ResolvedTarget, report: StreamReport): Promise<void> {
  const id = structUtils.prettyLocator(open.configuration, target.locator);
  const run = target.inProject ? await runGate(open, installedLocators(open, target.locator)) : await runGateOutsideProject(open, target.locator);
  const result = open.session.results.get(target.locator.locatorHash);
  const failure = [...run.failures.values()][0];
  if (!result?.verdict) {
    // A platform package this machine does not install ('skipped'), or a project-local one.
    if (result?.status === 'local' || result?.status === 'skipped') return explainUninstalled(open, target, result.status, result.source ?? 'not verified', report);
    return reportPluginError(report, failure ?? new SigstorePluginError(ErrorCodes.INTERNAL, 'the gate reached no verdict'), structUtils.stringifyLocator(target.locator));
  }
  const { policy } = await open.session.ready();
  const outcome = outcomeOf(result);
  const verdict = failure && result.verdict.decision !== 'deny' ? { ...result.verdict, decision: 'deny' as const, message: failure.message } : result.verdict;
  const where = target.inProject ? `in the lockfile${aliasNote(target)}` : "not in the project: resolved with Yarn's resolver";

  report.reportJson({
    type: 'sigstore-explain',
    inProject: target.inProject,
    outcome: outcome.status,
    policy: policy.loaded?.filepath ?? null,
    ...publicResult({ ...result, status: verdict.decision === 'deny' ? 'failed' : result.status, verdict }),
  });
  // Every line may quote the registry (a source URL it announced, a claim): printed escaped.
  const line = (text: string) => report.reportInfo(MessageName.UNNAMED, printable(text));
  line(`${id} (${where})`);
  line(`  Tarball sha512: ${result.tgzSha512}`);
  for (const text of outcomeLines(outcome, result.source)) line(`  ${text}`);
  for (const text of signalLines(result)) line(`  ${text}`);
  for (const text of ruleLines(result.verdict, ruleOf(policy.loaded?.model, result.verdict), policy.loaded?.filepath)) line(`  ${text}`);
  for (const warning of run.warnings) report.reportWarning(MessageName.UNNAMED, `  ${warning}`);
  reportVerdict(report, verdict.decision, verdict.message);
}

/** What the gate's result says the verification found (it keeps the verified result, or the failure). */
function outcomeOf(result: PackageResult): VerificationOutcome {
  if (result.verification) return { status: 'verified', result: result.verification };
  if (result.verdict?.reason === 'verification-failed' || result.verdict?.reason === 'verification-skipped') {
    return { status: 'failed', error: new SigstorePluginError((result.error?.code ?? ErrorCodes.INTERNAL) as ErrorCode, result.error?.message ?? result.verdict.message) };
  }
  return { status: 'unsigned' };
}

const aliasNote = (target: ResolvedTarget) => (target.alias ? `, installed as the alias ${target.alias}` : '');

/** A package the install does not fetch on this platform (an optional platform package): nothing of it is installed here. */
function explainUninstalled(open: OpenProject, target: ResolvedTarget, status: 'local' | 'skipped', reason: string, report: StreamReport): void {
  report.reportJson({ type: 'sigstore-explain', inProject: target.inProject, locator: structUtils.stringifyLocator(target.locator), status, source: reason });
  report.reportInfo(MessageName.UNNAMED, `${structUtils.prettyLocator(open.configuration, target.locator)} (in the lockfile${aliasNote(target)}): ${reason}; the install fetches nothing of it here`);
  reportVerdict(report, 'allow', `${structUtils.stringifyLocator(target.locator)}: ${reason}`);
}

/** The verdict line; a deny is an error, so the command exits with 1. */
function reportVerdict(report: StreamReport, decision: 'allow' | 'warn' | 'deny', message: string): void {
  const text = `  Verdict: ${decision.toUpperCase()}: ${message}`;
  if (decision === 'deny') report.reportError(MessageName.UNNAMED, text);
  else if (decision === 'warn') report.reportWarning(MessageName.UNNAMED, text);
  else report.reportInfo(MessageName.UNNAMED, text);
}

/** A non-registry dependency: no bundle to verify; the gate asks the policy's `sources`. */
async function explainSource(open: OpenProject, target: SourceTarget, report: StreamReport): Promise<void> {
  const { policy } = await open.session.ready();
  const { protocol, reference } = splitProtocol(target.descriptor.range);
  const route = routeOf(target.descriptor.range);
  // A path dependency of a package not yet added is judged from the project root.
  const outsideProject = route === 'local' ? isOutsideProject(open.project, target.descriptor.range, open.project.topLevelWorkspace.anchoredLocator) : undefined;
  const decision = policy.judgeSource({ name: structUtils.stringifyIdent(target.descriptor), protocol, reference, outsideProject });
  report.reportJson({ type: 'sigstore-explain', descriptor: structUtils.stringifyDescriptor(target.descriptor), source: decision });
  report.reportInfo(MessageName.UNNAMED, `${structUtils.prettyDescriptor(open.configuration, target.descriptor)}: a ${decision.category} source, not the registry: no Sigstore bundle applies; the policy's \`sources\` decide`);
  reportVerdict(report, decision.decision, decision.message);
}

function outcomeLines(outcome: VerificationOutcome, source: string | undefined): string[] {
  if (outcome.status === 'unsigned') return ['Bundles: none found (registry attestations, bundle directory and attestation registries consulted)'];
  if (outcome.status === 'failed') {
    const failed = `FAILED: [${outcome.error.code}] ${outcome.error.message}`;
    // A registry-signature failure is no bundle's: say which check failed.
    return [outcome.error.code.startsWith('REGISTRY_') ? `Registry signature: ${failed}` : `Bundles: ${source ? `found at ${source}, ` : ''}verification ${failed}`];
  }
  // As the install: a result verified earlier for these exact bytes is used without a request.
  const where = source === VERIFICATION_CACHE_SOURCE ? `verified earlier for these exact bytes and trust material (${source}; sigstoreRecheckAttestations: true fetches them again)` : `found at ${source ?? 'an unknown source'}`;
  const lines = [`Bundles: ${where}`];
  for (const attestation of attestationsOf(outcome.result)) lines.push(`  verified ${describeAttestation(attestation)}`);
  const identity = outcome.result.provenance?.identity;
  if (identity) {
    lines.push('Verified signer identity:');
    for (const [label, value] of identityClaims(identity)) lines.push(`  ${label}: ${value}`);
  } else {
    lines.push('Verified signer identity: none (no provenance; a publish attestation proves who published, not what built it)');
  }
  return lines;
}

/** The npm registry signature and the registry history, as the gate found them. */
function signalLines(result: PackageResult): string[] {
  const lines: string[] = [];
  const signature = result.registrySignature;
  if (signature?.status === 'verified') lines.push(`Registry signature: verified with npm key ${signature.keyId} over this tarball's integrity (${signature.source}; key valid at ${signature.keyValidAt}, ${signature.timeSource})`);
  else if (signature?.status === 'absent') lines.push(`Registry signature: none in ${signature.source} (allowed: registrySignatures: when-present)`);
  else if (signature?.status === 'covered') {
    lines.push(`Registry signature: covered by the verified npm publish attestation (npm key ${signature.keyId} signed this name, version and tarball's sha512; ${signature.source}); the packument's signature was not asked for (registrySignatures: when-present; require asks and checks it)`);
  }
  else if (signature) lines.push(`Registry signature: not checked (${signature.why})`);
  const downgrade = result.downgrade;
  if (downgrade) lines.push(`Registry history: ${downgrade.signedVersion} of the ${downgrade.line} line was published with ${downgrade.evidence === 'trusted-publisher' ? 'a trusted publisher' : 'provenance'}, this version without (provenance downgrade)`);
  return lines;
}

function ruleOf(model: { default: PolicyRule; rules: PolicyRule[] } | undefined, verdict: Verdict): PolicyRule | undefined {
  if (!model || !verdict.rule) return undefined;
  return verdict.rule.index === -1 ? model.default : model.rules[verdict.rule.index];
}

function ruleLines(verdict: Verdict, rule: PolicyRule | undefined, file: string | undefined): string[] {
  if (!verdict.rule) return [`Rule: none (${file ? 'no rule applies' : 'no trust policy: zero-config verifies what exists and allows unsigned packages'})`];
  const why = verdict.rule.index === -1 ? 'no rule selects this package, so the default applies' : 'the first unexpired rule whose packages select it';
  const lines = [`Rule: ${verdict.rule.description}: ${why}`];
  if (rule) {
    lines.push(`  requires ${rule.require}${rule.mode ? `, mode ${rule.mode}` : ''}${rule.expires ? `, until ${rule.expires}` : ''}${rule.reason ? ` (${rule.reason})` : ''}`);
    for (const [field, value] of Object.entries(rule.identity ?? {})) lines.push(`  identity.${field}: ${Array.isArray(value) ? value.join(' or ') : value}`);
  }
  for (const mismatch of verdict.mismatches) lines.push(`  MISMATCH ${mismatch.field}: expected ${mismatch.expected}, found ${mismatch.found ?? 'nothing (the certificate lacks this claim)'}`);
  return lines;
}
