/**
 * Forged or damaged Sigstore bundles, and genuine bundles from the wrong
 * signer, served by the registry for a package whose bytes are untouched.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { FIXTURES_DIR, emailIdentityBundles, productionTrustedRoot } from '../../testkit/fixtures';
import { MockSigstore, githubIdentity, gitlabIdentity, type AttestationsDocument, type SigningIdentity } from '../../testkit/signer';
import { buildPackageTarball, withPostinstallMarker } from '../../testkit/tarball';
import { cloneDocument, writeTrustFiles, expectInstalled, expectRefused, policyOf, projectFor, provenanceBundle, provenanceRule, publishSigned, repositoryOf, startAttackKit, type AttackKit } from '../../testkit/attack-harness';

let kit: AttackKit;
beforeAll(async () => {
  kit = await startAttackKit();
});
afterAll(async () => kit?.close());

/** Publishes a signed package, then serves its attestations after `mutate` changed the provenance bundle. */
async function stageMutated(name: string, mutate: (bundle: any, document: AttestationsDocument) => void | Promise<void>) {
  const staged = await publishSigned(kit, { name, version: '1.0.0' });
  const document = cloneDocument(staged.attestations);
  await mutate(provenanceBundle(document), document);
  kit.registry.setAttestations(name, '1.0.0', document);
  return staged;
}

async function refusedWith(name: string, codes: string | string[], mutate: Parameters<typeof stageMutated>[1]) {
  const staged = await stageMutated(name, mutate);
  const p = await projectFor(kit, staged);
  expectRefused(p, await p.install(), codes);
}

const decodePayload = (bundle: any) => JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
const encodePayload = (statement: unknown) => Buffer.from(JSON.stringify(statement)).toString('base64');
const flipBase64 = (value: string, at = 12) => {
  const bytes = Buffer.from(value, 'base64');
  bytes[at % bytes.length] ^= 0x01;
  return bytes.toString('base64');
};

/** The checkpoint note re-signed by a fresh key that keeps the log's name and key hint. */
function resignCheckpoint(envelope: string): string {
  const [body, signatures] = envelope.split('\n\n');
  const [, origin, signature] = /^\u2014 (\S+) (\S+)$/m.exec(signatures)!;
  const hint = Buffer.from(signature, 'base64').subarray(0, 4);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const forged = sign('sha256', Buffer.from(`${body}\n`), privateKey);
  return `${body}\n\n\u2014 ${origin} ${Buffer.concat([hint, forged]).toString('base64')}\n`;
}

const tlogEntry = (bundle: any) => bundle.verificationMaterial.tlogEntries[0];

/** Trust files for one case (under the kit's folder, removed with it). */
const writeTrust = (trustedRoot: Record<string, unknown>, signer: MockSigstore) => writeTrustFiles(mkdtempSync(join(kit.trustDir, 'case-')), trustedRoot, signer);

