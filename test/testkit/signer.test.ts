import 'reflect-metadata';
import { X509Certificate } from '@peculiar/x509';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { isPluginError } from '../../src/errors';
import { createTrustContext } from '../../src/trust';
import { verifyPackageAttestations } from '../../src/verify';
import { join } from 'node:path';
import { loadFixturePackage, productionNpmKeys, productionTrustedRoot, REPO_ROOT } from '../../testkit/fixtures';
import {
  githubIdentity,
  gitlabIdentity,
  mergeTrustMaterial,
  MockSigstore,
  npmPurl,
  PREDICATE_NPM_PUBLISH,
  PREDICATE_SLSA_V1,
  type AttestationsDocument,
  type InTotoSubject,
  type NpmKeysJson,
  type TrustedRootJson,
} from '../../testkit/signer';
import { buildPackageTarball, sha512Hex } from '../../testkit/tarball';

const NAME = '@acme/widget';
const VERSION = '1.2.3';
const TARBALL = buildPackageTarball({ name: NAME, version: VERSION, dependencies: { 'left-pad': '^1.3.0' } });

function sigstoreVerifier(root: TrustedRootJson, keys: NpmKeysJson): Verifier {
  const publishKeys: Record<string, PublicKey> = {};
  for (const key of keys.keys) if (key.keyUsage === 'npm:attestations') publishKeys[key.keyId] = PublicKey.fromJSON(key.publicKey);
  return new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root), publishKeys));
}

function bundleOf(document: AttestationsDocument, predicateType: string) {
  const found = document.attestations.find((attestation) => attestation.predicateType === predicateType);
  if (!found) throw new Error(`no ${predicateType} attestation`);
  return found.bundle;
}

function leafCertificate(bundle: Record<string, unknown>): X509Certificate {
  const material = bundle.verificationMaterial as { x509CertificateChain?: { certificates: { rawBytes: string }[] }; certificate?: { rawBytes: string } };
  const rawBytes = material.x509CertificateChain?.certificates[0].rawBytes ?? material.certificate!.rawBytes;
  return new X509Certificate(Buffer.from(rawBytes, 'base64'));
}

/** A v2 Fulcio extension (.8-.22): DER UTF8String (tag 0x0c, short length). */
function utf8Extension(certificate: X509Certificate, oid: string): string | undefined {
  const extension = certificate.getExtension(oid);
  if (!extension) return undefined;
  const value = Buffer.from(extension.value);
  expect(value[0]).toBe(0x0c);
  return value.subarray(value[1] & 0x80 ? 2 + (value[1] & 0x7f) : 2).toString('utf8');
}

function statementOf(bundle: Record<string, unknown>): { subject: { name: string; digest: { sha512: string } }[]; predicateType: string } {
  const envelope = bundle.dsseEnvelope as { payload: string };
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
}

