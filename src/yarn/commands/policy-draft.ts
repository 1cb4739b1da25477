/**
 * Writes a starting trust policy from what the project's packages really
 * carry: one provenance rule per signer identity (issuer, repository and its
 * ID, workflow), grouped under their repository owner; publish-only and
 * unsigned packages get explicit, commented exceptions.
 */
import { withVersion } from '../../policy/glob';
import { identityPinOf, type IdentityPin } from '../../policy/identity-pin';
import { gitTarget, tarballUrl, type SourceKind } from '../../policy';
import { splitProtocol } from '../locators';
import type { SignerIdentity } from '../../verify/types';

export type DraftEntry =
  | { name: string; version: string; kind: 'provenance'; identity: SignerIdentity }
  | { name: string; version: string; kind: 'publish' | 'unsigned' };

export interface DraftInput {
  entries: DraftEntry[];
  /** Non-registry packages the policy's `sources` must allow, by kind: each name with the ranges the lockfile resolves it to. */
  sources: Map<SourceKind, Map<string, Set<string>>>;
  /** Expiry written on the unsigned exceptions (YYYY-MM-DD). */
  reviewBy: string;
  generatedAt: string;
}

type Pin = IdentityPin;

/** The ways a release tag names its version, tried in order. */
const VERSION_TAGS = ['refs/tags/v{version}', 'refs/tags/{version}'];

/** The tag template every verified version of `name` was built from, if there is one. */
function versionTagOf(name: string, all: DraftEntry[]): string | undefined {
  const versions = all.filter((entry): entry is Extract<DraftEntry, { kind: 'provenance' }> => entry.name === name && entry.kind === 'provenance');
  return VERSION_TAGS.find((template) => versions.every((entry) => entry.identity.sourceRepositoryRef === withVersion(template, entry.version)));
}

/** What a rule pins for one identity: the repository (and its immutable ID) and the workflow, else the SAN; the version's own tag when it always was. */
function pinOf(entry: Extract<DraftEntry, { kind: 'provenance' }>, all: DraftEntry[]): Pin {
  return { ...identityPinOf(entry.identity), ref: versionTagOf(entry.name, all) };
}

function ownerOf(pin: Pin): string {
  if (!pin.repository) return pin.san ?? 'unknown signer';
  const url = new URL(pin.repository);
  return `${url.host}/${url.pathname.split('/').filter(Boolean)[0] ?? ''}`;
}

const quote = (text: string) => JSON.stringify(text);

/** Package selectors: the bare name, or `name@version` when versions of one name differ in what they carry. */
function selectorsFor(entries: DraftEntry[], all: DraftEntry[], keyOf: (entry: DraftEntry) => string): string[] {
  const selectors = entries.map((entry) => {
    const siblings = all.filter((other) => other.name === entry.name);
    return siblings.every((other) => keyOf(other) === keyOf(entry)) ? entry.name : `${entry.name}@${entry.version}`;
  });
  return [...new Set(selectors)].sort();
}

function entryKey(entry: DraftEntry, all: DraftEntry[]): string {
  return entry.kind === 'provenance' ? JSON.stringify(pinOf(entry, all)) : entry.kind;
}

/** One package a line (selectorsFor sorts them): a change to the policy reads as one added or removed line in a diff. */
function packagesLines(selectors: string[]): string[] {
  return ['  - packages:', ...selectors.map((selector) => `      - ${quote(selector)}`)];
}

