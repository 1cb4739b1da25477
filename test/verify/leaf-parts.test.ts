/**
 * The parts of the leaf the chain step reads without re-encoding or a second
 * parse: the TBS and key bytes as carried (der.ts encodingOf), the key
 * imported from its coordinates (public-key.ts), the Fulcio claims found by
 * OID bytes (identity.ts). Each must equal what the library's own way gives.
 */
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { encodingOf, parseCertificate } from '../../src/verify/der';
import { signerIdentity } from '../../src/verify/identity';
import { importPublicKey } from '../../src/verify/public-key';
import { attestationsOf, NPM_PACKAGES } from '../../testkit/verify-fixtures';

const leaves: Buffer[] = NPM_PACKAGES.flatMap((pkg) =>
  attestationsOf(pkg)
    .attestations.map((entry: any) => entry.bundle.verificationMaterial)
    .filter((material: any) => !material.publicKey)
    .map((material: any) => Buffer.from(material.certificate?.rawBytes ?? material.x509CertificateChain.certificates[0].rawBytes, 'base64')),
);

const spkiOf = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }) as Buffer;

describe('encodingOf: elements as carried', () => {
  it('has real leaves to check', () => expect(leaves.length).toBeGreaterThanOrEqual(5));

  it("gives the library's re-encoding of the TBS and the key, as views of the parsed bytes", () => {
    for (const der of leaves) {
      const certificate = parseCertificate(der);
      const tbs = encodingOf(certificate, certificate.root, 0);
      expect(tbs.equals(certificate.tbsCertificate.toDER())).toBe(true);
      expect(encodingOf(certificate, certificate.tbsCertificate, 6).equals(Buffer.from(certificate.publicKey))).toBe(true);
      // Every element of the TBS, not only the two read.
      certificate.tbsCertificate.subs.forEach((sub, index) => expect(encodingOf(certificate, certificate.tbsCertificate, index).equals(sub.toDER())).toBe(true));
      expect(der.includes(tbs)).toBe(true);
    }
  });

  it("re-encodes a tree der.ts did not build (the library's parser copies every value)", () => {
    const certificate = X509Certificate.parse(leaves[0] as Buffer<ArrayBuffer>);
    expect(encodingOf(certificate, certificate.root, 0).equals(certificate.tbsCertificate.toDER())).toBe(true);
  });
});

describe('importPublicKey', () => {
  for (const namedCurve of ['P-256', 'P-384']) {
    it(`imports an uncompressed ${namedCurve} key from its coordinates as the same key`, () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve });
      const imported = importPublicKey(spkiOf(publicKey));
      expect(spkiOf(imported).equals(spkiOf(publicKey))).toBe(true);
      const signature = sign(null, Buffer.from('message'), privateKey);
      expect(verify(null, Buffer.from('message'), imported, signature)).toBe(true);
      expect(verify(null, Buffer.from('another'), imported, signature)).toBe(false);
    });
  }

  it('imports every real leaf key as the DER import does', () => {
    for (const der of leaves) {
      const spki = Buffer.from(parseCertificate(der).publicKey);
      expect(spkiOf(importPublicKey(spki)).equals(spkiOf(createPublicKey({ key: spki, format: 'der', type: 'spki' })))).toBe(true);
    }
  });

  it('refuses a point that is not on the curve', () => {
    const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const offCurve = Buffer.from(spki);
    offCurve[offCurve.length - 1] ^= 0x01;
    expect(() => importPublicKey(offCurve)).toThrow();
    expect(() => createPublicKey({ key: offCurve, format: 'der', type: 'spki' })).toThrow();
  });

  it('imports other keys through DER unchanged: a compressed point, RSA, Ed25519', () => {
    const compressed = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const jwk = compressed.export({ format: 'jwk' });
    const y = Buffer.from(jwk.y!, 'base64url');
    const spki = spkiOf(compressed);
    const point = Buffer.concat([Buffer.from([0x02 | (y[y.length - 1] & 1)]), Buffer.from(jwk.x!, 'base64url')]);
    // SEQUENCE { AlgorithmIdentifier (as in the uncompressed SPKI), BIT STRING 00 <compressed point> }
    const algorithm = spki.subarray(2, 2 + 2 + spki[3]);
    const bitString = Buffer.concat([Buffer.from([0x03, point.length + 1, 0x00]), point]);
    const compressedSpki = Buffer.concat([Buffer.from([0x30, algorithm.length + bitString.length]), algorithm, bitString]);
    expect(importPublicKey(compressedSpki).export({ format: 'jwk' })).toEqual(jwk);
    for (const type of ['rsa', 'ed25519'] as const) {
      const { publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      expect(spkiOf(importPublicKey(spkiOf(publicKey))).equals(spkiOf(publicKey))).toBe(true);
    }
  });
});

