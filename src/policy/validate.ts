/**
 * Turns a parsed policy document into the validated model, collecting every
 * problem (file, path inside it, what was expected) instead of stopping at the first.
 */
import { globProblem, hasWildcard, PLACEHOLDER_SHAPE, VERSION_PLACEHOLDER } from './glob';
import {
  POLICY_MODES,
  REGISTRY_SIGNATURE_MODES,
  REQUIREMENTS,
  RUNNERS,
  SOURCE_KINDS,
  type SourceAllowance,
  type IdentityRequirement,
  type PolicyMode,
  type PolicyModel,
  type PolicyProblem,
  type PolicyRule,
  type RegistrySignatureMode,
  type Requirement,
  type SourceAllowances,
} from './model';
import { parseSelector, selectorCovers, selectorProblem, type PackageSelector } from './packages';
import { canonicalRepository } from './sources';

type Dict = Record<string, unknown>;

class Problems {
  readonly list: PolicyProblem[] = [];
  constructor(readonly file: string) {}
  error(path: string, expected: string, found?: unknown): undefined {
    this.list.push({ severity: 'error', file: this.file, path, expected, found: describeFound(found) });
    return undefined;
  }
  warning(path: string, expected: string, found?: unknown): void {
    this.list.push({ severity: 'warning', file: this.file, path, expected, found: describeFound(found) });
  }
}

function describeFound(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function checkKeys(value: Dict, allowed: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.error(join(path, key), `one of the keys ${allowed.join(', ')}`, key);
  }
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], path: string, problems: Problems): T | undefined {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  return problems.error(path, `one of ${choices.join(' | ')}`, value);
}

function nonEmptyString(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value;
  return problems.error(path, 'a non-empty string', value);
}

/** `YYYY-MM-DD`, a real calendar date (YAML loaders may hand us a Date). */
function parseDate(value: unknown, path: string, problems: Problems): string | undefined {
  const text = value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString().slice(0, 10) : value;
  if (typeof text === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const date = new Date(`${text}T00:00:00Z`);
    if (!Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text) return text;
  }
  return problems.error(path, 'a date YYYY-MM-DD', value);
}

/** The placeholders in a text that are not among `known` (anything shaped `{word}`). */
function unknownPlaceholders(text: string, known: readonly string[]): string[] {
  return (text.match(PLACEHOLDER_SHAPE) ?? []).filter((placeholder) => !known.includes(placeholder));
}

/** What a field takes in place of an unknown placeholder: never literal text, always an error. */
function placeholderExpected(known: readonly string[]): string {
  return known.length > 0 ? `no placeholder other than ${known.join(', ')} (the version being installed)` : `no placeholder (${VERSION_PLACEHOLDER} is replaced only in identity globs)`;
}

/** A field compared exactly: a placeholder in it would never be replaced. */
function noPlaceholder(value: unknown, path: string, problems: Problems): void {
  if (typeof value === 'string' && unknownPlaceholders(value, []).length > 0) problems.error(path, placeholderExpected([]), value);
}

/**
 * One glob or a list of globs. `normalize` expands accepted shorthands;
 * `placeholders` are the ones the field replaces (`{version}` in identity globs).
 */
function globList(value: unknown, path: string, problems: Problems, normalize: (glob: string) => string | undefined, expected: string, placeholders: readonly string[] = [VERSION_PLACEHOLDER]): string[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return problems.error(path, `${expected}, or a non-empty list of them`, value);
  const globs: string[] = [];
  items.forEach((item, i) => {
    const itemPath = Array.isArray(value) ? join(path, i) : path;
    const unknown = typeof item === 'string' ? unknownPlaceholders(item, placeholders) : [];
    const normalized = typeof item === 'string' && !globProblem(item) ? normalize(item) : undefined;
    if (unknown.length > 0) problems.error(itemPath, placeholderExpected(placeholders), unknown.join(', '));
    else if (normalized === undefined) problems.error(itemPath, expected, item);
    else globs.push(normalized);
  });
  return globs.length === items.length ? globs : undefined;
}

