import { describe, expect, it } from 'vitest';
import { verifyDocument } from '../../src/install/document-verification';
import { createTrustContext, embeddedTrustMaterial } from '../../src/trust';
import { PREDICATE_NPM_PUBLISH_V01, verifyPackageAttestations, type SignerIdentity } from '../../src/verify';
import { attestationsOf, NPM_PACKAGES, subjectOf } from '../../testkit/verify-fixtures';

const trust = createTrustContext(embeddedTrustMaterial());

/** The real certificates' values (read once with openssl/the library, then frozen here). */
const EXPECTED: Record<string, Partial<SignerIdentity> & { san: string }> = {
  'sigstore@1.0.0': {
    san: 'https://github.com/sigstore/sigstore-js/.github/workflows/publish.yml@refs/tags/v1.0.0',
    githubWorkflowRepository: 'sigstore/sigstore-js',
    sourceRepositoryRef: 'refs/tags/v1.0.0',
    buildTrigger: 'release',
    sourceRepositoryDigest: '06528997c3c8ab9f864fad9a3658446aca7fd86d',
    runnerEnvironment: undefined,
    sourceRepositoryUri: undefined,
  },
  'tuf-js@1.0.0': {
    san: 'https://github.com/theupdateframework/tuf-js/.github/workflows/publish.yml@refs/tags/v1.0.0',
    githubWorkflowRepository: 'theupdateframework/tuf-js',
    sourceRepositoryRef: 'refs/tags/v1.0.0',
    buildTrigger: 'release',
    runnerEnvironment: undefined,
    buildConfigUri: undefined,
  },
  '@playwright/cli@0.1.1': {
    san: 'https://github.com/microsoft/playwright-cli/.github/workflows/publish.yml@refs/tags/v0.1.1',
    sourceRepositoryUri: 'https://github.com/microsoft/playwright-cli',
    sourceRepositoryIdentifier: '273562379',
    sourceRepositoryOwnerUri: 'https://github.com/microsoft',
    sourceRepositoryOwnerIdentifier: '6154722',
    sourceRepositoryRef: 'refs/tags/v0.1.1',
    buildConfigUri: 'https://github.com/microsoft/playwright-cli/.github/workflows/publish.yml@refs/tags/v0.1.1',
    runnerEnvironment: 'github-hosted',
    sourceRepositoryVisibility: 'public',
    runInvocationUri: 'https://github.com/microsoft/playwright-cli/actions/runs/22026075834/attempts/1',
  },
  'sigstore@2.3.1': {
    san: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
    sourceRepositoryUri: 'https://github.com/sigstore/sigstore-js',
    sourceRepositoryIdentifier: '495574555',
    sourceRepositoryRef: 'refs/heads/main',
    buildConfigUri: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
    buildTrigger: 'push',
    runnerEnvironment: 'github-hosted',
  },
  'gundam-visor@1.0.1': {
    san: 'https://github.com/ramonpetgrave64/gundam-visor/.github/workflows/npm-publish.yml@refs/tags/v1.0.1',
    sourceRepositoryUri: 'https://github.com/ramonpetgrave64/gundam-visor',
    sourceRepositoryRef: 'refs/tags/v1.0.1',
    buildConfigUri: 'https://github.com/ramonpetgrave64/gundam-visor/.github/workflows/npm-publish.yml@refs/tags/v1.0.1',
    runnerEnvironment: 'github-hosted',
    sourceRepositoryOwnerIdentifier: '32398091',
  },
  '@trishankatdatadog/supreme-goggles@1.0.5': {
    san: 'https://github.com/trishankatdatadog/supreme-goggles/.github/workflows/npm-publish.yml@refs/tags/v1.0.5',
    sourceRepositoryUri: 'https://github.com/trishankatdatadog/supreme-goggles',
    sourceRepositoryRef: 'refs/tags/v1.0.5',
    buildConfigUri: 'https://github.com/trishankatdatadog/supreme-goggles/.github/workflows/npm-publish.yml@refs/tags/v1.0.5',
    runnerEnvironment: 'github-hosted',
    // This older v2-extension certificate has no visibility claim: it must stay absent.
    sourceRepositoryVisibility: undefined,
  },
  '@laurentsimon/provenance-npm-test@1.0.3': {
    san: 'https://github.com/laurentsimon/provenance-npm-test/.github/workflows/release.yml@refs/heads/main',
    sourceRepositoryUri: 'https://github.com/laurentsimon/provenance-npm-test',
    sourceRepositoryRef: 'refs/heads/main',
    buildTrigger: 'workflow_dispatch',
    runnerEnvironment: 'github-hosted',
  },
  '@laurentsimon/provenance-npm-test@1.0.5': {
    // A reusable workflow (slsa-github-generator) signed: the SAN and build signer name it,
    // while the build config is the repository's own workflow file.
    san: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0',
    buildSignerUri: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0',
    buildConfigUri: 'https://github.com/laurentsimon/provenance-npm-test/.github/workflows/release-slsa3.yml@refs/heads/main',
    sourceRepositoryUri: 'https://github.com/laurentsimon/provenance-npm-test',
    sourceRepositoryRef: 'refs/heads/main',
    runnerEnvironment: 'github-hosted',
  },
};

