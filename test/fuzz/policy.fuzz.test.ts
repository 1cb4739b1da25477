/**
 * Bounded mutation fuzzing of the policy loader and validator, fed the real
 * example policies: each mutated file either loads (then judging a package
 * with it works) or is refused with POLICY_INVALID / POLICY_NOT_FOUND; never
 * another exception. SIGSTORE_FUZZ_CASES / SIGSTORE_FUZZ_SEED as in the
 * attestation fuzzing.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { evaluate, loadPolicy } from '../../src/policy';
import { REPO_ROOT } from '../../testkit/fixtures';
import { FUZZ_SEED, caseCount, mutateJson, mutateText, pick, prng } from '../../testkit/mutate';

const CASES = caseCount(6_000, 0.3);
const EXAMPLES = join(REPO_ROOT, 'policy-examples');
const folder = mkdtempSync(join(tmpdir(), 'sigstore-fuzz-policy-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const examples = readdirSync(EXAMPLES)
  .filter((file) => file.endsWith('.yml'))
  .map((file) => readFileSync(join(EXAMPLES, file), 'utf8'));

const identity = { san: 'https://github.com/acme/x/.github/workflows/release.yml@refs/tags/v1', sanType: 'uri', issuer: 'https://token.actions.githubusercontent.com', sourceRepositoryUri: 'https://github.com/acme/x' };
const outcomes = [
  { status: 'unsigned' },
  { status: 'failed', error: new SigstorePluginError(ErrorCodes.SIGNATURE, 'x@1.0.0: bad signature') },
  { status: 'verified', result: { subject: { name: 'x', version: '1.0.0', sha512Hex: 'ab'.repeat(64) }, provenanceCount: 1, provenance: { kind: 'provenance', identity, predicateType: 'https://slsa.dev/provenance/v1' } } },
] as const;

describe('fuzz: policy loader and validator (real example policies)', () => {
  it('every example loads unmutated', async () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
    for (const [index, text] of examples.entries()) {
      writeFileSync(join(folder, `example-${index}.yml`), text);
      await expect(loadPolicy(folder, { path: `example-${index}.yml` })).resolves.toBeDefined();
    }
  });

  it(`${CASES} seeded mutations: loaded and usable, or refused with a policy code`, async () => {
    const random = prng(FUZZ_SEED + 1);
    const crashes: string[] = [];
    const codes = new Map<string, number>();
    let loaded = 0;
    for (let index = 0; index < CASES; index++) {
      const text = pick(random, examples);
      const mutated = random() < 0.6 ? mutateText(random, text) : stringify(mutateJson(random, parse(text)).mutated);
      const file = `case-${index}.yml`;
      writeFileSync(join(folder, file), mutated);
      try {
        const policy = await loadPolicy(folder, { path: file });
        loaded++;
        for (const outcome of outcomes) evaluate(policy, { name: pick(random, ['x', '@acme/x', 'left-pad']), version: '1.0.0' }, outcome as never);
      } catch (error) {
        if (error instanceof SigstorePluginError && (error.code === ErrorCodes.POLICY_INVALID || error.code === ErrorCodes.POLICY_NOT_FOUND)) codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        else crashes.push(`case ${index} (seed ${FUZZ_SEED + 1}): ${(error as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)}\n${mutated}`);
      } finally {
        rmSync(join(folder, file), { force: true });
      }
    }
    console.log(`fuzz policy: ${CASES} cases, seed ${FUZZ_SEED + 1}: ${loaded} loaded and evaluated, ${crashes.length} uncoded errors; refusals: ${[...codes].map(([code, count]) => `${code} ${count}`).join(', ')}`);
    expect(crashes.slice(0, 5)).toEqual([]);
  });
});