/** `https://host/...` as is; `host.tld/...` (a first segment with a dot) gets `https://`. */
function normalizeUriGlob(glob: string): string | undefined {
  if (glob.startsWith('https://')) return glob.length > 'https://'.length ? glob : undefined;
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+\//i.test(glob)) return `https://${glob}`;
  return undefined;
}

const URI_EXPECTED = 'an https:// URI glob (or the shorthand host/owner/name, e.g. github.com/acme/*)';

function exactId(value: unknown, path: string, problems: Problems): string | undefined {
  if ((typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^\S+$/.test(value))) return String(value);
  return problems.error(path, 'an immutable id (a number or a string without spaces)', value);
}

const IDENTITY_KEYS = ['issuer', 'repository', 'workflow', 'signerWorkflow', 'ref', 'san', 'repositoryId', 'ownerId', 'runner', 'trigger', 'predicateType', 'environment'] as const;
/** Identity fields compared exactly as written: a placeholder in them is a mistake. */
const EXACT_IDENTITY_KEYS = ['issuer', 'repositoryId', 'ownerId', 'predicateType'] as const;

function validateIdentity(value: unknown, path: string, problems: Problems): IdentityRequirement | undefined {
  if (!isDict(value)) return problems.error(path, 'a mapping of identity fields', value);
  checkKeys(value, IDENTITY_KEYS, path, problems);
  if (Object.keys(value).length === 0) return problems.error(path, 'at least one identity field', value);
  const identity: IdentityRequirement = {};
  const at = (key: string) => join(path, key);
  if ('issuer' in value) identity.issuer = nonEmptyString(value.issuer, at('issuer'), problems);
  if ('repository' in value) identity.repository = globList(value.repository, at('repository'), problems, normalizeUriGlob, URI_EXPECTED);
  if ('signerWorkflow' in value) identity.signerWorkflow = globList(value.signerWorkflow, at('signerWorkflow'), problems, normalizeUriGlob, URI_EXPECTED);
  if ('san' in value) identity.san = globList(value.san, at('san'), problems, (g) => g, 'a SAN glob (URI or e-mail)');
  if ('workflow' in value) {
    identity.workflow = globList(value.workflow, at('workflow'), problems, (g) => (g.startsWith('/') || g.includes('@') || g.includes('://') ? undefined : g), 'a workflow file path glob inside the repository, e.g. .github/workflows/release.yml');
  }
  if ('ref' in value) identity.ref = globList(value.ref, at('ref'), problems, (g) => g, 'a git ref glob, e.g. refs/tags/v*');
  if ('trigger' in value) identity.trigger = globList(value.trigger, at('trigger'), problems, (g) => (g.includes('*') ? undefined : g), 'a trigger name (no glob), e.g. push, release', []);
  if ('repositoryId' in value) identity.repositoryId = exactId(value.repositoryId, at('repositoryId'), problems);
  if ('ownerId' in value) identity.ownerId = exactId(value.ownerId, at('ownerId'), problems);
  if ('runner' in value) identity.runner = oneOf(value.runner, RUNNERS, at('runner'), problems);
  if ('predicateType' in value) identity.predicateType = nonEmptyString(value.predicateType, at('predicateType'), problems);
  if ('environment' in value) identity.environment = globList(value.environment, at('environment'), problems, (g) => g, 'a deployment environment name glob, e.g. production');
  for (const key of EXACT_IDENTITY_KEYS) noPlaceholder(value[key], at(key), problems);
  return identity;
}

const RULE_KEYS = ['name', 'packages', 'require', 'identity', 'reason', 'expires', 'mode', 'verify', 'pin', 'registrySignatures', 'downgrade'] as const;