describe('the 8 real npm packages verify against the production root with their real tarballs', () => {
  it('covers every package of the fixture store', () => {
    expect(NPM_PACKAGES.map((pkg) => `${pkg.name}@${pkg.version}`).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const pkg of NPM_PACKAGES) {
    const key = `${pkg.name}@${pkg.version}`;
    it(key, () => {
      const result = verifyPackageAttestations(attestationsOf(pkg), subjectOf(pkg), trust);
      expect(result.provenanceCount).toBe(1);
      const provenance = result.provenance!;
      expect(provenance.kind).toBe('provenance');
      expect(provenance.predicateType).toMatch(/^https:\/\/slsa\.dev\/provenance\/v(0\.2|1)$/);
      const present = Object.fromEntries(Object.entries(EXPECTED[key]).filter(([, value]) => value !== undefined));
      expect(provenance.identity).toMatchObject({ sanType: 'uri', issuer: 'https://token.actions.githubusercontent.com', ...present });
      for (const [claim, value] of Object.entries(EXPECTED[key])) {
        if (value === undefined) expect(provenance.identity, `${claim} must be absent`).not.toHaveProperty(claim);
      }
      expect(provenance.timeSource).toBe('tlog-set');
      expect(provenance.logIndex).toMatch(/^\d+$/);
      expect(result.publish?.predicateType).toBe(PREDICATE_NPM_PUBLISH_V01);
      expect(result.publish?.keyId).toMatch(/^SHA256:(jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA|DhQ8wR5APBvFHLF\/\+Tc\+AYvPOdTpcIDqOhxsBHRwC7U)$/);
    });
  }

  it('reports the verified log time and log index of a known entry', () => {
    const pkg = NPM_PACKAGES.find((entry) => entry.name === 'sigstore' && entry.version === '1.0.0')!;
    const result = verifyPackageAttestations(attestationsOf(pkg), subjectOf(pkg), trust);
    expect(result.provenance!.logIndex).toBe('12988397');
    expect(result.provenance!.verifiedTime.toISOString()).toBe('2023-02-09T17:56:00.000Z');
    expect(result.provenance!.mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.1');
    expect(result.publish!.keyId).toBe('SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA');
  });

  it('accepts the document as raw bytes exactly as the registry sends it', () => {
    const pkg = NPM_PACKAGES.find((entry) => entry.name === '@playwright/cli')!;
    const bytes = Buffer.from(JSON.stringify(attestationsOf(pkg)));
    const request = { document: bytes, url: 'https://registry.npmjs.org/-/npm/v1/attestations/@playwright%2fcli', maxBytes: 1e7, ...subjectOf(pkg) };
    const result = verifyDocument(request, trust, verifyPackageAttestations).result!;
    expect(result.provenance!.identity.sourceRepositoryOwnerUri).toBe('https://github.com/microsoft');
    expect(result.publish!.keyId).toBe('SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U');
  });
});