function provenanceRules(entries: DraftEntry[]): string[] {
  const groups = new Map<string, { pin: Pin; entries: DraftEntry[] }>();
  for (const entry of entries) {
    if (entry.kind !== 'provenance') continue;
    const key = entryKey(entry, entries);
    const group = groups.get(key) ?? { pin: pinOf(entry, entries), entries: [] };
    group.entries.push(entry);
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort((a, b) => ownerOf(a.pin).localeCompare(ownerOf(b.pin)) || (a.pin.repository ?? '').localeCompare(b.pin.repository ?? ''));
  const lines: string[] = [];
  let owner: string | undefined;
  for (const { pin, entries: members } of sorted) {
    if (ownerOf(pin) !== owner) {
      owner = ownerOf(pin);
      lines.push('', `  # ---- ${owner} ----`);
    }
    lines.push(`  # Built from ${pin.repository ?? pin.san}${pin.repositoryId ? ` (repository ID ${pin.repositoryId}: a deleted and re-created repository of the same name does not match)` : ''}${pin.workflow ? ` by the workflow ${pin.workflow}` : ''}.`);
    lines.push(...packagesLines(selectorsFor(members, entries, (entry) => entryKey(entry, entries))), '    require: provenance', '    identity:');
    if (pin.issuer) lines.push(`      issuer: ${quote(pin.issuer)}`);
    if (pin.repository) lines.push(`      repository: ${quote(pin.repository)}`);
    if (pin.repositoryId) lines.push(`      repositoryId: ${quote(pin.repositoryId)}`);
    if (pin.workflow) lines.push(`      workflow: ${quote(pin.workflow)}`);
    if (pin.san) lines.push(`      san: ${quote(pin.san)}`);
    if (pin.ref) lines.push(`      ref: ${quote(pin.ref)} # every version so far was built from its own tag`);
  }
  return lines;
}

function exceptionRules(entries: DraftEntry[], reviewBy: string): string[] {
  const lines: string[] = [];
  const publishOnly = entries.filter((entry) => entry.kind === 'publish');
  if (publishOnly.length > 0) {
    lines.push('', '  # Published with an npm publish attestation but no build provenance: the registry vouches for the', '  # upload, nothing pins who built it.');
    lines.push(...packagesLines(selectorsFor(publishOnly, entries, (entry) => entryKey(entry, entries))), '    require: publish');
  }
  const unsigned = entries.filter((entry) => entry.kind === 'unsigned');
  if (unsigned.length > 0) {
    lines.push('', '  # No Sigstore provenance at all. Allowed as they are today; replace the reason, and once the', `  # exception expires (${reviewBy}) the default rule requires provenance again.`);
    lines.push(...packagesLines(selectorsFor(unsigned, entries, (entry) => entryKey(entry, entries))), '    require: none', `    reason: ${quote('TODO: say why these packages are trusted without provenance')}`, `    expires: ${quote(reviewBy)}`);
  }
  return lines;
}

/** One `sources` entry: git and tarball sources are allowed from the repository (at the locked commit) or URL the lockfile names. */
function allowanceOf(kind: SourceKind, name: string, range: string): string {
  const request = { name, ...splitProtocol(range) };
  if (kind === 'git') {
    const { repository, commit } = gitTarget(request);
    return `{ package: ${quote(name)}, repository: ${quote(`https://${repository}`)}${commit ? `, commit: ${quote(commit)}` : ''} }`;
  }
  return `{ package: ${quote(name)}, url: ${quote(tarballUrl(request))} }`;
}

function sourceLines(sources: Map<SourceKind, Map<string, Set<string>>>): string[] {
  const kinds = [...sources.entries()].filter(([, found]) => found.size > 0);
  if (kinds.length === 0) return [];
  const lines = ['', '# Dependencies that do not come from the registry (their bytes carry no registry provenance): git and', '# tarball sources only from the repository, commit or URL the lockfile names today.', 'sources:'];
  for (const [kind, found] of kinds) {
    const names = [...found.keys()].sort();
    if (kind !== 'git' && kind !== 'tarball') {
      lines.push(`  ${kind}:`, ...names.map((name) => `    - ${quote(name)}`));
      continue;
    }
    lines.push(`  ${kind}:`);
    for (const name of names) for (const range of [...found.get(name)!].sort()) lines.push(`    - ${allowanceOf(kind, name, range)}`);
  }
  return lines;
}

export function draftPolicy(input: DraftInput): string {
  const rules = [...provenanceRules(input.entries), ...exceptionRules(input.entries, input.reviewBy)];
  return [
    `# Trust policy written by \`yarn sigstore policy init\` on ${input.generatedAt} from the identities`,
    '# the project\'s dependencies carry today. Review it, commit it, and tighten it over time.',
    '# Reference: docs/policy.md of yarn-plugin-sigstore. Check it with `yarn sigstore policy check`.',
    'version: 1',
    'mode: enforce',
    '',
    '# A package no rule below selects must come with verified SLSA provenance.',
    'default:',
    '  require: provenance',
    '',
    '# The first rule whose packages select a package decides. Each provenance rule pins the identity',
    '# its packages were really built with: changing repository, repository ID or workflow fails the install.',
    rules.length > 0 ? 'rules:' : 'rules: []',
    ...rules,
    ...sourceLines(input.sources),
    '',
  ].join('\n');
}