function validateRule(value: unknown, index: number, path: string, problems: Problems): PolicyRule | undefined {
  if (!isDict(value)) return problems.error(path, 'a rule mapping', value);
  const isDefault = index === -1;
  checkKeys(value, isDefault ? RULE_KEYS.filter((k) => k !== 'packages' && k !== 'expires') : RULE_KEYS, path, problems);
  const at = (key: string) => join(path, key);
  const errorsBefore = problems.list.filter((p) => p.severity === 'error').length;

  let packages: string[] = ['*'];
  if (!isDefault) {
    if (!Array.isArray(value.packages) || value.packages.length === 0) {
      problems.error(at('packages'), 'a non-empty list of package selectors', value.packages);
      packages = [];
    } else {
      packages = [];
      value.packages.forEach((item, i) => {
        const problem = typeof item === 'string' ? selectorProblem(item) : 'a package selector string';
        if (problem) problems.error(join(at('packages'), i), problem, item);
        else packages.push(item as string);
      });
    }
  }
  const verify = 'verify' in value ? (value.verify === 'skip' ? 'skip' : problems.error(at('verify'), 'skip (the only value)', value.verify)) : undefined;
  const requireValue = 'require' in value ? oneOf<Requirement>(value.require, REQUIREMENTS, at('require'), problems) : verify ? 'none' : problems.error(at('require'), 'require: provenance | publish | none');
  const mode = 'mode' in value ? oneOf<PolicyMode>(value.mode, POLICY_MODES, at('mode'), problems) : undefined;
  const reason = 'reason' in value ? nonEmptyString(value.reason, at('reason'), problems) : undefined;
  const name = 'name' in value ? nonEmptyString(value.name, at('name'), problems) : undefined;
  const expires = 'expires' in value ? parseDate(value.expires, at('expires'), problems) : undefined;
  const registrySignatures = 'registrySignatures' in value ? oneOf<RegistrySignatureMode>(value.registrySignatures, REGISTRY_SIGNATURE_MODES, at('registrySignatures'), problems) : undefined;
  const downgrade = 'downgrade' in value ? (value.downgrade === 'allow' ? 'allow' : problems.error(at('downgrade'), 'allow (the only value)', value.downgrade)) : undefined;
  if (downgrade === 'allow') {
    // An exception to a takeover signal: said why, for how long, and for the packages named, never for every package.
    if (reason === undefined) problems.error(at('reason'), 'a reason: `downgrade: allow` needs one');
    if (isDefault) problems.error(at('downgrade'), '`downgrade: allow` only on a rule with packages and an expiry, never on default');
    else if (!('expires' in value)) problems.error(at('expires'), 'an expiry date: `downgrade: allow` needs one');
  }
  const pin = 'pin' in value ? (typeof value.pin === 'boolean' ? value.pin : problems.error(at('pin'), 'true or false', value.pin)) : true;
  let identity: IdentityRequirement | undefined;
  if ('identity' in value) {
    if (requireValue !== 'provenance') problems.error(at('identity'), 'identity only on a `require: provenance` rule (a publish attestation proves no builder identity)', requireValue);
    else identity = validateIdentity(value.identity, at('identity'), problems);
  }
  if (verify === 'skip') {
    if (reason === undefined) problems.error(at('reason'), 'a reason: `verify: skip` needs one');
    if (!isDefault && !('expires' in value)) problems.error(at('expires'), 'an expiry date: `verify: skip` needs one');
    if (isDefault) problems.error(at('verify'), '`verify: skip` only on a rule with packages and an expiry, never on default');
    if (requireValue !== undefined && requireValue !== 'none') problems.error(at('require'), 'require: none with `verify: skip` (nothing verified can be required)', requireValue);
  }
  const relaxes = requireValue === 'none' || verify === 'skip' || mode === 'warn' || mode === 'off' || downgrade === 'allow' || registrySignatures === 'off';
  if ('expires' in value && !relaxes) {
    problems.error(at('expires'), 'no expiry on a strict rule (only a relaxing rule — require: none, verify: skip, mode warn/off — may expire, so nothing gets laxer by the calendar)', value.expires);
  }
  const errorsAfter = problems.list.filter((p) => p.severity === 'error').length;
  if (errorsAfter !== errorsBefore || requireValue === undefined) return undefined;
  return {
    index,
    name,
    packages,
    selectors: packages.map(parseSelector),
    require: requireValue,
    identity,
    reason,
    expires,
    mode,
    verify,
    pin: pin ?? true,
    ...(registrySignatures !== undefined ? { registrySignatures } : {}),
    ...(downgrade !== undefined ? { downgrade } : {}),
  };
}

