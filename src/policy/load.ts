/**
 * Finds, parses and validates the policy file (JavaScript ones as Node
 * imports them), resolves `extends`, and refuses anything invalid: there is never a silent
 * fallback to "no policy" once a policy file exists.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { version as yamlVersion } from 'yaml/package.json';
import { importFile } from '../code-cache';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { parseStrictYaml as parseYaml } from '../strict-yaml';
import { baselineLoosenings } from './baseline';
import { readCanonicalPolicy } from './canonical';
import { formatProblem, type LoadedPolicy, type PolicyModel, type PolicyProblem } from './model';

export type { LoadedPolicy };
import { validatePolicyDocument } from './validate';

/** Search order at the project root (no TypeScript config: the plugin carries no compiler). */
export const POLICY_FILE_NAMES = [
  'sigstore-policy.yml',
  'sigstore-policy.yaml',
  'sigstore-policy.json',
  '.sigstorerc',
  '.sigstorerc.json',
  '.sigstorerc.yaml',
  '.sigstorerc.yml',
  '.sigstorerc.js',
  '.sigstorerc.cjs',
  '.sigstorerc.mjs',
  'sigstore.config.js',
  'sigstore.config.cjs',
  'sigstore.config.mjs',
  'package.json',
] as const;

export interface PolicyFileCheck {
  filepath: string;
  /** Set when there is no error. */
  policy?: LoadedPolicy;
  /** Every error and warning, of this file and its baselines. */
  problems: PolicyProblem[];
}

/**
 * Parsed policy documents kept between installs, by policy file and a digest
 * of its text and of the parser: `policy init` writes a rule per signing
 * repository, and for a tree of a few hundred signed packages the YAML parse
 * took longer than all the rest of a warm install's policy work. The caller
 * keeps entries where only this user's key vouches for them; validation
 * still runs on every load.
 */
export interface ParsedPolicyCache {
  lookup(filepath: string, digest: string): Promise<unknown>;
  remember(filepath: string, digest: string, document: unknown): Promise<void>;
}

// `yaml` keeps dates as strings and rejects duplicate keys: both matter for a policy. Its warnings refuse the policy (strict-yaml.ts).
const YAML_OPTIONS = { uniqueKeys: true, prettyErrors: true } as const;
const PARSER = `yaml ${yamlVersion} strict ${JSON.stringify(YAML_OPTIONS)}`;

/** The policy's YAML, in the layout `policy init` writes without a YAML parser (canonical.ts), else by the YAML reader. */
const readPolicyYaml = (content: string): unknown => readCanonicalPolicy(content) ?? parseYaml(content, YAML_OPTIONS);

async function parsePolicyYaml(filepath: string, content: string, cache: ParsedPolicyCache | undefined): Promise<unknown> {
  if (!cache) return readPolicyYaml(content);
  const digest = createHash('sha256').update(PARSER).update('\0').update(content).digest('hex');
  const known = await cache.lookup(filepath, digest);
  if (known !== undefined) return known;
  const document = readPolicyYaml(content);
  // Kept as JSON: only a document JSON gives back exactly (no NaN or Infinity, plain objects) is remembered.
  if (document !== undefined && isDeepStrictEqual(document, JSON.parse(JSON.stringify(document)))) await cache.remember(filepath, digest, document);
  return document;
}

const JAVASCRIPT_EXTENSIONS: ReadonlySet<string> = new Set(['.js', '.cjs', '.mjs']);

/**
 * A policy file's document, read by its name: YAML (`.yml`, `.yaml`, none),
 * JSON read as the YAML it also is (a duplicate key refused: JSON.parse
 * keeps the last one, so `"require": "provenance"` could be undone further
 * down), `package.json`'s `sigstore` key, JavaScript. A `$import` key
 * (cosmiconfig's, which merges in the files it names: another file's rules
 * outside `extends` and its checks) is refused as unknown.
 */
async function readPolicyDocument(absolute: string, cache: ParsedPolicyCache | undefined): Promise<unknown> {
  const content = readFileSync(absolute, 'utf8');
  if (content.trim() === '') return undefined;
  const extension = path.extname(absolute);
  if (path.basename(absolute) === 'package.json') return (JSON.parse(content) as Record<string, unknown>).sigstore;
  if (extension === '.json') return parseYaml(content, YAML_OPTIONS);
  // Its default export, as Node loads it (the plugin carries no TypeScript compiler).
  if (JAVASCRIPT_EXTENSIONS.has(extension)) return (await importFile(realpathSync(absolute))).default;
  if (extension === '' || extension === '.yml' || extension === '.yaml') return parsePolicyYaml(absolute, content, cache);
  throw new Error(`no policy format for ${extension} files: YAML (.yml, .yaml), JSON or JavaScript (.js, .cjs, .mjs)`);
}

/** The policy files present in a project directory (more than one is ambiguous). */
export function findPolicyFiles(projectDir: string): string[] {
  return POLICY_FILE_NAMES.filter((name) => {
    const file = path.join(projectDir, name);
    if (!existsSync(file)) return false;
    if (name !== 'package.json') return true;
    try {
      return Object.hasOwn(JSON.parse(readFileSync(file, 'utf8')), 'sigstore');
    } catch {
      return false;
    }
  }).map((name) => path.join(projectDir, name));
}

