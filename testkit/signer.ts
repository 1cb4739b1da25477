/**
 * A mock Sigstore (Fulcio CA + CT log, Rekor v1 `intoto` entries) and a mock
 * npm `npm:attestations` key, built on `@sigstore/mock` objects called
 * directly: no HTTP, and nock is never loaded, so a loopback registry in the
 * same process is never intercepted. It signs npm attestations documents in the exact format
 * the registry serves and publishes the matching trusted root and keys.json.
 */
import 'reflect-metadata';
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { bundleToJSON, toDSSEBundle, type Bundle, type TransparencyLogEntry } from '@sigstore/bundle';
import { dsse, pem } from '@sigstore/core';
// The submodules, never the package index: `@sigstore/mock`'s index loads nock,
// which patches node's http for the whole process (a loopback registry included).
import { initializeCA } from '@sigstore/mock/dist/fulcio/ca';
import { initializeCTLog } from '@sigstore/mock/dist/fulcio/ctlog';
import { initializeTLog } from '@sigstore/mock/dist/rekor/tlog';
// Not re-exported by @sigstore/sign's index: the exact Rekor `intoto` entry sigstore-js proposes.
import { toProposedEntry } from '@sigstore/sign/dist/witness/tlog/entry';
import { GITHUB_ISSUER, identityExtensions, type SigningIdentity } from './identity';
import { sha512Hex } from './tarball';

export { githubIdentity, gitlabIdentity, identityExtensions, GITHUB_ISSUER, GITLAB_ISSUER, V2_CLAIM_OIDS, LEGACY_CLAIM_OIDS } from './identity';
export type { SigningIdentity, GitHubIdentityOptions, GitLabIdentityOptions, CertificateExtension } from './identity';

export const PREDICATE_SLSA_V1 = 'https://slsa.dev/provenance/v1';
export const PREDICATE_NPM_PUBLISH = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const MOCK_REKOR_URL = 'https://rekor.sigstore.mock';
const MOCK_FULCIO_URL = 'https://fulcio.sigstore.mock';
const MOCK_CTLOG_URL = 'https://ctfe.sigstore.mock';
const KEY_DETAILS = 'PKIX_ECDSA_P256_SHA_256';

type MockCA = Awaited<ReturnType<typeof initializeCA>>;
type MockTLog = Awaited<ReturnType<typeof initializeTLog>>;
type MockCTLog = Awaited<ReturnType<typeof initializeCTLog>>;

export interface AttestationsDocument {
  attestations: { predicateType: string; bundle: Record<string, unknown> }[];
}

export interface SignPackageOptions {
  name: string;
  version: string;
  /** The tarball bytes (their sha512 is the subject digest). */
  tarball?: Buffer;
  /** Or the digest directly (lowercase hex sha512). */
  sha512Hex?: string;
  /** Provenance signer; required when provenance is true. */
  identity?: SigningIdentity;
  /** Include a SLSA v1 provenance bundle (default true). */
  provenance?: boolean;
  /** Include an npm publish attestation signed with the mock npm key (default true). */
  publish?: boolean;
  /** Bundle format: v0.2 (certificate chain, as npm serves today; default) or v0.3 (single certificate). */
  bundleVersion?: '0.2' | '0.3';
  /** Subject name override (purl), to stage binding attacks. */
  subjectName?: string;
  /** Replace the whole in-toto subject list (several subjects, sha256-only digests...). */
  subjects?: InTotoSubject[];
}

export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

interface IssuedCertificate {
  privateKey: KeyObject;
  certificateDer: Buffer;
}

export interface TrustedRootJson {
  mediaType: string;
  tlogs: Record<string, unknown>[];
  certificateAuthorities: Record<string, unknown>[];
  ctlogs: Record<string, unknown>[];
  timestampAuthorities: Record<string, unknown>[];
  [key: string]: unknown;
}

export interface NpmKeysJson {
  keys: { keyId: string; keyUsage: string; publicKey: { rawBytes: string; keyDetails: string; validFor: { start: string; end?: string } } }[];
}

export interface MockSigstoreOptions {
  /**
   * Reuse one ephemeral key and certificate per identity for up to 5 minutes
   * (the mock certificate lives 10). Faster (~10x) but unlike Fulcio, and a
   * verifier that caches per certificate would look faster than it is: keep it
   * off (default) for benchmarks of verification.
   */
  reuseCertificates?: boolean;
  /** Validity window of the mock npm key in keys.json (default: from an hour ago, no end). */
  npmKeyValidFor?: { start: Date; end?: Date };
  /**
   * A fixed signing time for certificates, SCTs and log entries (default: now).
   * A future time stages "integrated time in the future"; a past one yields
   * certificates older than the mock CA's own certificate (which starts now).
   */
  clock?: Date;
}

