/**
 * Edits a YAML policy in place for `yarn sigstore policy allow` and `policy
 * trust`: the document is changed node by node (the `yaml` Document API), so
 * comments, order and every untouched line stay as the user wrote them. An
 * edit puts the package in a rule that decides it (before any earlier rule
 * that would select it first) and is validated before anyone writes it.
 */
import semver from 'semver';
import { isMap, isScalar, isSeq, parseDocument, Scalar, YAMLSeq, type Document, type YAMLMap } from 'yaml';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { describeRule, isExpired } from './evaluate';
import { hasWildcard } from './glob';
import { pinFields, type IdentityPin } from './identity-pin';
import { keepUntouchedLines } from './line-diff';
import { formatProblem, type PolicyModel, type PolicyRule } from './model';
import { parseSelector, selectorProblem, type PackageSelector } from './packages';
import { validatePolicyDocument } from './validate';

export interface PolicyEdit {
  /** The whole policy after the edit. */
  text: string;
  changed: boolean;
  /** What the edit did, one sentence. */
  summary: string;
  /** Where the package went and why: a rule that would have decided first, a rule it left. */
  notes: string[];
  /** The index in `rules` of the rule that now decides the package. */
  ruleIndex: number;
}

export interface AllowRequest {
  /** `name` or `name@<semver range>`. */
  selector: string;
  reason: string;
  /** `YYYY-MM-DD`: the last day the exception applies. */
  expires: string;
  /** Today (`YYYY-MM-DD`), for the comment above a new rule. */
  today: string;
}

export interface TrustRequest {
  name: string;
  /** The version whose verified identity this is (named in the comment above a new rule). */
  version: string;
  pin: IdentityPin;
  today: string;
}

const FORMAT = { lineWidth: 0, flowCollectionPadding: false } as const;

/** What the edited rule must say, and how to make an existing rule say it. */
interface RuleShape {
  /** `allowed without provenance` / `trusted`: for the summary. */
  what: string;
  /** An existing rule already decides the package as asked. */
  holds(rule: PolicyRule): boolean;
  /** A rule that lists only this package and may be rewritten in place (its comments and name stay). */
  rewritable(rule: PolicyRule): boolean;
  /** A rule listing the package that stays as it is (the new rule goes before it). */
  keepsOwner(rule: PolicyRule): boolean;
  rewrite(rule: YAMLMap, doc: Document): void;
  create(doc: Document, selector: string): YAMLMap;
}

function editRefused(message: string): SigstorePluginError {
  return new SigstorePluginError(ErrorCodes.POLICY_EDIT_REFUSED, message);
}

function quoted(value: string): Scalar {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}

/** Sets a scalar field, keeping the existing node (its quoting and comments) when there is one. */
function setScalar(map: YAMLMap, key: string, value: string): void {
  const node = map.get(key, true);
  if (isScalar(node)) node.value = value;
  else map.set(key, quoted(value));
}

/** A rule's `packages` (a validated rule always has a list of strings there). */
function packagesSeq(rule: YAMLMap): YAMLSeq<Scalar> {
  const node: unknown = rule.get('packages', true);
  if (!isSeq(node)) throw new SigstorePluginError(ErrorCodes.INTERNAL, 'a policy rule without a packages list reached the editor');
  return node as YAMLSeq<Scalar>;
}

function ruleNode(doc: Document, fields: Record<string, unknown>, comment: string): YAMLMap {
  const node = doc.createNode(fields) as YAMLMap;
  const packages = packagesSeq(node);
  packages.flow = false;
  for (const item of packages.items) item.type = Scalar.QUOTE_DOUBLE;
  node.commentBefore = ` ${comment}`;
  return node;
}

/** True when the rule's selector may select a version the target selects (liberal: a rule only gets placed earlier). */
function mayOverlap(rule: PackageSelector, target: PackageSelector): boolean {
  if (!parseSelector(rule.name).test(target.name, '0.0.0')) return false;
  if (rule.range === undefined || target.range === undefined) return true;
  try {
    return semver.intersects(rule.range, target.range, { includePrerelease: true });
  } catch {
    return true;
  }
}

/** The parsed policy document, its rules, and the validated model they mean. */
class PolicyDocument {
  readonly doc: Document.Parsed;
  private readonly reformatted: string;

  constructor(
    readonly original: string,
    readonly file: string,
  ) {
    this.doc = parseDocument(original, { uniqueKeys: true, prettyErrors: true });
    if (this.doc.errors.length > 0) {
      throw new SigstorePluginError(ErrorCodes.POLICY_INVALID, `Trust policy ${file} is not readable YAML: ${this.doc.errors[0].message.split('\n')[0]}`);
    }
    if (!isMap(this.doc.contents) || this.doc.contents.flow) {
      throw new SigstorePluginError(ErrorCodes.POLICY_NOT_EDITABLE, `Trust policy ${file} is written as one JSON-style mapping: edit it by hand (the commands edit YAML block mappings, keeping their comments)`);
    }
    this.reformatted = this.doc.toString(FORMAT);
  }