/** A real policy nests about 5 levels; validation walks the document recursively. */
const MAX_POLICY_DEPTH = 32;

/** Whether a parsed document nests objects/arrays deeper than `limit` (walked without recursion). */
function depthExceeds(document: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: document, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

function digestOf(model: PolicyModel, baseline: LoadedPolicy | undefined): string {
  const canonical = JSON.stringify({ model, baseline: baseline?.digest }, (key, value) => (key === 'selectors' ? undefined : value));
  return createHash('sha256').update(canonical).digest('hex');
}

function fileProblem(file: string, expected: string, found?: string): PolicyFileCheck {
  return { filepath: file, problems: [{ severity: 'error', file, path: '', expected, found }] };
}

// A YAML error's first line ends with the colon that introduced its code frame.
const firstLine = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0].replace(/:$/, '') : String(error));

/** Reads and validates one policy file and its `extends` chain, collecting every problem. */
export async function validatePolicyFile(filepath: string, chain: string[] = [], cache?: ParsedPolicyCache): Promise<PolicyFileCheck> {
  const absolute = path.resolve(filepath);
  if (chain.includes(absolute)) return fileProblem(absolute, 'an extends chain without a cycle', [...chain, absolute].join(' -> '));
  if (!existsSync(absolute)) return fileProblem(absolute, 'a policy file at this path', 'no such file');
  let document: unknown;
  try {
    document = await readPolicyDocument(absolute, cache);
  } catch (error) {
    return fileProblem(absolute, 'a readable YAML, JSON or JavaScript policy', firstLine(error));
  }
  return checkDocument(document, absolute, chain, cache);
}

/** Validates YAML policy text as if it were the file at `filepath` (its `extends` resolved from there): an edit is checked before it is written. */
export async function validatePolicyText(text: string, filepath: string): Promise<PolicyFileCheck> {
  const absolute = path.resolve(filepath);
  let document: unknown;
  try {
    document = parseYaml(text, YAML_OPTIONS);
  } catch (error) {
    return fileProblem(absolute, 'readable YAML', firstLine(error));
  }
  return checkDocument(document, absolute, []);
}

async function checkDocument(document: unknown, absolute: string, chain: string[], cache?: ParsedPolicyCache): Promise<PolicyFileCheck> {
  if (depthExceeds(document, MAX_POLICY_DEPTH)) return fileProblem(absolute, `a policy nested at most ${MAX_POLICY_DEPTH} levels deep`, 'a deeper document');
  const validation = validatePolicyDocument(document, absolute);
  const problems = [...validation.problems];
  let baseline: LoadedPolicy | undefined;
  if (validation.model?.extends !== undefined) {
    const baselinePath = path.resolve(path.dirname(absolute), validation.model.extends);
    const baselineCheck = await validatePolicyFile(baselinePath, [...chain, absolute], cache);
    problems.push(...baselineCheck.problems);
    baseline = baselineCheck.policy;
    if (!baseline && !baselineCheck.problems.some((p) => p.severity === 'error')) {
      problems.push({ severity: 'error', file: absolute, path: 'extends', expected: 'a valid baseline policy', found: validation.model.extends });
    }
    if (baseline) problems.push(...baselineLoosenings(validation.model, baseline.model, absolute, baselinePath));
  }
  const failed = problems.some((p) => p.severity === 'error');
  if (failed || !validation.model) return { filepath: absolute, problems };
  const warnings = problems.filter((p) => p.severity === 'warning');
  return { filepath: absolute, problems, policy: { filepath: absolute, digest: digestOf(validation.model, baseline), model: validation.model, baseline, warnings } };
}

/**
 * Loads the project's policy: the explicit `path` (relative to the project)
 * if given, else the first of POLICY_FILE_NAMES in `projectDir`. Returns
 * undefined only when no policy file exists (zero-config mode). Throws
 * POLICY_NOT_FOUND for a missing explicit path and POLICY_INVALID for every
 * other problem, listing each one. `cache`: parsed documents kept between loads.
 */
export async function loadPolicy(projectDir: string, options: { path?: string; cache?: ParsedPolicyCache } = {}): Promise<LoadedPolicy | undefined> {
  let filepath: string;
  if (options.path !== undefined) {
    filepath = path.resolve(projectDir, options.path);
    if (!existsSync(filepath)) throw new SigstorePluginError(ErrorCodes.POLICY_NOT_FOUND, `Trust policy not found: ${filepath} (set explicitly) does not exist`);
  } else {
    const found = findPolicyFiles(projectDir);
    if (found.length === 0) return undefined;
    if (found.length > 1) {
      throw new SigstorePluginError(ErrorCodes.POLICY_INVALID, `Several trust policy files in ${projectDir}: ${found.map((f) => path.basename(f)).join(', ')}; keep exactly one`, { details: { files: found } });
    }
    filepath = found[0];
  }
  const check = await validatePolicyFile(filepath, [], options.cache);
  if (!check.policy) {
    const errors = check.problems.filter((p) => p.severity === 'error');
    throw new SigstorePluginError(ErrorCodes.POLICY_INVALID, `Trust policy ${filepath} is invalid:\n${errors.map(formatProblem).join('\n')}`, { details: { problems: check.problems } });
  }
  return check.policy;
}
