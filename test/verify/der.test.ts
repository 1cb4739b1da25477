/**
 * The fast certificate parser builds @sigstore/core's own tree, to the byte:
 * on real leaves and CA certificates, and on the same bytes mutated (flipped,
 * truncated, extended, lengths rewritten) both parsers agree on the tree or
 * both refuse.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ASN1Obj } from '@sigstore/core';
import { describe, expect, it } from 'vitest';
import { parseCertificate, parseDer } from '../../src/verify/der';
import { embeddedTrustMaterial } from '../../src/trust';
import { int, prng, type Random } from '../../testkit/mutate';
import { attestationsOf, FIXTURES, NPM_PACKAGES, readJson } from '../../testkit/verify-fixtures';

interface Tree {
  tag: number;
  value: string;
  subs: Tree[];
}

const treeOf = (node: ASN1Obj): Tree => ({ tag: node.tag.toDER(), value: node.value.toString('hex'), subs: node.subs.map(treeOf) });

/** The library's verdict: its tree, or that it throws. */
function libraryTree(der: Buffer): Tree | 'refused' {
  try {
    return treeOf(ASN1Obj.parseBuffer(Buffer.from(der) as Buffer<ArrayBuffer>));
  } catch {
    return 'refused';
  }
}

function fastTree(der: Buffer): Tree | 'refused' {
  const root = parseDer(Buffer.from(der));
  return root ? treeOf(root) : 'refused';
}

const leafOf = (material: any): Buffer => Buffer.from(material.certificate?.rawBytes ?? material.x509CertificateChain.certificates[0].rawBytes, 'base64');
const CASES = join(FIXTURES, 'conformance', 'bundle-verify');
const leaves: Buffer[] = [
  ...NPM_PACKAGES.flatMap((pkg) =>
    attestationsOf(pkg)
      .attestations.map((entry: any) => entry.bundle.verificationMaterial)
      .filter((material: any) => !material.publicKey)
      .map(leafOf),
  ),
  ...readdirSync(CASES)
    .filter((name) => !name.endsWith('_fail') && !name.startsWith('managed-key') && !name.endsWith('.txt') && !name.endsWith('.md'))
    .map((name) => leafOf(readJson(CASES, name, 'bundle.sigstore.json').verificationMaterial)),
];
const authorities: Buffer[] = (embeddedTrustMaterial().trustedRoot as any).certificateAuthorities.flatMap((ca: any) =>
  ca.certChain.certificates.map((certificate: any) => Buffer.from(certificate.rawBytes, 'base64')),
);
const certificates = [...leaves, ...authorities];

function mutate(random: Random, der: Buffer): Buffer {
  const copy = Buffer.from(der);
  switch (int(random, 5)) {
    case 0: // a few random bytes
      for (let count = 1 + int(random, 3); count > 0; count--) copy[int(random, copy.length)] = int(random, 256);
      return copy;
    case 1: // a length byte: where a tag is followed by a length, often
      copy[1 + int(random, copy.length - 1)] ^= 0x80;
      return copy;
    case 2:
      return copy.subarray(0, int(random, copy.length));
    case 3: // trailing data
      return Buffer.concat([copy, Buffer.from([int(random, 256)])]);
    default: {
      // A tag byte flipped to OCTET STRING, or an OCTET STRING to something else
      const at = int(random, copy.length);
      copy[at] = copy[at] === 0x04 ? 0x30 : 0x04;
      return copy;
    }
  }
}

describe('fast certificate parser', () => {
  it('has real certificates to compare', () => {
    expect(leaves.length).toBeGreaterThanOrEqual(27);
    expect(authorities.length).toBeGreaterThanOrEqual(2);
  });

  it("builds the library's tree for every real certificate", () => {
    for (const der of certificates) {
      const tree = fastTree(der);
      expect(tree).not.toBe('refused');
      expect(tree).toEqual(libraryTree(der));
    }
  });

  it('agrees with the library on mutated certificates: the same tree, or both refuse', () => {
    const random = prng(20261202);
    let refused = 0;
    for (let round = 0; round < 2000; round++) {
      const der = mutate(random, certificates[int(random, certificates.length)]);
      const expected = libraryTree(der);
      if (expected === 'refused') refused++;
      expect(fastTree(der), `mutated certificate ${der.toString('hex')}`).toEqual(expected);
    }
    // Both outcomes were exercised.
    expect(refused).toBeGreaterThan(200);
    expect(refused).toBeLessThan(1800);
  });

  it('agrees with the library on hand-made encodings at the edges of its rules', () => {
    const cases = [
      '3003020101', // SEQUENCE { INTEGER 1 }
      '308103020101', // non-minimal long-form length
      '30820003020101', // leading zero length byte
      '3080020101', // indefinite length
      '3087000000000000030201', // more than 6 length bytes
      '0403020101', // OCTET STRING holding DER: unwrapped
      '040481020101', // OCTET STRING holding a non-minimal length: opaque
      '0402ffff', // OCTET STRING holding a long-form tag: opaque
      '04020000', // OCTET STRING holding the universal 0 tag: opaque
      '0400', // empty OCTET STRING
      '2403040101', // constructed OCTET STRING
      '1f0100', // long-form tag
      '0000', // universal tag 0
      '3003020102ff', // trailing data
      '300402010105', // a child running past its parent
      '30050201010500', // a child ending before its parent... and a parent too long for the bytes
      '300a04080406020101020101', // OCTET STRING holding SEQUENCE-less DER with a bad inner length
      '8101ff', // context-specific primitive
      'a0030201ff', // context-specific constructed
    ];
    for (const hex of cases) {
      const der = Buffer.from(hex, 'hex');
      expect(fastTree(der), hex).toEqual(libraryTree(der));
    }
  });

  it('refuses what the library refuses, with its own message', () => {
    expect(() => parseCertificate(Buffer.from([0x30, 0x81, 0x05]))).toThrow(/length/);
    expect(() => parseCertificate(Buffer.concat([leaves[0], Buffer.from([0])]))).toThrow(/trailing/);
  });

  it('nests no deeper than the library does', () => {
    const deep = (levels: number): Buffer => {
      let node = Buffer.from([0x05, 0x00]);
      for (let level = 0; level < levels; level++) {
        const length = node.length < 128 ? [node.length] : node.length < 256 ? [0x81, node.length] : [0x82, node.length >> 8, node.length & 0xff];
        node = Buffer.concat([Buffer.from([0x30, ...length]), node]);
      }
      return node;
    };
    expect(fastTree(deep(100))).toEqual(libraryTree(deep(100)));
    expect(fastTree(deep(101))).toBe('refused');
    expect(libraryTree(deep(101))).toBe('refused');
  });
});
