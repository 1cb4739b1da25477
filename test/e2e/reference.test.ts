/**
 * The reference in docs/ agrees with the plugin as Yarn loads it: every
 * setting `yarn config` prints (from the built bundle, through the real Yarn)
 * has a row in docs/settings.md whose meaning is its description and whose
 * default is its default, and no row names a setting that does not exist;
 * `pin update`'s usage line is docs/commands.md's; every error code has a row
 * in docs/errors.md, and every code those tables name exists.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors';
import { REPO_ROOT } from '../../testkit/fixtures';
import { createYarnProject, type YarnProject } from '../../testkit/yarn';

const doc = (name: string): string => readFileSync(join(REPO_ROOT, 'docs', name), 'utf8');
const SETTINGS = doc('settings.md');
const COMMANDS = doc('commands.md');
const ERRORS = doc('errors.md');

interface Row {
  defaultCell: string;
  meaning: string;
}

/** The rows of the settings table of docs/settings.md, by setting. */
function settingsRows(): Map<string, Row> {
  const section = SETTINGS.slice(SETTINGS.indexOf('# Settings reference'));
  const table = section.slice(section.indexOf('| setting |'), section.indexOf('\n\n', section.indexOf('| setting |')));
  const rows = new Map<string, Row>();
  for (const line of table.split('\n').slice(2)) {
    // Cells split on `|` not escaped as `\|`.
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    rows.set(cells[0].replace(/`/g, ''), { defaultCell: cells[1], meaning: cells[2] });
  }
  return rows;
}

/** A table cell as plain text, as `yarn config` prints a description: no code spans, links or escaped pipes. */
function plain(markdown: string): string {
  const text = markdown
    .replace(/\\\|/g, '|')
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

let project: YarnProject;
let settings: Array<{ key: string; description: string; default: unknown }>;

beforeAll(async () => {
  project = await createYarnProject({ registryUrl: 'http://127.0.0.1:9' });
  const printed = await project.run(['config', '--json']);
  expect(printed.code, printed.output).toBe(0);
  settings = printed.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.key.startsWith('sigstore'));
});

afterAll(() => rmSync(project.cwd, { recursive: true, force: true }));

describe('docs/settings.md', () => {
  it('has one row per setting, and only real settings', () => {
    expect(settings.length).toBeGreaterThan(10);
    expect([...settingsRows().keys()].sort()).toEqual(settings.map((setting) => setting.key).sort());
  });

  it("gives each setting's description as `yarn config -v` prints it, and its default", () => {
    const rows = settingsRows();
    for (const setting of settings) {
      const row = rows.get(setting.key)!;
      expect(plain(setting.description), setting.key).toBe(plain(row.meaning));
      // Defaults Yarn knows as a value (others are computed: the table says where they come from).
      if (typeof setting.default === 'number' || typeof setting.default === 'boolean' || typeof setting.default === 'string') {
        expect(row.defaultCell, setting.key).toBe(`\`${String(setting.default)}\``);
      }
    }
  });
});

describe('docs/commands.md', () => {
  it("agrees with `pin update`'s usage line: --reason is required", async () => {
    const help = await project.run(['sigstore', 'pin', 'update', '-h']);
    const usage = help.stdout
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.startsWith('$ yarn sigstore pin update'));
    expect(usage).toBe('$ yarn sigstore pin update <--reason #0> <package>');
    expect(COMMANDS).toContain('## `yarn sigstore pin update <package> --reason <why>`');
    expect(COMMANDS).toContain(`\`${usage!.slice(2)}\``);
  });
});

describe('docs/errors.md', () => {
  it('documents every error code', () => {
    const undocumented = Object.values(ErrorCodes).filter((code) => !ERRORS.includes(`| \`${code}\` |`));
    expect(undocumented).toEqual([]);
  });

  it('documents only codes that exist', () => {
    const known = new Set<string>(Object.values(ErrorCodes));
    const rows = [...ERRORS.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.filter((code) => !known.has(code))).toEqual([]);
  });
});
