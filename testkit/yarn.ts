/**
 * Temp Yarn projects wired to a test registry, and the real pinned Yarn
 * (`@yarnpkg/cli-dist`) run ASYNCHRONOUSLY: a synchronous child would block a
 * registry running in the same process.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures';

export const YARN_BIN = join(REPO_ROOT, 'node_modules/@yarnpkg/cli-dist/bin/yarn.js');
export const PLUGIN_BUNDLE = join(REPO_ROOT, 'bundles/@yarnpkg/plugin-sigstore.js');
export const PLUGIN_RELATIVE_PATH = '.yarn/plugins/@yarnpkg/plugin-sigstore.cjs';

export interface YarnResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on messages. */
  output: string;
}

export interface YarnProjectOptions {
  registryUrl: string;
  dependencies?: Record<string, string>;
  /** The whole package.json (default: a private project with `dependencies`). */
  manifest?: Record<string, unknown>;
  /** Yarn's linker (default node-modules). */
  nodeLinker?: 'pnp' | 'node-modules';
  /** Trust policy YAML, written to sigstore-policy.yml (none: zero-config). */
  policy?: string;
  /** Extra .yarnrc.yml lines (YAML). */
  yarnrc?: string;
  /** Trust material files (merged production + mock) for the plugin's settings. */
  trustedRootPath?: string;
  npmKeysPath?: string;
  /** Import the plugin with `yarn plugin import` instead of copying it (slower, proves the real path). */
  importPlugin?: boolean;
  /** Environment added to every Yarn run. */
  env?: Record<string, string>;
}

export class YarnProject {
  readonly markers: string;
  constructor(
    readonly cwd: string,
    private readonly env: Record<string, string>,
  ) {
    this.markers = env.SIGSTORE_TEST_MARKER_DIR;
  }

  async run(args: string[], extraEnv: Record<string, string> = {}): Promise<YarnResult> {
    const result = await runYarn(this.cwd, args, { ...this.env, ...extraEnv });
    // SIGSTORE_E2E_DEBUG=1 shows what Yarn printed, to debug a failing case.
    if (process.env.SIGSTORE_E2E_DEBUG) process.stderr.write(`$ yarn ${args.join(' ')} (exit ${result.code})\n${result.output}\n`);
    return result;
  }

  /** Runs Yarn with a terminal as its stdout (util-linux `script`), where Yarn draws progress bars. */
  runInTerminal(args: string[], extraEnv: Record<string, string> = {}): Promise<YarnResult> {
    return runYarn(this.cwd, args, { ...this.env, ...extraEnv }, { terminal: true });
  }

  install(extraEnv: Record<string, string> = {}): Promise<YarnResult> {
    return this.run(['install'], extraEnv);
  }

  read(relative: string): string | undefined {
    const path = join(this.cwd, relative);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }

  write(relative: string, content: string): void {
    writeFileSync(join(this.cwd, relative), content);
  }

  exists(relative: string): boolean {
    return existsSync(join(this.cwd, relative));
  }

  /** Whether the postinstall marker of a package was written. */
  markerExists(name: string, version: string): boolean {
    return existsSync(join(this.markers, `${name.replace('/', '__')}@${version}`));
  }

  evidence(): any {
    const text = this.read('.yarn/sigstore-evidence.json');
    return text === undefined ? undefined : JSON.parse(text);
  }
}

/** A fresh project with its own global folder (Yarn's metadata cache is keyed by registry host, not port). */
export async function createYarnProject(options: YarnProjectOptions): Promise<YarnProject> {
  if (!existsSync(PLUGIN_BUNDLE)) throw new Error(`${PLUGIN_BUNDLE} is missing: run \`npm run build\` first`);
  const cwd = mkdtempSync(join(tmpdir(), 'sigstore-e2e-'));
  const env = {
    HOME: cwd,
    YARN_GLOBAL_FOLDER: join(cwd, '.yarn-global'),
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    YARN_ENABLE_TELEMETRY: '0',
    SIGSTORE_TEST_MARKER_DIR: join(cwd, 'markers'),
    ...options.env,
  };
  const manifest = options.manifest ?? { name: 'e2e-project', private: true, dependencies: options.dependencies ?? {} };
  writeFileSync(join(cwd, 'package.json'), JSON.stringify(manifest, null, 2));
  const rc = [
    `npmRegistryServer: "${options.registryUrl}"`,
    'unsafeHttpWhitelist: ["127.0.0.1", "localhost"]',
    'enableScripts: true',
    `nodeLinker: ${options.nodeLinker ?? 'node-modules'}`,
    'enableTelemetry: false',
    ...(options.trustedRootPath ? [`sigstoreTrustedRootPath: "${options.trustedRootPath}"`] : []),
    ...(options.npmKeysPath ? [`sigstoreNpmKeysPath: "${options.npmKeysPath}"`] : []),
    ...(options.yarnrc ? [options.yarnrc] : []),
  ];
  if (!options.importPlugin) {
    mkdirSync(join(cwd, '.yarn/plugins/@yarnpkg'), { recursive: true });
    copyFileSync(PLUGIN_BUNDLE, join(cwd, PLUGIN_RELATIVE_PATH));
    rc.push('plugins:', `  - path: ${PLUGIN_RELATIVE_PATH}`);
  }
  writeFileSync(join(cwd, '.yarnrc.yml'), rc.join('\n') + '\n');
  if (options.policy !== undefined) writeFileSync(join(cwd, 'sigstore-policy.yml'), options.policy);
  const project = new YarnProject(cwd, env);
  if (options.importPlugin) {
    const imported = await project.run(['plugin', 'import', PLUGIN_BUNDLE]);
    if (imported.code !== 0) throw new Error(`yarn plugin import failed:\n${imported.output}`);
  }
  return project;
}

/** The JSON lines Yarn printed with --json. */
export function jsonEvents(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

/**
 * This process's environment without Yarn, npm and CI settings, nor the XDG
 * folders: each project's HOME holds its own record key and compiled plugin.
 */
export function cleanEnvironment(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(YARN_|npm_|CI$|GITHUB_|XDG_CONFIG_HOME$|XDG_CACHE_HOME$)/i.test(key)) base[key] = value;
  }
  return base;
}

/** Runs the pinned Yarn with a clean environment (cleanEnvironment). */
export function runYarn(cwd: string, args: string[], env: Record<string, string>, { terminal = false } = {}): Promise<YarnResult> {
  const base = cleanEnvironment();
  const command = [process.execPath, YARN_BIN, ...args];
  // A pseudo-terminal 100 columns wide (a fresh one has 0, and Yarn draws no bar under 23); its output is stdout and stderr merged, lines ending in CRLF.
  const [file, argv] = terminal ? ['script', ['-qec', `stty cols 100 rows 40; exec ${command.map(shellQuote).join(' ')}`, '/dev/null']] : [command[0], command.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` }));
  });
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