describe('mock Sigstore signer', () => {
  let mock: MockSigstore;
  let document: AttestationsDocument;
  const identity = githubIdentity({
    repository: 'acme/widget',
    workflow: '.github/workflows/release.yml',
    ref: 'refs/tags/v1.2.3',
    repositoryId: '123456',
    ownerId: '654321',
    trigger: 'release',
    runner: 'self-hosted',
    visibility: 'private',
  });

  beforeAll(async () => {
    mock = await MockSigstore.create();
    document = await mock.signPackage({ name: NAME, version: VERSION, tarball: TARBALL, identity });
  });

  it('produces the npm attestations document: provenance + publish, subjects purl + sha512 of the tarball', () => {
    expect(document.attestations.map((attestation) => attestation.predicateType)).toEqual([PREDICATE_SLSA_V1, PREDICATE_NPM_PUBLISH]);
    for (const { bundle } of document.attestations) {
      expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.2');
      const statement = statementOf(bundle);
      expect(statement.subject).toEqual([{ name: 'pkg:npm/%40acme/widget@1.2.3', digest: { sha512: sha512Hex(TARBALL) } }]);
      const [entry] = (bundle.verificationMaterial as { tlogEntries: { kindVersion: { kind: string }; inclusionPromise?: unknown; inclusionProof?: unknown }[] }).tlogEntries;
      expect(entry.kindVersion.kind).toBe('intoto');
      expect(entry.inclusionPromise).toBeDefined();
      expect(entry.inclusionProof).toBeDefined();
    }
    expect(npmPurl('left-pad', '1.3.0')).toBe('pkg:npm/left-pad@1.3.0');
  });

  it('both bundles verify with @sigstore/verify against the mock trusted root and npm key', () => {
    const verifier = sigstoreVerifier(mock.trustedRoot, mock.npmKeys);
    const provenance = verifier.verify(toSignedEntity(bundleFromJSON(bundleOf(document, PREDICATE_SLSA_V1))));
    expect(provenance.identity?.subjectAlternativeName).toBe('https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.2.3');
    expect(provenance.identity?.extensions?.issuer).toBe('https://token.actions.githubusercontent.com');
    const publish = verifier.verify(toSignedEntity(bundleFromJSON(bundleOf(document, PREDICATE_NPM_PUBLISH))));
    expect(publish.identity).toBeUndefined();
  });

  it('fails verification when the payload is altered or the trusted root is another mock', async () => {
    const verifier = sigstoreVerifier(mock.trustedRoot, mock.npmKeys);
    const bundle = structuredClone(bundleOf(document, PREDICATE_SLSA_V1));
    const envelope = bundle.dsseEnvelope as { payload: string };
    envelope.payload = Buffer.from(Buffer.from(envelope.payload, 'base64').toString('utf8').replace('acme', 'acmf')).toString('base64');
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle)))).toThrow();
    const other = await MockSigstore.create();
    expect(() => sigstoreVerifier(other.trustedRoot, other.npmKeys).verify(toSignedEntity(bundleFromJSON(bundleOf(document, PREDICATE_SLSA_V1))))).toThrow();
    expect(() => sigstoreVerifier(other.trustedRoot, other.npmKeys).verify(toSignedEntity(bundleFromJSON(bundleOf(document, PREDICATE_NPM_PUBLISH))))).toThrow();
  });

  it('the Fulcio certificate carries every GitHub claim: v2 OIDs as UTF8String, legacy OIDs as raw strings', () => {
    const certificate = leafCertificate(bundleOf(document, PREDICATE_SLSA_V1));
    const oid = (n: number) => `1.3.6.1.4.1.57264.1.${n}`;
    const expected: Record<number, string> = {
      8: 'https://token.actions.githubusercontent.com',
      9: 'https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.2.3',
      11: 'self-hosted',
      12: 'https://github.com/acme/widget',
      14: 'refs/tags/v1.2.3',
      15: '123456',
      16: 'https://github.com/acme',
      17: '654321',
      18: 'https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.2.3',
      20: 'release',
      21: 'https://github.com/acme/widget/actions/runs/1234567890/attempts/1',
      22: 'private',
    };
    for (const [n, value] of Object.entries(expected)) expect(utf8Extension(certificate, oid(Number(n))), `OID .${n}`).toBe(value);
    expect(utf8Extension(certificate, oid(13))).toMatch(/^[0-9a-f]{40}$/);
    expect(Buffer.from(certificate.getExtension(oid(1))!.value).toString()).toBe('https://token.actions.githubusercontent.com');
    expect(Buffer.from(certificate.getExtension(oid(5))!.value).toString()).toBe('acme/widget');
    expect(Buffer.from(certificate.getExtension(oid(6))!.value).toString()).toBe('refs/tags/v1.2.3');
    expect(certificate.getExtension('1.3.6.1.4.1.11129.2.4.2'), 'SCT list').toBeTruthy();
  });

  it('signs GitLab identities, v0.3 bundles, and documents without provenance', async () => {
    const gitlab = await mock.signPackage({ name: 'lib', version: '0.1.0', tarball: TARBALL, identity: gitlabIdentity({ project: 'group/proj' }), publish: false, bundleVersion: '0.3' });
    expect(gitlab.attestations).toHaveLength(1);
    const bundle = bundleOf(gitlab, PREDICATE_SLSA_V1);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const signer = sigstoreVerifier(mock.trustedRoot, mock.npmKeys).verify(toSignedEntity(bundleFromJSON(bundle)));
    expect(signer.identity?.subjectAlternativeName).toBe('https://gitlab.com/group/proj//.gitlab-ci.yml@refs/heads/main');
    expect(utf8Extension(leafCertificate(bundle), '1.3.6.1.4.1.57264.1.8')).toBe('https://gitlab.com');
    expect(leafCertificate(bundle).getExtension('1.3.6.1.4.1.57264.1.5')).toBeNull();

    const unsignedProvenance = await mock.signPackage({ name: 'lib', version: '0.1.0', tarball: TARBALL, provenance: false });
    expect(unsignedProvenance.attestations.map((attestation) => attestation.predicateType)).toEqual([PREDICATE_NPM_PUBLISH]);
  });

  it('verifies through the project verification core (verifyPackageAttestations)', () => {
    const trust = createTrustContext(mock.trustMaterial());
    const result = verifyPackageAttestations(document, { name: NAME, version: VERSION, sha512Hex: sha512Hex(TARBALL) }, trust);
    expect(result.provenance?.identity).toMatchObject({
      issuer: 'https://token.actions.githubusercontent.com',
      sourceRepositoryUri: 'https://github.com/acme/widget',
      sourceRepositoryIdentifier: '123456',
      sourceRepositoryOwnerIdentifier: '654321',
      sourceRepositoryRef: 'refs/tags/v1.2.3',
      runnerEnvironment: 'self-hosted',
      buildTrigger: 'release',
      sourceRepositoryVisibility: 'private',
    });
    expect(result.publish?.keyId).toBe(mock.npmKeyId);
    let error: unknown;
    try {
      verifyPackageAttestations(document, { name: NAME, version: VERSION, sha512Hex: sha512Hex(Buffer.from('other bytes')) }, trust);
    } catch (caught) {
      error = caught;
    }
    expect(isPluginError(error) && error.code).toBe('SUBJECT_DIGEST_MISMATCH');
  });

  it('mergeTrustMaterial: a real production-signed fixture and a mock-signed package verify with one trust context', () => {
    const merged = mergeTrustMaterial({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys(), origin: 'production' }, mock.trustMaterial());
    const production = productionTrustedRoot() as { tlogs: unknown[]; certificateAuthorities: unknown[] };
    expect(merged.trustedRoot.tlogs).toHaveLength(production.tlogs.length + 1);
    expect(merged.trustedRoot.certificateAuthorities).toHaveLength(production.certificateAuthorities.length + 1);
    const trust = createTrustContext(merged);
    const fixture = loadFixturePackage('gundam-visor', '1.0.1');
    const real = verifyPackageAttestations(fixture.attestations, { name: fixture.name, version: fixture.version, sha512Hex: sha512Hex(fixture.tarball) }, trust);
    expect(real.provenance?.identity.sourceRepositoryUri).toBe('https://github.com/ramonpetgrave64/gundam-visor');
    const mocked = verifyPackageAttestations(document, { name: NAME, version: VERSION, sha512Hex: sha512Hex(TARBALL) }, trust);
    expect(mocked.provenance?.identity.sourceRepositoryUri).toBe('https://github.com/acme/widget');
    // And the mock alone does not trust production bundles.
    expect(() => verifyPackageAttestations(fixture.attestations, { name: fixture.name, version: fixture.version, sha512Hex: sha512Hex(fixture.tarball) }, createTrustContext(mock.trustMaterial()))).toThrow();
  });

  it('an expired npm key makes the publish attestation fail in the verification core', async () => {
    const expired = await MockSigstore.create({ npmKeyValidFor: { start: new Date('2020-01-01'), end: new Date('2021-01-01') } });
    const signed = await expired.signPackage({ name: NAME, version: VERSION, tarball: TARBALL, provenance: false });
    let error: unknown;
    try {
      verifyPackageAttestations(signed, { name: NAME, version: VERSION, sha512Hex: sha512Hex(TARBALL) }, createTrustContext(expired.trustMaterial()));
    } catch (caught) {
      error = caught;
    }
    expect(isPluginError(error)).toBe(true);
  });

  it('stages binding attacks: a replaced subject list is what the signed statement carries, and still verifies cryptographically', async () => {
    const subjects: InTotoSubject[] = [
      { name: 'pkg:npm/other@1.0.0', digest: { sha512: sha512Hex(TARBALL) } },
      { name: npmPurl(NAME, VERSION), digest: { sha256: 'ab'.repeat(32) } },
    ];
    const staged = await mock.signPackage({ name: NAME, version: VERSION, tarball: TARBALL, identity, subjects });
    for (const { bundle } of staged.attestations) {
      expect(statementOf(bundle).subject).toEqual(subjects);
      expect(() => sigstoreVerifier(mock.trustedRoot, mock.npmKeys).verify(toSignedEntity(bundleFromJSON(bundle)))).not.toThrow();
    }
    expect(() => verifyPackageAttestations(staged, { name: NAME, version: VERSION, sha512Hex: sha512Hex(TARBALL) }, createTrustContext(mock.trustMaterial()))).toThrow();
  });

  it('a fixed clock sets the certificate start and the log time (e.g. an integrated time in the future)', async () => {
    const future = new Date(Date.UTC(2031, 0, 1));
    const later = await MockSigstore.create({ clock: future });
    const signed = await later.signPackage({ name: NAME, version: VERSION, tarball: TARBALL, identity, publish: false });
    const bundle = bundleOf(signed, PREDICATE_SLSA_V1);
    const [entry] = (bundle.verificationMaterial as { tlogEntries: { integratedTime: string }[] }).tlogEntries;
    expect(Number(entry.integratedTime)).toBe(future.getTime() / 1000);
    expect(leafCertificate(bundle).notBefore.getTime()).toBe(future.getTime());
  });

  it('never loads nock: node http is not patched by loading and using the signer (fresh process)', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = [
      "const http = require('node:http');",
      'const request = http.request, ClientRequest = http.ClientRequest;',
      "require('./testkit/signer').MockSigstore.create().then(async (mock) => {",
      "  await mock.signPackage({ name: 'x', version: '1.0.0', sha512Hex: 'ab'.repeat(64), identity: require('./testkit/identity').githubIdentity({ repository: 'a/b' }) });",
      "  const nock = Object.keys(require.cache).some((path) => path.includes('/node_modules/nock/'));",
      '  console.log(JSON.stringify({ patched: http.request !== request || http.ClientRequest !== ClientRequest, nock }));',
      '});',
    ].join('\n');
    const tsx = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, '-e', script], { cwd: REPO_ROOT });
    expect(JSON.parse(stdout.trim())).toEqual({ patched: false, nock: false });
  });

  it('signs a registry signature that npm keys verify', async () => {
    const { createVerify } = await import('node:crypto');
    const { keyid, sig } = mock.registrySignature(NAME, VERSION, 'sha512-abc');
    expect(keyid).toBe(mock.npmKeyId);
    expect(createVerify('sha256').update(`${NAME}@${VERSION}:sha512-abc`).verify(mock.npmPublicKey(), Buffer.from(sig, 'base64'))).toBe(true);
  });

  it('reuseCertificates shares one certificate per identity; the default issues one per signature', async () => {
    const fresh = await mock.signPackage({ name: 'a', version: '1.0.0', tarball: TARBALL, identity, publish: false });
    const freshKey = Buffer.from(leafCertificate(bundleOf(fresh, PREDICATE_SLSA_V1)).publicKey.rawData);
    expect(freshKey.equals(Buffer.from(leafCertificate(bundleOf(document, PREDICATE_SLSA_V1)).publicKey.rawData))).toBe(false);
    const reusing = await MockSigstore.create({ reuseCertificates: true });
    const [one, two] = await Promise.all(['a', 'b'].map((name) => reusing.signPackage({ name, version: '1.0.0', tarball: TARBALL, identity, publish: false })));
    expect(Buffer.from(leafCertificate(bundleOf(one, PREDICATE_SLSA_V1)).rawData).equals(Buffer.from(leafCertificate(bundleOf(two, PREDICATE_SLSA_V1)).rawData))).toBe(true);
    expect(() => sigstoreVerifier(reusing.trustedRoot, reusing.npmKeys).verify(toSignedEntity(bundleFromJSON(bundleOf(two, PREDICATE_SLSA_V1))))).not.toThrow();
  });
});
