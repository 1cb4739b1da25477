/**
 * `yarn sigstore explain <package>[@<range>]`: what the gate would decide for
 * one package and why: where its bundles come from, what they prove, which
 * rule matches and the verdict.
 */
import { BaseCommand } from '@yarnpkg/cli';
import { MessageName, structUtils, type StreamReport } from '@yarnpkg/core';
import { Command, Option, type Usage } from 'clipanion';
import type { PolicyRule, Verdict, VerificationOutcome } from '../../policy';
import { publicResult } from '../session';
import { attestationsOf, describeAttestation, identityClaims } from './claims';
import { openProject, runReport, verifyRegistryPackage, type OpenProject } from './context';
import { isOutsideProject, routeOf, splitProtocol } from '../locators';
import { resolveTarget, type ResolvedTarget, type SourceTarget } from './resolve';
import { reportPluginError } from './reporting';

export class SigstoreExplainCommand extends BaseCommand {
  static override paths = [['sigstore', 'explain']];

  static override usage: Usage = Command.Usage({
    category: 'Sigstore-related commands',
    description: 'explain the trust policy verdict for one package',
    details: `
      For a package of the project (the version in the lockfile) or one not added yet (resolved with Yarn's own resolver and configuration: registries, scopes, authentication), downloads its tarball, finds its Sigstore bundles, verifies them exactly as the install gate does and prints: where the bundles were found, every claim of the verified signer identity, the policy rule that matches and what it requires, and the verdict.

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
      } catch (error) {
        return reportPluginError(report, error, this.request);
      }
      if (!Array.isArray(targets)) return explainSource(open, targets, report);
      for (const target of targets) await explainOne(open, target, report);
    });
  }
}

async function explainOne(open: OpenProject, target: ResolvedTarget, report: StreamReport): Promise<void> {
  const id = structUtils.prettyLocator(open.configuration, target.locator);
  let verified: Awaited<ReturnType<typeof verifyRegistryPackage>>;
  try {
    verified = await verifyRegistryPackage(open, target.locator);
  } catch (error) {
    return reportPluginError(report, error, structUtils.stringifyLocator(target.locator));
  }
  const { policy } = await open.session.ready();
  const { subject, outcome, source } = verified;
  const verdict = policy.judge({ name: subject.name, version: subject.version }, outcome);
  const where = target.inProject ? 'in the lockfile' : "not in the project: resolved with Yarn's resolver";

  report.reportJson({
    type: 'sigstore-explain',
    inProject: target.inProject,
    outcome: outcome.status,
    policy: policy.loaded?.filepath ?? null,
    ...publicResult({ locator: structUtils.stringifyLocator(target.locator), name: subject.name, version: subject.version, status: verdict.decision === 'deny' ? 'failed' : 'verified', tgzSha512: subject.sha512Hex, source, verdict, verification: outcome.status === 'verified' ? outcome.result : undefined, error: outcome.status === 'failed' ? { code: outcome.error.code, message: outcome.error.message } : undefined }),
  });
  const line = (text: string) => report.reportInfo(MessageName.UNNAMED, text);
  line(`${id} (${where})`);
  line(`  Tarball sha512: ${subject.sha512Hex}`);
  for (const text of outcomeLines(outcome, source)) line(`  ${text}`);
  for (const text of ruleLines(verdict, ruleOf(policy.loaded?.model, verdict), policy.loaded?.filepath)) line(`  ${text}`);
  reportVerdict(report, verdict.decision, verdict.message);
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
  if (outcome.status === 'failed') return [`Bundles: ${source ? `found at ${source}, ` : ''}verification FAILED: [${outcome.error.code}] ${outcome.error.message}`];
  const lines = [`Bundles: found at ${source ?? 'an unknown source'}`];
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

function ruleOf(model: { default: PolicyRule; rules: PolicyRule[] } | undefined, verdict: Verdict): PolicyRule | undefined {
  if (!model || !verdict.rule) return undefined;
  return verdict.rule.index === -1 ? model.default : model.rules[verdict.rule.index];
}

function ruleLines(verdict: Verdict, rule: PolicyRule | undefined, file: string | undefined): string[] {
  if (!verdict.rule) return [`Rule: none (${file ? 'no rule applies' : 'no trust policy: zero-config verifies what exists and allows unsigned packages'})`];
  const why = verdict.rule.index === -1 ? 'no rule selects this package, so the default applies' : `the first unexpired rule whose packages (${verdict.rule.packages.join(', ')}) select it`;
  const lines = [`Rule: ${verdict.rule.description}: ${why}`];
  if (rule) {
    lines.push(`  requires ${rule.require}${rule.mode ? `, mode ${rule.mode}` : ''}${rule.expires ? `, until ${rule.expires}` : ''}${rule.reason ? ` (${rule.reason})` : ''}`);
    for (const [field, value] of Object.entries(rule.identity ?? {})) lines.push(`  identity.${field}: ${Array.isArray(value) ? value.join(' or ') : value}`);
  }
  for (const mismatch of verdict.mismatches) lines.push(`  MISMATCH ${mismatch.field}: expected ${mismatch.expected}, found ${mismatch.found ?? 'nothing (the certificate lacks this claim)'}`);
  return lines;
}