  /** The model the document means now; an invalid document is never edited nor written. */
  model(when: 'before' | 'after'): PolicyModel {
    const { model, problems } = validatePolicyDocument(this.doc.toJS(), this.file);
    if (model) return model;
    const errors = problems.filter((problem) => problem.severity === 'error').map(formatProblem);
    const what = when === 'before' ? `is invalid; fix it first (\`yarn sigstore policy check\`)` : 'would be invalid after this edit, so nothing was written';
    throw new SigstorePluginError(ErrorCodes.POLICY_INVALID, `Trust policy ${this.file} ${what}:\n${errors.join('\n')}`, { details: { problems } });
  }

  rules(): YAMLSeq<YAMLMap> {
    const node = this.doc.get('rules', true);
    if (isSeq(node)) {
      node.flow = false;
      return node as YAMLSeq<YAMLMap>;
    }
    const created = new YAMLSeq<YAMLMap>();
    this.doc.set('rules', created);
    return created;
  }

  ruleAt(index: number): YAMLMap {
    return this.rules().items[index];
  }

  packagesOf(index: number): YAMLSeq<Scalar> {
    return packagesSeq(this.ruleAt(index));
  }

  /** Adds a selector to a rule's packages, one a line, before the first that sorts after it. */
  addPackage(index: number, selector: string): void {
    const packages = this.packagesOf(index);
    packages.flow = false;
    const item = new Scalar(selector);
    item.type = packages.items[0]?.type ?? Scalar.QUOTE_DOUBLE;
    const at = packages.items.findIndex((existing) => String(existing.value) > selector);
    packages.items.splice(at === -1 ? packages.items.length : at, 0, item);
  }

  /** Removes a selector from a rule; a rule left without packages is removed. Returns whether the rule went. */
  removePackage(index: number, selector: string): boolean {
    const packages = this.packagesOf(index);
    packages.items = packages.items.filter((item) => String(item.value) !== selector);
    if (packages.items.length > 0) return false;
    this.rules().items.splice(index, 1);
    return true;
  }

  insertRule(index: number, rule: YAMLMap): void {
    const rules = this.rules();
    rule.spaceBefore = index > 0;
    const next = rules.items[index];
    if (next && index === 0) {
      // The comment above the first rule belongs to the list in the `yaml` model: it stays with that rule.
      next.commentBefore = [rules.commentBefore, next.commentBefore].filter((comment) => comment !== undefined && comment !== null).join('\n') || undefined;
      rules.commentBefore = undefined;
      next.spaceBefore = true;
    }
    rules.items.splice(index, 0, rule);
  }

  text(): string {
    return keepUntouchedLines(this.original, this.reformatted, this.doc.toString(FORMAT));
  }
}

/**
 * Puts `selector` in a rule of the given shape that decides it: the rule
 * listing it already (rewritten or kept), else one with the same terms, else a
 * new rule, placed before the first unexpired rule that would select it.
 */
function place(policy: PolicyDocument, selector: string, shape: RuleShape, now: Date): PolicyEdit {
  let model = policy.model('before');
  const target = parseSelector(selector);
  const selects = (rule: PolicyRule) => !isExpired(rule, now) && rule.selectors.some((candidate) => mayOverlap(candidate, target));
  const notes: string[] = [];
  const done = (summary: string, ruleIndex: number): PolicyEdit => {
    policy.model('after');
    const text = policy.text();
    return { text, changed: text !== policy.original, summary, notes, ruleIndex };
  };

  const owner = model.rules.find((rule) => rule.packages.includes(selector));
  if (owner) {
    const blocker = model.rules.slice(0, owner.index).find(selects);
    if (!blocker && shape.holds(owner)) return done(`${selector} is already ${shape.what} by ${describeRule(owner)}`, owner.index);
    if (!blocker && owner.packages.length === 1 && shape.rewritable(owner)) {
      shape.rewrite(policy.ruleAt(owner.index), policy.doc);
      return done(`${selector}: updated ${describeRule(owner)}`, owner.index);
    }
    if (!shape.keepsOwner(owner)) {
      const removed = policy.removePackage(owner.index, selector);
      const why = blocker ? `, where it never applied: ${describeRule(blocker)} selects it first` : '';
      notes.push(removed ? `removed ${describeRule(owner)}, which listed only ${selector}${why}` : `took ${selector} out of ${describeRule(owner)}${why}`);
      model = policy.model('before');
    }
  }

  const first = model.rules.find(selects);
  const limit = first ? first.index : model.rules.length;
  if (first) notes.push(`${describeRule(first)} also selects ${selector} and would decide first: the rule for it goes before it`);
  const sibling = model.rules.slice(0, limit).find((rule) => shape.holds(rule));
  if (sibling) {
    policy.addPackage(sibling.index, selector);
    return done(`${selector}: added to ${describeRule(sibling)}`, sibling.index);
  }
  policy.insertRule(limit, shape.create(policy.doc, selector));
  return done(`${selector}: new rule rules[${limit}]`, limit);
}

