/**
 * Progress on long work: the real Yarn, in a terminal, draws its own progress
 * bar while `yarn sigstore` commands verify packages, the bar fills once every
 * package is done; `--json` output stays one JSON object a line, terminal or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALLABLE_FIXTURES } from '../../testkit/fixtures';
import type { YarnProject, YarnResult } from '../../testkit/yarn';
import { startE2eKit, type E2eKit } from '../../testkit/e2e-kit';

const [GUNDAM, GOGGLES] = INSTALLABLE_FIXTURES;
// Yarn's plain bar style (no seasonal emoji), drawn even if the environment looks like CI.
const BARS = { YARN_ENABLE_PROGRESS_BARS: 'true', YARN_PROGRESS_BAR_STYLE: 'default' };

let kit: E2eKit;
let p: YarnProject;

beforeAll(async () => {
  kit = await startE2eKit({ fixtures: true, tempPrefix: 'sigstore-progress-' });
  p = await kit.project({ dependencies: { [GUNDAM.name]: GUNDAM.version, [GOGGLES.name]: GOGGLES.version } });
  const installed = await p.install();
  if (installed.code !== 0) throw new Error(`install failed:\n${installed.output}`);
});

afterAll(() => kit?.close());

/** The bars Yarn drew (`=` done, `-` to do), in order. */
function bars(result: YarnResult): Array<{ done: number; todo: number }> {
  return [...result.stdout.matchAll(/ (=*)(-*)\r?\n/g)].filter(([, done, todo]) => done.length + todo.length >= 20).map(([, done, todo]) => ({ done: done.length, todo: todo.length }));
}

/** Every line printed is one JSON object (CRLF from the terminal aside). */
function expectPureNdjson(result: YarnResult): void {
  const lines = result.stdout.split(/\r?\n/).filter((line) => line !== '');
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
}

describe('progress bars', () => {
  it('policy init draws a bar that fills once every registry package is verified', async () => {
    const init = await p.runInTerminal(['sigstore', 'policy', 'init', '--force'], BARS);
    expect(init.code, init.output).toBe(0);
    const drawn = bars(init);
    expect(drawn.length, init.stdout).toBeGreaterThan(0);
    // Empty before the first package, full only when the counter reached the package total (2).
    expect(drawn[0].done).toBe(0);
    expect(drawn.at(-1)!.todo).toBe(0);
  });

  it('verify shows Yarn\'s fetch-step bar, which ticks as each package passes the gate', async () => {
    const verify = await p.runInTerminal(['sigstore', 'verify'], BARS);
    expect(verify.code, verify.output).toBe(0);
    const drawn = bars(verify);
    expect(drawn.length, verify.stdout).toBeGreaterThan(0);
    expect(drawn.at(-1)!.todo).toBe(0);
  });

  it('policy trust and explain draw the bar over the versions they verify', async () => {
    for (const args of [['sigstore', 'explain', GUNDAM.name], ['sigstore', 'policy', 'trust', GUNDAM.name, '--dry-run']]) {
      const result = await p.runInTerminal(args, BARS);
      expect(result.code, result.output).toBe(0);
      expect(bars(result).at(-1)?.todo, result.stdout).toBe(0);
    }
  });

  it('prints no bar without a terminal, even when progress bars are enabled', async () => {
    const init = await p.run(['sigstore', 'policy', 'init', '--force'], BARS);
    expect(init.code, init.output).toBe(0);
    expect(bars(init)).toEqual([]);
    expect(init.stdout).not.toContain('\x1b[');
  });

  describe('--json stays one JSON object a line', () => {
    const commands = [
      ['sigstore', 'verify', '--json'],
      ['sigstore', 'policy', 'init', '--force', '--json'],
      ['sigstore', 'explain', GUNDAM.name, '--json'],
      ['sigstore', 'policy', 'trust', GUNDAM.name, '--dry-run', '--json'],
    ];
    for (const args of commands) {
      it(`yarn ${args.join(' ')}, in a terminal and piped`, async () => {
        for (const result of [await p.runInTerminal(args, BARS), await p.run(args, BARS)]) {
          expect(result.code, result.output).toBe(0);
          expectPureNdjson(result);
        }
      });
    }
  });
});