/** `pkg:npm/<name>@<version>` with the scope's `@` percent-encoded, as npm writes subjects. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** npm's key id: `SHA256:` + unpadded base64 of the sha256 of the SPKI DER. */
export function npmKeyId(spki: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(spki).digest('base64').replace(/=+$/, '');
}

/** The Rekor v1 API answer the mock log returns (`{<uuid>: entry}`). */
interface RekorV1Entry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification?: {
    signedEntryTimestamp?: string;
    inclusionProof?: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
  };
}

function toTransparencyLogEntry(entries: object): TransparencyLogEntry {
  const entry = Object.values(entries)[0] as RekorV1Entry;
  const body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8')) as { kind: string; apiVersion: string };
  const proof = entry.verification!.inclusionProof!;
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: Buffer.from(entry.logID, 'hex') },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(entry.verification!.signedEntryTimestamp!, 'base64') },
    inclusionProof: {
      logIndex: String(proof.logIndex),
      rootHash: Buffer.from(proof.rootHash, 'hex'),
      treeSize: String(proof.treeSize),
      hashes: proof.hashes.map((hash) => Buffer.from(hash, 'hex')),
      checkpoint: { envelope: proof.checkpoint },
    },
    canonicalizedBody: Buffer.from(entry.body, 'base64'),
  };
}