describe.concurrent('bundle attacks', () => {
  it('control: the untouched mock-signed bundle verifies and the package installs', async () => {
    const staged = await stageMutated('bn-control', () => {});
    const p = await projectFor(kit, staged);
    expectInstalled(p, await p.install(), staged.name, staged.version);
  });

  it('DSSE payload altered (builder id rewritten, signature kept)', () =>
    refusedWith('bn-payload', 'TLOG_ENTRY_MISMATCH', (bundle) => {
      const statement = decodePayload(bundle);
      statement.predicate.runDetails = { builder: { id: 'https://evil.example/builder' } };
      bundle.dsseEnvelope.payload = encodePayload(statement);
    }));

  it('DSSE signature taken from another bundle', async () => {
    const other = await publishSigned(kit, { name: 'bn-sig-donor', version: '1.0.0' }, { identity: githubIdentity({ repository: repositoryOf('bn-sig') }) });
    await refusedWith('bn-sig', 'TLOG_ENTRY_MISMATCH', (bundle) => {
      bundle.dsseEnvelope.signatures = provenanceBundle(other.attestations).dsseEnvelope.signatures;
    });
  });

  it('certificate taken from another bundle', async () => {
    const other = await publishSigned(kit, { name: 'bn-cert-donor', version: '1.0.0' }, { identity: githubIdentity({ repository: repositoryOf('bn-cert') }) });
    await refusedWith('bn-cert', 'SIGNATURE', (bundle) => {
      bundle.verificationMaterial.x509CertificateChain = provenanceBundle(other.attestations).verificationMaterial.x509CertificateChain;
    });
  });

  it('a chain to a CA (and log) the trusted root does not list', async () => {
    const rogue = await MockSigstore.create();
    const staged = await publishSigned(kit, { name: 'bn-rogue-ca', version: '1.0.0' }, { signer: rogue });
    const p = await projectFor(kit, staged);
    expectRefused(p, await p.install(), 'CERTIFICATE_CHAIN');
  });

  it('a certificate outside its validity at the log time (conformance: intoto-set-outside-signing-cert-validity)', async () => {
    const caseDir = join(FIXTURES_DIR, 'conformance/bundle-verify/intoto-set-outside-signing-cert-validity_fail');
    const caseRoot = JSON.parse(readFileSync(join(caseDir, 'trusted_root.json'), 'utf8'));
    const trustFiles = writeTrust(caseRoot, kit.mock);
    const staged = await stageMutated('bn-cert-validity', (_bundle, document) => {
      document.attestations[0].bundle = JSON.parse(readFileSync(join(caseDir, 'bundle.sigstore.json'), 'utf8'));
    });
    const p = await projectFor(kit, staged, trustFiles);
    expectRefused(p, await p.install(), 'CERTIFICATE_CHAIN');
  });

  it('an integrated time in the future (signer and log clock a day ahead)', async () => {
    const future = await MockSigstore.create({ clock: new Date(Date.now() + 24 * 3600 * 1000) });
    const trustFiles = writeTrust(productionTrustedRoot(), future);
    const staged = await publishSigned(kit, { name: 'bn-future', version: '1.0.0' }, { signer: future });
    const p = await projectFor(kit, staged, trustFiles);
    expectRefused(p, await p.install(), 'TIMESTAMP');
  });

  it('a corrupted inclusion proof (a hash added to a one-leaf proof)', () =>
    refusedWith('bn-proof', 'TLOG_INCLUSION_PROOF', (bundle) => {
      tlogEntry(bundle).inclusionProof.hashes = [Buffer.alloc(32, 7).toString('base64')];
    }));

  it('an inclusion proof whose root hash was altered', () =>
    refusedWith('bn-root', 'TLOG_INCLUSION_PROOF', (bundle) => {
      tlogEntry(bundle).inclusionProof.rootHash = flipBase64(tlogEntry(bundle).inclusionProof.rootHash);
    }));

  it('a checkpoint signed by an unknown key (log name and key hint kept)', () =>
    refusedWith('bn-checkpoint', 'TLOG_CHECKPOINT', (bundle) => {
      const proof = tlogEntry(bundle).inclusionProof;
      proof.checkpoint.envelope = resignCheckpoint(proof.checkpoint.envelope);
    }));

  it('an invalid SET (one bit of the signed entry timestamp flipped)', () =>
    refusedWith('bn-set', 'TLOG_SET', (bundle) => {
      tlogEntry(bundle).inclusionPromise.signedEntryTimestamp = flipBase64(tlogEntry(bundle).inclusionPromise.signedEntryTimestamp, 40);
    }));

  it('an altered log index', () =>
    refusedWith('bn-logindex', 'TLOG_SET', (bundle) => {
      tlogEntry(bundle).logIndex = String(Number(tlogEntry(bundle).logIndex) + 1);
    }));

  it('an altered integrated time (an hour earlier: before the certificate)', () =>
    refusedWith('bn-time', 'CERTIFICATE_CHAIN', (bundle) => {
      tlogEntry(bundle).integratedTime = String(Number(tlogEntry(bundle).integratedTime) - 3600);
    }));

  it('an altered integrated time (a second later: inside the certificate validity)', () =>
    refusedWith('bn-time-set', 'TLOG_SET', (bundle) => {
      tlogEntry(bundle).integratedTime = String(Number(tlogEntry(bundle).integratedTime) + 1);
    }));

  it('an unknown bundle media type', () =>
    refusedWith('bn-mediatype', 'BUNDLE_MEDIA_TYPE_UNKNOWN', (bundle) => {
      bundle.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=9.9';
    }));

  it('no transparency log entry', () =>
    refusedWith('bn-notlog', 'TIMESTAMP', (bundle) => {
      bundle.verificationMaterial.tlogEntries = [];
    }));

  it('the provenance bundle dropped, only the publish attestation left', () =>
    refusedWith('bn-publish-only', 'POLICY_DENIED', (_bundle, document) => {
      document.attestations = document.attestations.filter((entry) => entry.predicateType !== 'https://slsa.dev/provenance/v1');
    }));

  it('the registry labels a publish attestation as provenance', () =>
    refusedWith('bn-label', 'PREDICATE_TYPE_MISMATCH', (_bundle, document) => {
      document.attestations[1].predicateType = 'https://slsa.dev/provenance/v1';
    }));
});

