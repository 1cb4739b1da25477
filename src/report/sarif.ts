/**
 * `yarn sigstore verify --format sarif`: the run's `--json` events as one
 * SARIF 2.1.0 log, for GitHub code scanning and the GitHub Action. Each failed
 * or warned package is a result at its `yarn.lock` entry (and, related, the
 * `package.json` lines that declare it); each error the run reported that no
 * package carries (a stale lockfile, a policy that does not load) is a result
 * of its own. The run succeeded only when the summary says `completed`.
 * Knows nothing of Yarn: it reads events and file texts.
 */

/** One line of `yarn sigstore verify --json`, parsed. */
export type VerifyEvent = Record<string, unknown> & { type?: unknown };

export interface SourceFile {
  /** Relative to the project root, `/`-separated: `yarn.lock`, `packages/app/package.json`. */
  path: string;
  text: string;
}

export interface SarifInput {
  events: VerifyEvent[];
  toolVersion: string;
  lockfile?: SourceFile;
  manifests?: SourceFile[];
}

interface Location {
  physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region?: { startLine: number } };
}

interface Result {
  ruleId: string;
  level: 'error' | 'warning';
  message: { text: string };
  locations?: Location[];
  relatedLocations?: (Location & { id: number; message: { text: string } })[];
  properties?: Record<string, unknown>;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; semanticVersion: string; rules: { id: string; shortDescription: { text: string } }[] } };
    originalUriBaseIds: Record<string, { description: { text: string } }>;
    invocations: { executionSuccessful: boolean }[];
    results: Result[];
    properties: { summary: Record<string, unknown> | null };
  }[];
}

export const SARIF_TOOL_NAME = 'yarn-plugin-sigstore';
const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
/** What a rule is about, for the codes a result may carry that are not the plugin's own. */
const YARN_RULE = 'an error Yarn reported during the verification';

const location = (file: SourceFile, line?: number): Location => ({
  physicalLocation: { artifactLocation: { uri: file.path, uriBaseId: '%SRCROOT%' }, ...(line ? { region: { startLine: line } } : {}) },
});

/** The 1-based line of the `yarn.lock` entry whose `resolution:` is `locator` (its key line). */
export function lockfileLine(lockfile: string, locator: string): number | undefined {
  const lines = lockfile.split('\n');
  const at = lines.findIndex((line) => line.trim() === `resolution: ${JSON.stringify(locator)}`);
  for (let index = at; index >= 0; index--) if (lines[index] !== '' && !/^\s/.test(lines[index])) return index + 1;
  return undefined;
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

/** The 1-based lines of a `package.json` that declare `name` as a dependency. */
export function manifestLines(manifest: string, name: string): number[] {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(manifest);
  } catch {
    return [];
  }
  const lines = manifest.split('\n');
  const found: number[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    const block = parsed[field];
    if (typeof block !== 'object' || block === null || !Object.hasOwn(block, name)) continue;
    const start = lines.findIndex((line) => line.trim().startsWith(`${JSON.stringify(field)}:`));
    const at = lines.findIndex((line, index) => index > start && line.trim().startsWith(`${JSON.stringify(name)}:`));
    if (start >= 0 && at >= 0) found.push(at + 1);
  }
  return found;
}

/** `sigstore [CODE] ...` in a message: the plugin's stable code. */
const codeOf = (text: string): string | undefined => /sigstore \[([A-Z][A-Z0-9_]+)\]/.exec(text)?.[1];

function packageResult(event: VerifyEvent, input: SarifInput): Result | undefined {
  if (event.status !== 'failed' && event.status !== 'warned') return undefined;
  const error = event.error as { code?: string; message?: string } | undefined;
  const verdict = event.verdict as { message?: string } | undefined;
  const text = error?.message ?? verdict?.message ?? `${String(event.locator)}: ${String(event.status)}`;
  const name = String(event.name);
  const line = input.lockfile ? lockfileLine(input.lockfile.text, String(event.locator)) : undefined;
  const related = (input.manifests ?? []).flatMap((manifest) => manifestLines(manifest.text, name).map((at) => location(manifest, at)));
  return {
    ruleId: error?.code ?? codeOf(text) ?? 'POLICY_DENIED',
    level: event.status === 'failed' ? 'error' : 'warning',
    message: { text },
    ...(input.lockfile ? { locations: [location(input.lockfile, line)] } : {}),
    ...(related.length > 0 ? { relatedLocations: related.map((at, id) => ({ ...at, id, message: { text: `${name} is declared here` } })) } : {}),
    properties: { locator: event.locator, package: name, version: event.version },
  };
}

export function toSarif(input: SarifInput): SarifLog {
  const results: Result[] = [];
  for (const event of input.events) {
    if (event.type !== 'sigstore-package') continue;
    const result = packageResult(event, input);
    if (result) results.push(result);
  }
  // Errors no package carries: a stale lockfile, a policy that does not load, Yarn's own.
  const carried = results.map((result) => result.message.text);
  for (const event of input.events) {
    if (event.type !== 'error' || typeof event.data !== 'string') continue;
    const text = event.data.replace(/\x1b\[[0-9;]*m/g, '');
    if (carried.some((message) => text.includes(message))) continue;
    results.push({
      ruleId: codeOf(text) ?? String(event.displayName ?? 'YN0000'),
      level: 'error',
      message: { text },
      ...(input.lockfile ? { locations: [location(input.lockfile)] } : {}),
    });
  }
  const summary = ([...input.events].reverse().find((event) => event.type === 'sigstore-summary') as Record<string, unknown> | undefined) ?? null;
  const ruleIds = [...new Set(results.map((result) => result.ruleId))].sort();
  return {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: SARIF_TOOL_NAME,
            version: input.toolVersion,
            semanticVersion: input.toolVersion,
            rules: ruleIds.map((id) => ({ id, shortDescription: { text: /^YN\d+$/.test(id) ? YARN_RULE : `sigstore ${id} (docs/errors.md of yarn-plugin-sigstore)` } })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { description: { text: 'the project root (the folder of its top-level package.json)' } } },
        invocations: [{ executionSuccessful: summary?.outcome === 'completed' && !results.some((result) => result.level === 'error') }],
        results,
        properties: { summary },
      },
    ],
  };
}
