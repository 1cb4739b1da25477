/**
 * Bounded mutation fuzzing of RFC 3161 timestamps, which the npm fixtures do
 * not carry (so attestations.fuzz.test.ts never reaches them): a REAL
 * timestamp (Sigstore conformance suite) with 1-3 bytes overwritten is added
 * to a real npm bundle. @sigstore/core decodes its fields lazily; every case
 * must be refused with a precise code (never INTERNAL) and never accepted
 * (the timestamp's authority is not in the production root either way).
 *
 * SIGSTORE_FUZZ_CASES / SIGSTORE_FUZZ_SEED as in the other fuzz tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { createTrustContext } from '../../src/trust';
import { PREDICATE_NPM_PUBLISH_V01, verifyBundleForPackage } from '../../src/verify';
import { loadFixturePackage, productionNpmKeys, productionTrustedRoot } from '../../testkit/fixtures';
import { FUZZ_SEED, caseCount, int, prng } from '../../testkit/mutate';

const CASES = caseCount(2_000, 0.01);
const trust = createTrustContext({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys(), origin: 'production' } as never);
const CONFORMANCE_BUNDLE = join(__dirname, '..', '..', 'fixtures', 'conformance', 'bundle-verify', 'rekor2-dsse-happy-path', 'bundle.sigstore.json');

describe('fuzz: RFC 3161 timestamps inside real npm bundles', () => {
  const fixture = loadFixturePackage('gundam-visor', '1.0.1');
  const subject = { name: fixture.name, version: fixture.version, sha512Hex: createHash('sha512').update(fixture.tarball).digest('hex') };
  const document = JSON.parse(fixture.attestationsBytes.toString('utf8'));
  const timestamp = Buffer.from(JSON.parse(readFileSync(CONFORMANCE_BUNDLE, 'utf8')).verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64');

  function refusalCode(bundle: unknown): string {
    try {
      verifyBundleForPackage(bundle, subject, trust);
    } catch (error) {
      return error instanceof SigstorePluginError ? `${error.code}${error.code === ErrorCodes.INTERNAL ? `: ${error.message}` : ''}` : `uncoded: ${String(error)}`;
    }
    return 'accepted';
  }

  it(`${CASES} seeded timestamp mutations: refused with a precise code`, () => {
    const random = prng(FUZZ_SEED + 2);
    const codes = new Map<string, number>();
    const findings: string[] = [];
    for (let index = 0; index < CASES; index++) {
      const mutated = Buffer.from(timestamp);
      for (let edits = 1 + int(random, 3); edits > 0; edits--) mutated[int(random, mutated.length)] = int(random, 256);
      const entry = document.attestations[int(random, document.attestations.length)];
      const bundle = structuredClone(entry.bundle);
      bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: mutated.toString('base64') }] };
      const code = refusalCode(bundle);
      codes.set(code.split(':')[0], (codes.get(code.split(':')[0]) ?? 0) + 1);
      const kind = entry.predicateType === PREDICATE_NPM_PUBLISH_V01 ? 'publish' : 'provenance';
      if (code === 'accepted' || code.includes(':')) findings.push(`case ${index} (seed ${FUZZ_SEED + 2}) ${kind}: ${code}`);
    }
    console.log(`fuzz timestamps: ${CASES} cases, seed ${FUZZ_SEED + 2}; refusals: ${[...codes].sort((a, b) => b[1] - a[1]).map(([code, count]) => `${code} ${count}`).join(', ')}`);
    expect(findings.slice(0, 10)).toEqual([]);
    // Both outcomes are exercised: timestamps that do not decode, and decodable ones that do not verify.
    expect(codes.get(ErrorCodes.BUNDLE_MALFORMED)).toBeGreaterThan(0);
    expect(codes.get(ErrorCodes.TIMESTAMP)).toBeGreaterThan(0);
  });
});