/** An exact package name, optionally with a semver range: what the commands add to a rule. */
export function packageSelectorProblem(selector: string): string | undefined {
  const problem = selectorProblem(selector);
  if (problem) return problem;
  return hasWildcard(parseSelector(selector).name) ? 'one package name (no wildcard), optionally with @<semver range>' : undefined;
}

/** The lowest version a selector takes (`0.0.0` for a bare name): a version the edited policy must decide as asked. */
export function lowestVersionOf(selector: string): string {
  const { range } = parseSelector(selector);
  return range === undefined ? '0.0.0' : (semver.minVersion(range)?.version ?? '0.0.0');
}

/**
 * Adds or renews a `require: none` exception for a package without
 * provenance. An exception of other packages with the same reason and expiry
 * takes it in; a rule requiring provenance for it stays (the exception goes
 * before it, and it applies again once the exception expires).
 */
export function allowUnsigned(text: string, file: string, request: AllowRequest, now: Date): PolicyEdit {
  const problem = packageSelectorProblem(request.selector);
  if (problem) throw editRefused(`"${request.selector}" is not a package to allow: expected ${problem}`);
  if (/^\d{4}-\d{2}-\d{2}$/.test(request.expires) && isExpired({ expires: request.expires }, now)) {
    throw editRefused(`--expires ${request.expires} is already past: an exception must expire in the future`);
  }
  const { reason, expires } = request;
  const shape: RuleShape = {
    what: `allowed without provenance until ${expires}`,
    holds: (rule) => rule.require === 'none' && rule.verify === undefined && rule.mode === undefined && rule.reason === reason && rule.expires === expires,
    rewritable: (rule) => rule.require === 'none',
    keepsOwner: (rule) => rule.require !== 'none',
    rewrite(rule) {
      setScalar(rule, 'reason', reason);
      setScalar(rule, 'expires', expires);
    },
    create: (doc, selector) =>
      ruleNode(doc, { packages: [selector], require: 'none', reason: quoted(reason), expires: quoted(expires) }, `Allowed without provenance by \`yarn sigstore policy allow\` on ${request.today}.`),
  };
  return place(new PolicyDocument(text, file), request.selector, shape, now);
}

/** The identity mapping a rule pins, from the verified signer. */
function identityNode(doc: Document, pin: IdentityPin): YAMLMap {
  const identity = doc.createNode({}) as YAMLMap;
  for (const [field, value] of pinFields(pin)) identity.set(field, quoted(value));
  return identity;
}

/**
 * Writes a `require: provenance` rule pinned to a package's verified
 * identity: the rule that lists the package is rewritten (or the package
 * leaves it), a rule pinned to the same identity takes it in, else a new rule.
 */
export function trustIdentity(text: string, file: string, request: TrustRequest, now: Date): PolicyEdit {
  const policy = new PolicyDocument(text, file);
  // The identity as the validator reads it, to recognise a rule that pins the same signer.
  const probe = validatePolicyDocument({ version: 1, default: { require: 'none' }, rules: [{ packages: [request.name], require: 'provenance', identity: Object.fromEntries(pinFields(request.pin)) }] }, file);
  const wanted = JSON.stringify(probe.model?.rules[0].identity);
  const relaxing = ['reason', 'expires', 'verify', 'mode'];
  const shape: RuleShape = {
    what: 'trusted with this identity',
    holds: (rule) => rule.require === 'provenance' && rule.mode === undefined && JSON.stringify(rule.identity) === wanted,
    rewritable: () => true,
    keepsOwner: () => false,
    rewrite(rule, doc) {
      for (const key of relaxing) rule.delete(key);
      setScalar(rule, 'require', 'provenance');
      rule.set('identity', identityNode(doc, request.pin));
    },
    create(doc, selector) {
      const built = [request.pin.repository ?? request.pin.san, request.pin.workflow ? `by the workflow ${request.pin.workflow}` : undefined].filter(Boolean).join(' ');
      const node = ruleNode(doc, { packages: [selector], require: 'provenance' }, `Built from ${built}: the verified identity of ${request.name}@${request.version}, written by \`yarn sigstore policy trust\` on ${request.today}.`);
      node.set('identity', identityNode(doc, request.pin));
      return node;
    },
  };
  return place(policy, request.name, shape, now);
}
