/**
 * The fast chain step must decide exactly like the stock @sigstore/verify
 * Verifier: same accept/reject on every conformance case, every real npm
 * bundle, and on certificates altered byte by byte.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { crypto as sigstoreCrypto } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type TrustMaterial } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { verifySignedBundle } from '../../src/verify/signed-bundle';
import { attestationsOf, FIXTURES, NPM_PACKAGES, readJson } from '../../testkit/verify-fixtures';

const CASES = join(FIXTURES, 'conformance', 'bundle-verify');
const productionRoot = readJson(FIXTURES, 'sigstore', 'trusted_root.production.json');
// Publish attestations are checked with npm's keys (validity windows are the core's own step, tested elsewhere).
const npmKeys = (hint: string) => {
  const key = readJson(FIXTURES, 'sigstore', 'npm_registry_keys.json').keys.find((entry: any) => entry.keyId === hint && entry.keyUsage === 'npm:attestations');
  if (!key) throw new Error(`unknown key ${hint}`);
  return { publicKey: sigstoreCrypto.createPublicKey(key.publicKey.rawBytes), validFor: () => true };
};

function outcome(verify: () => unknown): string {
  try {
    verify();
    return 'accepted';
  } catch {
    return 'rejected';
  }
}

/** Both verifiers on fresh parses of the same JSON (the fast path must not depend on shared state). */
function bothOutcomes(json: unknown, material: () => TrustMaterial, artifact?: Buffer): [string, string] {
  const stock = outcome(() => new Verifier(material()).verify(toSignedEntity(bundleFromJSON(json), artifact)));
  const fast = outcome(() => verifySignedBundle(bundleFromJSON(json) as Bundle, material(), artifact));
  return [stock, fast];
}

function conformanceCase(name: string) {
  const dir = join(CASES, name);
  const root = existsSync(join(dir, 'trusted_root.json')) ? readJson(dir, 'trusted_root.json') : productionRoot;
  const keyPath = join(dir, 'key.pub');
  const keys = existsSync(keyPath) ? () => ({ publicKey: sigstoreCrypto.createPublicKey(readFileSync(keyPath, 'utf8')), validFor: () => true }) : undefined;
  const artifact = readFileSync(existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(CASES, 'a.txt'));
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8'));
  } catch {
    json = undefined;
  }
  return { json, material: () => toTrustMaterial(TrustedRoot.fromJSON(root), keys), artifact };
}

describe('fast chain step decides like the stock Verifier', () => {
  const names = readdirSync(CASES, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);

  for (const name of names) {
    it(`conformance case ${name}`, () => {
      const { json, material, artifact } = conformanceCase(name);
      let parsed = true;
      try {
        bundleFromJSON(json);
      } catch {
        parsed = false;
      }
      if (!parsed) return; // shape errors never reach the chain step
      const [stock, fast] = bothOutcomes(json, material, artifact);
      expect(fast).toBe(stock);
    });
  }

  const production = () => toTrustMaterial(TrustedRoot.fromJSON(productionRoot), npmKeys);
  for (const pkg of NPM_PACKAGES) {
    it(`real bundles of ${pkg.name}@${pkg.version}, intact and with the leaf certificate altered`, () => {
      for (const { bundle } of attestationsOf(pkg).attestations) {
        expect(bothOutcomes(bundle, production)).toEqual(['accepted', 'accepted']);
        const certificate = bundle.verificationMaterial.certificate ?? bundle.verificationMaterial.x509CertificateChain?.certificates[0];
        if (!certificate) continue;
        const leaf = Buffer.from(certificate.rawBytes, 'base64');
        // A byte in the SCT list (near the end of the TBS), one in the subject key, one in the signature.
        for (const offset of [leaf.length - 120, Math.floor(leaf.length / 3), leaf.length - 3]) {
          const altered = Buffer.from(leaf);
          altered[offset] ^= 0x01;
          const tampered = structuredClone(bundle);
          (tampered.verificationMaterial.certificate ?? tampered.verificationMaterial.x509CertificateChain.certificates[0]).rawBytes = altered.toString('base64');
          const [stock, fast] = bothOutcomes(tampered, production);
          expect(stock).toBe('rejected');
          expect(fast).toBe('rejected');
        }
      }
    });
  }

  it('keeps verified issuers and their keys per trust material: another root never reuses them', () => {
    const pkg = NPM_PACKAGES.find((entry) => entry.name === 'gundam-visor')!;
    const provenance = attestationsOf(pkg).attestations.find((a: any) => a.bundle.verificationMaterial.certificate ?? a.bundle.verificationMaterial.x509CertificateChain);
    const verifyWith = (root: unknown) => outcome(() => verifySignedBundle(bundleFromJSON(provenance.bundle) as Bundle, toTrustMaterial(TrustedRoot.fromJSON(root), npmKeys)));
    const broken = structuredClone(productionRoot);
    for (const ca of broken.certificateAuthorities) {
      const first = Buffer.from(ca.certChain.certificates[0].rawBytes, 'base64');
      first[first.length - 5] ^= 0x01;
      ca.certChain.certificates[0].rawBytes = first.toString('base64');
    }
    // The same certificates, trusted only before the bundle was signed.
    const expired = structuredClone(productionRoot);
    for (const ca of expired.certificateAuthorities) ca.validFor = { start: '2020-01-01T00:00:00Z', end: '2020-06-01T00:00:00Z' };
    // Good, then the others after the good root's issuers are cached, then good again.
    expect(verifyWith(productionRoot)).toBe('accepted');
    expect(verifyWith(broken)).toBe('rejected');
    expect(verifyWith(expired)).toBe('rejected');
    expect(verifyWith(productionRoot)).toBe('accepted');
  });

  it('rejects real bundles when the trusted Fulcio chain itself is broken', () => {
    const root = structuredClone(productionRoot);
    for (const ca of root.certificateAuthorities) {
      const first = Buffer.from(ca.certChain.certificates[0].rawBytes, 'base64');
      first[first.length - 5] ^= 0x01; // the intermediate's signature by the root
      ca.certChain.certificates[0].rawBytes = first.toString('base64');
    }
    const broken = () => toTrustMaterial(TrustedRoot.fromJSON(root), npmKeys);
    const pkg = NPM_PACKAGES.find((entry) => entry.name === 'gundam-visor')!;
    const provenance = attestationsOf(pkg).attestations.find((a: any) => a.bundle.verificationMaterial.certificate ?? a.bundle.verificationMaterial.x509CertificateChain);
    expect(bothOutcomes(provenance.bundle, broken)).toEqual(['rejected', 'rejected']);
  });
});