function validateSources(value: unknown, problems: Problems): SourceAllowances {
  const sources: SourceAllowances = { git: [], tarball: [], exec: [], local: [] };
  if (value === undefined) return sources;
  if (!isDict(value)) {
    problems.error('sources', `a mapping with keys ${SOURCE_KINDS.join(', ')}`, value);
    return sources;
  }
  checkKeys(value, SOURCE_KINDS, 'sources', problems);
  for (const kind of SOURCE_KINDS) {
    const list = value[kind];
    if (list === undefined) continue;
    const located = kind === 'git' || kind === 'tarball';
    if (!Array.isArray(list)) {
      problems.error(`sources.${kind}`, located ? `a list of ${LOCATED_SHAPES[kind]}` : 'a list of package names or name globs', list);
      continue;
    }
    list.forEach((item, i) => {
      const at = `sources.${kind}[${i}]`;
      const allowance = located ? locatedAllowance(kind, item, at, problems) : nameOnly(item, at, problems);
      if (allowance) sources[kind].push(allowance);
    });
  }
  return sources;
}

const LOCATED_SHAPES = {
  git: '{ package: <name or glob>, repository: <repository URL>, commit: <optional 40-hex commit> }',
  tarball: '{ package: <name or glob>, url: <tarball URL or URL glob> }',
} as const;

function packageSelector(item: unknown, at: string, problems: Problems): PackageSelector | undefined {
  const problem = typeof item === 'string' ? selectorProblem(item) : 'a package name or name glob';
  if (problem || (typeof item === 'string' && item.indexOf('@', 1) !== -1)) return problems.error(at, problem ?? 'a package name or name glob without a version range', item);
  return parseSelector(item as string);
}

function nameOnly(item: unknown, at: string, problems: Problems): SourceAllowance | undefined {
  const selector = packageSelector(item, at, problems);
  return selector && { selector };
}