function provenancePredicate(identity: SigningIdentity): Record<string, unknown> {
  const repository = identity.sourceRepositoryUri ?? '';
  const ref = identity.sourceRepositoryRef ?? '';
  const isGitHub = identity.issuer === GITHUB_ISSUER;
  const workflowPath = (identity.buildConfigUri ?? '').replace(`${repository}/`, '').replace(/^\//, '').replace(/@[^@]*$/, '');
  return {
    buildDefinition: {
      buildType: isGitHub ? 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1' : 'https://github.com/npm/cli/gitlab/v0alpha1',
      externalParameters: { workflow: { ref, repository, path: workflowPath } },
      internalParameters: {
        [isGitHub ? 'github' : 'gitlab']: {
          event_name: identity.buildTrigger,
          repository_id: identity.sourceRepositoryIdentifier,
          repository_owner_id: identity.sourceRepositoryOwnerIdentifier,
          runner_environment: identity.runnerEnvironment,
        },
      },
      resolvedDependencies: [{ uri: `git+${repository}@${ref}`, digest: { gitCommit: identity.sourceRepositoryDigest } }],
    },
    runDetails: {
      builder: { id: isGitHub ? `https://github.com/actions/runner/${identity.runnerEnvironment ?? 'github-hosted'}` : `${repository}/-/runners` },
      metadata: { invocationId: identity.runInvocationUri },
    },
  };
}

function statement(statementType: string, subject: InTotoSubject[], predicateType: string, predicate: unknown): Buffer {
  return Buffer.from(JSON.stringify({ _type: statementType, subject, predicateType, predicate }));
}

export class MockSigstore {
  /** A Sigstore `trusted_root.json` for the mock CA, Rekor and CT log. */
  readonly trustedRoot: TrustedRootJson;
  /** npm's `keys.json` format with the mock `npm:attestations` (and `npm:signatures`) key. */
  readonly npmKeys: NpmKeysJson;
  readonly npmKeyId: string;

  private readonly certificates = new Map<string, { issued: Promise<IssuedCertificate>; issuedAt: number }>();

  private constructor(
    private readonly options: MockSigstoreOptions,
    private readonly ca: MockCA,
    private readonly tlog: MockTLog,
    private readonly npmPrivateKey: KeyObject,
    private readonly npmPublicKeyPem: string,
    trustedRoot: TrustedRootJson,
    npmKeys: NpmKeysJson,
    npmKeyId: string,
  ) {
    this.trustedRoot = trustedRoot;
    this.npmKeys = npmKeys;
    this.npmKeyId = npmKeyId;
  }

  /** A fresh mock instance (new CA, logs and npm key). Create once and reuse: signing is the cheap part. */
  static async create(options: MockSigstoreOptions = {}): Promise<MockSigstore> {
    const ctKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const tlogKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const npmKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ctlog: MockCTLog = await initializeCTLog(ctKeys, options.clock);
    const ca = await initializeCA(caKeys, ctlog, options.clock);
    const tlog = await initializeTLog(MOCK_REKOR_URL, tlogKeys, options.clock);

    // The logs and CA are valid from an hour before the signing time: it falls inside.
    const start = new Date(Math.min(Date.now(), options.clock?.getTime() ?? Infinity) - 60 * 60 * 1000).toISOString();
    const logEntry = (url: string, publicKeyDer: Buffer) => ({
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: publicKeyDer.toString('base64'), keyDetails: KEY_DETAILS, validFor: { start } },
      logId: { keyId: createHash('sha256').update(publicKeyDer).digest('base64') },
    });
    const trustedRoot: TrustedRootJson = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [logEntry(MOCK_REKOR_URL, tlog.publicKey)],
      certificateAuthorities: [
        {
          subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
          uri: MOCK_FULCIO_URL,
          certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer, ca.rootCertificate.byteOffset, ca.rootCertificate.byteLength).toString('base64') }] },
          validFor: { start },
        },
      ],
      ctlogs: [logEntry(MOCK_CTLOG_URL, ctlog.publicKey)],
      timestampAuthorities: [],
    };

    const npmSpki = npmKeys.publicKey.export({ format: 'der', type: 'spki' });
    const keyId = npmKeyId(npmSpki);
    const validFor = {
      start: (options.npmKeyValidFor?.start ?? new Date(Date.now() - 60 * 60 * 1000)).toISOString(),
      ...(options.npmKeyValidFor?.end ? { end: options.npmKeyValidFor.end.toISOString() } : {}),
    };
    const npmKeysJson: NpmKeysJson = {
      keys: ['npm:signatures', 'npm:attestations'].map((keyUsage) => ({
        keyId,
        keyUsage,
        publicKey: { rawBytes: npmSpki.toString('base64'), keyDetails: KEY_DETAILS, validFor },
      })),
    };
    const npmPublicKeyPem = npmKeys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    return new MockSigstore(options, ca, tlog, npmKeys.privateKey, npmPublicKeyPem, trustedRoot, npmKeysJson, keyId);
  }

  /** Both halves together, in the shape src/trust's TrustMaterialInput takes. */
  trustMaterial(): { trustedRoot: TrustedRootJson; npmKeys: NpmKeysJson; origin: string } {
    return { trustedRoot: this.trustedRoot, npmKeys: this.npmKeys, origin: 'mock-sigstore' };
  }

  /** Signs `payload` as a DSSE envelope, logs it in the mock Rekor (`intoto` 0.0.2, SET + inclusion proof + checkpoint). */
  private async bundle(payload: Buffer, key: { privateKey: KeyObject; certificateDer?: Buffer; publicKeyPem: string; hint?: string }, bundleVersion: '0.2' | '0.3'): Promise<Bundle> {
    const signature = cryptoSign('sha256', dsse.preAuthEncoding(PAYLOAD_TYPE, payload), key.privateKey);
    const bundle = toDSSEBundle({
      artifact: payload,
      artifactType: PAYLOAD_TYPE,
      signature,
      certificate: key.certificateDer,
      keyHint: key.hint,
      certificateChain: bundleVersion === '0.2',
    });
    const proposed = toProposedEntry(bundle.content, key.publicKeyPem, 'intoto');
    bundle.verificationMaterial.tlogEntries = [toTransparencyLogEntry(await this.tlog.log(proposed))];
    return bundle;
  }

  /** A provenance bundle: ephemeral P-256 key, mock Fulcio certificate with the identity's claims (and an SCT). */
  async signProvenance(payload: Buffer, identity: SigningIdentity, bundleVersion: '0.2' | '0.3' = '0.2'): Promise<Record<string, unknown>> {
    const { privateKey, certificateDer } = await this.signingCertificate(identity);
    const bundle = await this.bundle(payload, { privateKey, certificateDer, publicKeyPem: pem.fromDER(certificateDer, 'CERTIFICATE') }, bundleVersion);
    return bundleToJSON(bundle) as unknown as Record<string, unknown>;
  }

  private signingCertificate(identity: SigningIdentity): Promise<IssuedCertificate> {
    if (!this.options.reuseCertificates) return this.issueCertificate(identity);
    const cacheKey = JSON.stringify(identity);
    const cached = this.certificates.get(cacheKey);
    if (cached && Date.now() - cached.issuedAt < 5 * 60 * 1000) return cached.issued;
    // Cache the promise: concurrent signings of one identity share one certificate.
    const issued = this.issueCertificate(identity);
    this.certificates.set(cacheKey, { issued, issuedAt: Date.now() });
    return issued;
  }

  private async issueCertificate(identity: SigningIdentity): Promise<IssuedCertificate> {
    const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const certificate = await this.ca.issueCertificate({
      publicKey: ephemeral.publicKey.export({ format: 'der', type: 'spki' }),
      subjectAltName: identity.san,
      extensions: identityExtensions(identity),
    });
    return { privateKey: ephemeral.privateKey, certificateDer: Buffer.from(certificate.buffer, certificate.byteOffset, certificate.byteLength) };
  }

  /** An npm publish attestation bundle signed with the mock npm key (keyid in `publicKey.hint`). */
  async signPublish(payload: Buffer): Promise<Record<string, unknown>> {
    const bundle = await this.bundle(payload, { privateKey: this.npmPrivateKey, publicKeyPem: this.npmPublicKeyPem, hint: this.npmKeyId }, '0.2');
    return bundleToJSON(bundle) as unknown as Record<string, unknown>;
  }

  /** The npm attestations document the registry would serve for this package version. */
  async signPackage(options: SignPackageOptions): Promise<AttestationsDocument> {
    const digest = options.sha512Hex ?? (options.tarball ? sha512Hex(options.tarball) : undefined);
    if (!digest) throw new Error('signPackage needs tarball or sha512Hex');
    const subject = options.subjects ?? [{ name: options.subjectName ?? npmPurl(options.name, options.version), digest: { sha512: digest } }];
    const attestations: AttestationsDocument['attestations'] = [];
    if (options.provenance ?? true) {
      if (!options.identity) throw new Error(`signPackage ${options.name}@${options.version}: provenance needs an identity`);
      const payload = statement('https://in-toto.io/Statement/v1', subject, PREDICATE_SLSA_V1, provenancePredicate(options.identity));
      attestations.push({ predicateType: PREDICATE_SLSA_V1, bundle: await this.signProvenance(payload, options.identity, options.bundleVersion) });
    }
    if (options.publish ?? true) {
      const payload = statement('https://in-toto.io/Statement/v0.1', subject, PREDICATE_NPM_PUBLISH, {
        name: options.name,
        version: options.version,
        registry: 'https://registry.npmjs.org',
      });
      attestations.push({ predicateType: PREDICATE_NPM_PUBLISH, bundle: await this.signPublish(payload) });
    }
    return { attestations };
  }

  /** A registry signature (`dist.signatures` entry) over `${name}@${version}:${integrity}`. */
  registrySignature(name: string, version: string, integrity: string): { keyid: string; sig: string } {
    const sig = cryptoSign('sha256', Buffer.from(`${name}@${version}:${integrity}`), this.npmPrivateKey).toString('base64');
    return { keyid: this.npmKeyId, sig };
  }

  /** The npm public key (for tests that check a signature directly). */
  npmPublicKey(): KeyObject {
    return createPublicKey(this.npmPublicKeyPem);
  }
}

