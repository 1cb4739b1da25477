/** Test helpers for the policy: build policies from objects, outcomes from real fixtures. */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { loadFixturePackages } from './fixtures';
import { verifyPackageAttestations } from '../src/verify';
import type { PackageVerification, SignerIdentity } from '../src/verify/types';
import { createTrustContext, embeddedTrustMaterial } from '../src/trust';
import { validatePolicyDocument, type LoadedPolicy, type VerificationOutcome } from '../src/policy';
import { int, pick, type Random } from './mutate';

/** A validated policy from a plain document; fails the test on any error. */
export function policyOf(document: unknown): LoadedPolicy {
  const { model, problems } = validatePolicyDocument(document, 'test-policy.yml');
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  return { model: model!, digest: 'test', warnings: problems };
}

/** Problems of a document as `path: expected` strings, errors only. */
export function errorsOf(document: unknown): Array<{ path: string; expected: string }> {
  return validatePolicyDocument(document, 'test-policy.yml')
    .problems.filter((p) => p.severity === 'error')
    .map(({ path, expected }) => ({ path, expected }));
}

export interface RealPackage {
  name: string;
  version: string;
  outcome: VerificationOutcome;
}

/** The 8 real fixture packages, verified by the real verification core against the embedded trusted root. */
export function verifiedFixturePackages(): RealPackage[] {
  const trust = createTrustContext(embeddedTrustMaterial());
  return loadFixturePackages().map((fixture) => {
    const sha512Hex = createHash('sha512').update(fixture.tarball).digest('hex');
    const result = verifyPackageAttestations(fixture.attestations, { name: fixture.name, version: fixture.version, sha512Hex }, trust);
    return { name: fixture.name, version: fixture.version, outcome: { status: 'verified', result } };
  });
}

const GITHUB = 'https://token.actions.githubusercontent.com';

/** A modern GitHub Actions identity for acme/repo; override any claim. */
export function githubIdentity(overrides: Partial<SignerIdentity> = {}): SignerIdentity {
  return {
    san: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1.2.0',
    sanType: 'uri',
    issuer: GITHUB,
    buildSignerUri: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1.2.0',
    runnerEnvironment: 'github-hosted',
    sourceRepositoryUri: 'https://github.com/acme/repo',
    sourceRepositoryRef: 'refs/tags/v1.2.0',
    sourceRepositoryIdentifier: '1001',
    sourceRepositoryOwnerUri: 'https://github.com/acme',
    sourceRepositoryOwnerIdentifier: '2002',
    buildConfigUri: 'https://github.com/acme/repo/.github/workflows/release.yml@refs/tags/v1.2.0',
    buildTrigger: 'push',
    githubWorkflowRepository: 'acme/repo',
    ...overrides,
  };
}

/** A verified outcome carrying provenance with this identity (and a publish attestation unless told otherwise). */
export function verifiedOutcome(identity: SignerIdentity | undefined, options: { publish?: boolean; predicateType?: string; name?: string; version?: string } = {}): VerificationOutcome {
  const base = { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verifiedTime: new Date('2026-01-01T00:00:00Z'), timeSource: 'tlog-set' as const, bundleDigest: 'ab' };
  const result: PackageVerification = {
    subject: { name: options.name ?? '@acme/x', version: options.version ?? '1.2.0', sha512Hex: '00' },
    provenanceCount: identity ? 1 : 0,
    provenance: identity ? { ...base, kind: 'provenance', predicateType: options.predicateType ?? 'https://slsa.dev/provenance/v1', identity } : undefined,
    publish: options.publish === false ? undefined : { ...base, kind: 'publish', predicateType: 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1', keyId: 'SHA256:x' },
  };
  return { status: 'verified', result };
}

const GENERATED_NAMES = ['lodash', 'react', 'react-dom', '@babel/core', '@babel/types', '@types/node', 'esbuild', '@esbuild/linux-x64', 'left-pad'];
/** Package names generated policies are asked about (with one in another case, and one no rule names). */
export const GENERATED_PACKAGE_NAMES = [...GENERATED_NAMES, 'REACT', 'unknown-package'];
const GENERATED_SELECTORS = [...GENERATED_NAMES, ...GENERATED_NAMES.map((name) => name.toUpperCase()), '*', '@babel/*', '@esbuild/*', 'react*', 'lodash@<4', 'react@^18', '@babel/core@>=8'];

/** The rules of a generated policy: exact names in any case, name globs, version ranges, expired and live exceptions. */
export function generatedRules(random: Random): unknown[] {
  return Array.from({ length: 1 + int(random, 12) }, () => {
    const expires = pick(random, [undefined, '2026-12-06', '2027-01-01']);
    const packages = Array.from({ length: 1 + int(random, 4) }, () => pick(random, GENERATED_SELECTORS));
    return { packages, require: 'none', reason: 'generated', ...(expires ? { expires } : {}) };
  });
}