/** A git or tarball allowance: the package names and where they may come from, checked before anything is fetched. */
function locatedAllowance(kind: 'git' | 'tarball', item: unknown, at: string, problems: Problems): SourceAllowance | undefined {
  if (typeof item === 'string') {
    const where = kind === 'git' ? 'repository' : 'URL';
    return problems.error(at, `${LOCATED_SHAPES[kind]}: a name alone lets registry metadata point "${item}" at any ${where}, so the name-only form is no longer accepted`, item);
  }
  if (!isDict(item)) return problems.error(at, LOCATED_SHAPES[kind], item);
  checkKeys(item, kind === 'git' ? ['package', 'repository', 'commit'] : ['package', 'url'], at, problems);
  const selector = packageSelector(item.package, join(at, 'package'), problems);
  if (kind === 'git') {
    const repository = typeof item.repository === 'string' ? canonicalRepository(item.repository) : undefined;
    if (repository === undefined) return problems.error(join(at, 'repository'), 'a git repository URL (https://github.com/acme/tool.git, github:acme/tool, git+ssh://...)', item.repository);
    if (item.commit !== undefined && !(typeof item.commit === 'string' && /^[0-9a-f]{40}$/i.test(item.commit))) return problems.error(join(at, 'commit'), 'a full 40-hex commit', item.commit);
    return selector && { selector, repository, commit: typeof item.commit === 'string' ? item.commit.toLowerCase() : undefined };
  }
  const url = item.url;
  if (typeof url !== 'string' || !/^https?:\/\/[^/*]+\//i.test(url) || globProblem(url)) return problems.error(join(at, 'url'), 'an http(s) URL with its host written out (`*` within a path segment, `**` across)', url);
  return selector && { selector, url };
}

/** A rule is shadowed when earlier, non-expiring rules select every package it selects. */
function warnShadowedRules(rules: PolicyRule[], problems: Problems): void {
  // Earlier selectors by lowercase exact name, and the name globs: only these can cover a selector
  // (selectorCovers), so a policy of many rules is not checked pair by pair.
  const earlierByName = new Map<string, PackageSelector[]>();
  const earlierGlobs: PackageSelector[] = [];
  const mayCover = (selector: PackageSelector) => [...(earlierByName.get(selector.name.toLowerCase()) ?? []), ...earlierGlobs];
  rules.forEach((rule, index) => {
    const shadowed = rule.selectors.every((selector) => mayCover(selector).some((broader) => selectorCovers(broader, selector)));
    if (shadowed) problems.warning(`rules[${index}]`, 'a rule that an earlier, broader rule does not already shadow (the first matching rule wins, so this one never applies)', rule.packages);
    if (rule.expires !== undefined) return;
    for (const selector of rule.selectors) {
      if (selector.name === '*' || hasWildcard(selector.name)) earlierGlobs.push(selector);
      else earlierByName.set(selector.name.toLowerCase(), [...(earlierByName.get(selector.name.toLowerCase()) ?? []), selector]);
    }
  });
}

/** A name identifies one rule in messages: two rules of one name would make a message ambiguous. */
function checkUniqueNames(rules: PolicyRule[], problems: Problems): void {
  const seen = new Map<string, string>();
  for (const rule of rules) {
    if (rule.name === undefined) continue;
    const path = rule.index === -1 ? 'default.name' : `rules[${rule.index}].name`;
    const first = seen.get(rule.name);
    if (first) problems.error(path, `a rule name used once (${first} has it already)`, rule.name);
    else seen.set(rule.name, path.slice(0, -'.name'.length));
  }
}

const TOP_KEYS = ['version', 'mode', 'default', 'rules', 'sources', 'extends', 'allowLooseningOverrides'] as const;

export interface ValidationResult {
  model?: PolicyModel;
  problems: PolicyProblem[];
}

/** Validates a parsed policy document. `model` is set only when there is no error. */
export function validatePolicyDocument(document: unknown, file: string): ValidationResult {
  const problems = new Problems(file);
  if (!isDict(document)) {
    problems.error('', 'a mapping with at least `version: 1`', document);
    return { problems: problems.list };
  }
  checkKeys(document, TOP_KEYS, '', problems);
  if (document.version !== 1) problems.error('version', '1', document.version);
  const mode = 'mode' in document ? oneOf<PolicyMode>(document.mode, POLICY_MODES, 'mode', problems) : 'enforce';
  const defaultRule = 'default' in document ? validateRule(document.default, -1, 'default', problems) : undefined;
  if (!('default' in document)) problems.error('default', 'a default rule for packages no rule matches, e.g. `default: { require: provenance }`');
  const rules: PolicyRule[] = [];
  if ('rules' in document && !Array.isArray(document.rules)) problems.error('rules', 'a list of rules', document.rules);
  const rawRules = Array.isArray(document.rules) ? document.rules : [];
  rawRules.forEach((raw, index) => {
    const rule = validateRule(raw, index, `rules[${index}]`, problems);
    if (rule) rules.push(rule);
  });
  const sources = validateSources(document.sources, problems);
  const extendsPath = 'extends' in document ? nonEmptyString(document.extends, 'extends', problems) : undefined;
  const allowLoosening = document.allowLooseningOverrides;
  if (allowLoosening !== undefined && typeof allowLoosening !== 'boolean') problems.error('allowLooseningOverrides', 'true or false', allowLoosening);
  if (rules.length === rawRules.length) warnShadowedRules(rules, problems);
  checkUniqueNames(defaultRule ? [defaultRule, ...rules] : rules, problems);

  const hasError = problems.list.some((p) => p.severity === 'error');
  if (hasError || !defaultRule || !mode) return { problems: problems.list };
  return {
    problems: problems.list,
    model: { version: 1, mode, default: defaultRule, rules, sources, allowLooseningOverrides: allowLoosening === true, extends: extendsPath },
  };
}
