/**
 * A SubjectPublicKeyInfo imported as a KeyObject. OpenSSL 3's DER decoder
 * costs ~0.22 ms for a P-256 key, as much as two signature checks; the same
 * uncompressed EC point imported through its JWK coordinates costs half, with
 * the same check that the point is on the curve. Every other key (compressed
 * points, other curves, RSA, Ed25519) goes through the DER import unchanged.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

interface EcShape {
  /** The SPKI's DER up to and including the BIT STRING's unused-bits byte and the 0x04 of an uncompressed point. */
  prefix: Buffer;
  crv: 'P-256' | 'P-384';
  coordinateLength: number;
}

const EC_SHAPES: readonly EcShape[] = [
  // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 00 04 X Y }
  { prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'), crv: 'P-256', coordinateLength: 32 },
  // SEQUENCE { SEQUENCE { id-ecPublicKey, secp384r1 }, BIT STRING 00 04 X Y }
  { prefix: Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex'), crv: 'P-384', coordinateLength: 48 },
];

/** Throws like createPublicKey when the key does not import. */
export function importPublicKey(spki: Buffer): KeyObject {
  for (const { prefix, crv, coordinateLength } of EC_SHAPES) {
    if (spki.length !== prefix.length + 2 * coordinateLength || !spki.subarray(0, prefix.length).equals(prefix)) continue;
    const x = spki.subarray(prefix.length, prefix.length + coordinateLength);
    const y = spki.subarray(prefix.length + coordinateLength);
    return createPublicKey({ key: { kty: 'EC', crv, x: x.toString('base64url'), y: y.toString('base64url') }, format: 'jwk' });
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
