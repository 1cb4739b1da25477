import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { precertificateTbs } from '../../src/verify/precertificate';
import { attestationsOf, FIXTURES, NPM_PACKAGES, readJson } from '../../testkit/verify-fixtures';

function leafOf(bundle: any): Buffer {
  const material = bundle.verificationMaterial;
  return Buffer.from(material.certificate?.rawBytes ?? material.x509CertificateChain.certificates[0].rawBytes, 'base64');
}

/** What @sigstore/verify computes: clone, drop the SCT extension, re-encode the TBS. */
function libraryPrecertificateTbs(leaf: Buffer): Buffer {
  const clone = X509Certificate.parse(leaf as Buffer<ArrayBuffer>).clone();
  const index = clone.extensions.findIndex((extension) => extension.subs[0].toOID() === EXTENSION_OID_SCT);
  expect(index).toBeGreaterThanOrEqual(0);
  clone.extensions.splice(index, 1);
  return clone.tbsCertificate.toDER();
}

const CASES = join(FIXTURES, 'conformance', 'bundle-verify');
const leaves: Array<[string, Buffer]> = [
  ...NPM_PACKAGES.flatMap((pkg) => attestationsOf(pkg).attestations.filter((a: any) => !a.bundle.verificationMaterial.publicKey).map((a: any) => [`${pkg.name}@${pkg.version}`, leafOf(a.bundle)] as [string, Buffer])),
  ...readdirSync(CASES)
    .filter((name) => !name.endsWith('_fail') && !name.startsWith('managed-key') && !name.endsWith('.txt') && !name.endsWith('.md'))
    .map((name) => [name, leafOf(readJson(CASES, name, 'bundle.sigstore.json'))] as [string, Buffer]),
];

describe('precertificate TBS cut from the leaf bytes', () => {
  it('has real leaves to compare', () => {
    expect(leaves.length).toBeGreaterThanOrEqual(27);
  });

  for (const [name, leaf] of leaves) {
    it(`equals the library's re-encoding for ${name}`, () => {
      expect(precertificateTbs(leaf)!.equals(libraryPrecertificateTbs(leaf))).toBe(true);
    });
  }

  it('throws on bytes that are not a certificate, and truncated ones', () => {
    const leaf = leaves[0][1];
    expect(() => precertificateTbs(Buffer.from('not a certificate'))).toThrow();
    expect(() => precertificateTbs(leaf.subarray(0, leaf.length - 40))).toThrow();
  });
});