/** Combines trusted roots: every CA, log and TSA of both (so production fixtures and mock packages verify together). */
export function mergeTrustedRoots(a: TrustedRootJson | Record<string, unknown>, b: TrustedRootJson | Record<string, unknown>): TrustedRootJson {
  const list = (root: Record<string, unknown>, key: string) => (Array.isArray(root[key]) ? (root[key] as Record<string, unknown>[]) : []);
  return {
    ...(a as Record<string, unknown>),
    mediaType: (a.mediaType as string) ?? 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [...list(a, 'tlogs'), ...list(b, 'tlogs')],
    certificateAuthorities: [...list(a, 'certificateAuthorities'), ...list(b, 'certificateAuthorities')],
    ctlogs: [...list(a, 'ctlogs'), ...list(b, 'ctlogs')],
    timestampAuthorities: [...list(a, 'timestampAuthorities'), ...list(b, 'timestampAuthorities')],
  };
}

export function mergeNpmKeys(a: { keys: unknown[] }, b: { keys: unknown[] }): NpmKeysJson {
  return { keys: [...a.keys, ...b.keys] as NpmKeysJson['keys'] };
}

/** Merges two trust materials (`{trustedRoot, npmKeys, origin?}`), e.g. production + mock. */
export function mergeTrustMaterial(
  a: { trustedRoot: unknown; npmKeys: unknown; origin?: string },
  b: { trustedRoot: unknown; npmKeys: unknown; origin?: string },
): { trustedRoot: TrustedRootJson; npmKeys: NpmKeysJson; origin: string } {
  return {
    trustedRoot: mergeTrustedRoots(a.trustedRoot as Record<string, unknown>, b.trustedRoot as Record<string, unknown>),
    npmKeys: mergeNpmKeys(a.npmKeys as { keys: unknown[] }, b.npmKeys as { keys: unknown[] }),
    origin: `${a.origin ?? 'a'}+${b.origin ?? 'b'}`,
  };
}