describe.concurrent('identity attacks', () => {
  /** A package signed by `identity` under a rule that asks for its legitimate repository plus `rule` keys. */
  async function signedBy(name: string, identity: SigningIdentity, rule: Record<string, string> = {}) {
    const staged = await publishSigned(kit, { name, version: '1.0.0' }, { identity });
    const p = await projectFor(kit, staged, { policy: policyOf([provenanceRule(name, rule)]) });
    const result = await p.install();
    return { p, result };
  }
  const legit = (name: string, options: Partial<Parameters<typeof githubIdentity>[0]> = {}) => githubIdentity({ repository: repositoryOf(name), ...options });

  it('control: the legitimate identity passes every pinned claim', async () => {
    const rule = { repositoryId: '100000001', ownerId: '200000002', runner: 'github-hosted', ref: 'refs/tags/*' };
    const { p, result } = await signedBy('id-control', legit('id-control'), rule);
    expectInstalled(p, result, 'id-control', '1.0.0');
  });

  it('valid provenance from another repository', async () => {
    const { p, result } = await signedBy('id-other-repo', githubIdentity({ repository: 'acme/something-else' }));
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('a fork: the same repository name under another owner', async () => {
    const { p, result } = await signedBy('id-fork', githubIdentity({ repository: 'evil-fork/id-fork', ownerId: '999' }));
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('the same repository name with another repository id (renamed or transferred)', async () => {
    const { p, result } = await signedBy('id-repo-id', legit('id-repo-id', { repositoryId: '666' }), { repositoryId: '100000001' });
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('a self-hosted runner where github-hosted is required', async () => {
    const { p, result } = await signedBy('id-runner', legit('id-runner', { runner: 'self-hosted' }), { runner: 'github-hosted' });
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('another workflow of the right repository', async () => {
    const { p, result } = await signedBy('id-workflow', legit('id-workflow', { workflow: '.github/workflows/pr-preview.yml' }));
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('a branch ref where tags are required', async () => {
    const { p, result } = await signedBy('id-ref', legit('id-ref', { ref: 'refs/heads/main' }), { ref: 'refs/tags/*' });
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it('a GitLab identity where the GitHub issuer is required', async () => {
    const { p, result } = await signedBy('id-gitlab', gitlabIdentity({ project: repositoryOf('id-gitlab') }));
    expectRefused(p, result, 'POLICY_DENIED');
  });

  it("a person's e-mail identity (real production bundle) instead of a workflow", async () => {
    const [email] = [...emailIdentityBundles().values()];
    const name = 'sigstore';
    const tarball = buildPackageTarball(withPostinstallMarker({ name, version: '1.0.0' }));
    kit.registry.addVersion({ name, version: '1.0.0', tarball, attestations: { attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', bundle: email as Record<string, unknown> }] } });
    const p = await projectFor(kit, { name, version: '1.0.0' });
    expectRefused(p, await p.install(), 'SIGNER_KIND');
  });
});