describe('signerIdentity finds the Fulcio extensions by OID bytes', () => {
  /** The claims read through the library's OID strings, as before. */
  function byOidStrings(certificate: X509Certificate): Map<number, string> {
    const values = new Map<number, string>();
    for (const extension of certificate.extensions) {
      const oid = extension.subs[0].toOID();
      if (!oid.startsWith('1.3.6.1.4.1.57264.1.')) continue;
      const arc = Number(oid.slice('1.3.6.1.4.1.57264.1.'.length));
      if (Number.isInteger(arc) && !values.has(arc)) values.set(arc, extension.subs[extension.subs.length - 1].value.toString('hex'));
    }
    return values;
  }

  it('reads the same claims as the OID strings on every real leaf', () => {
    for (const der of leaves) {
      const certificate = parseCertificate(der);
      const identity = signerIdentity(certificate);
      expect(identity.issuer).toMatch(/^https:\/\//);
      const claims = byOidStrings(certificate);
      // The issuer: arc 8 (a DER UTF8String) where the leaf has it, else the v1 arc 1 (raw bytes).
      const issuer = claims.get(8) ? ASN1Obj.parseBuffer(Buffer.from(claims.get(8)!, 'hex') as Buffer<ArrayBuffer>).value : Buffer.from(claims.get(1)!, 'hex');
      expect(issuer.toString('utf8')).toBe(identity.issuer);
      const arc12 = claims.get(12);
      expect(arc12 === undefined ? undefined : ASN1Obj.parseBuffer(Buffer.from(arc12, 'hex') as Buffer<ArrayBuffer>).value.toString('utf8')).toBe(identity.sourceRepositoryUri);
    }
  });

  it('reads a non-minimally encoded Fulcio OID as the library decodes it (1.3.6.1.4.1.57264.1.12)', () => {
    const certificate = parseCertificate(leaves.find((der) => signerIdentity(parseCertificate(der)).sourceRepositoryUri)!);
    const expected = signerIdentity(certificate).sourceRepositoryUri;
    expect(expected).toBeTruthy();
    const extension = certificate.extensions.find((each) => each.subs[0].toOID() === '1.3.6.1.4.1.57264.1.12')!;
    // The arc 12 written as 0x80 0x0c: the same OID to the library's parser, other bytes.
    const oid = extension.subs[0];
    const padded = new ASN1Obj(oid.tag, Buffer.concat([oid.value.subarray(0, -1), Buffer.from([0x80, 0x0c])]), []);
    expect(padded.toOID()).toBe('1.3.6.1.4.1.57264.1.12');
    extension.subs[0] = padded;
    // The other Fulcio extensions moved out of the arc, so that only the padded one can carry the claim.
    for (const other of certificate.extensions) {
      if (other !== extension && other.subs[0].toOID().startsWith('1.3.6.1.4.1.57264.1.')) other.subs[0] = new ASN1Obj(oid.tag, Buffer.from('2a03', 'hex'), []);
    }
    expect(signerIdentity(certificate).sourceRepositoryUri).toBe(expected);
  });
});
