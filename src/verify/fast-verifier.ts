/**
 * @sigstore/verify's Verifier with one step replaced: the certificate chain
 * (see chain.ts). Timestamps, transparency log, signature and managed keys
 * stay the library's own code, in the library's order.
 */
import type { X509Certificate } from '@sigstore/core';
import { Verifier, VerificationError, type SignedEntity, type Signer, type TrustMaterial } from '@sigstore/verify';
import { isDeepStrictEqual } from 'node:util';
import { verifyLeafCertificate } from './chain';

type VerifySigningKey = (entity: Pick<SignedEntity, 'key'>, timestamps: Date[]) => Signer;

export class FastChainVerifier extends Verifier {
  constructor(
    private readonly material: TrustMaterial,
    /** The leaf certificate's bytes exactly as the bundle carries them. */
    private readonly leafDer: Uint8Array | undefined,
  ) {
    super(material);
  }

  verifyCertificateSigner(certificate: X509Certificate, timestamps: Date[]): Signer {
    if (!this.leafDer) throw new VerificationError({ code: 'CERTIFICATE_ERROR', message: 'signing certificate bytes missing' });
    const { scts, leafKey } = verifyLeafCertificate(certificate, this.leafDer, timestamps, this.material);
    // Same threshold rules as the library: at least one SCT, no duplicates.
    if (scts.some((sct, index) => scts.slice(index + 1).some((other) => isDeepStrictEqual(sct, other)))) {
      throw new VerificationError({ code: 'CERTIFICATE_ERROR', message: 'duplicate SCT' });
    }
    if (scts.length < 1) throw new VerificationError({ code: 'CERTIFICATE_ERROR', message: `expected 1 SCTs, got ${scts.length}` });
    // The identity is read by our own step (identity.ts); the library needs only the key.
    return { key: leafKey, identity: undefined };
  }
}

// `verifySigningKey` is private in the library's typings; replace it for certificates only.
const libraryVerifySigningKey = (Verifier.prototype as unknown as { verifySigningKey: VerifySigningKey }).verifySigningKey;
Object.defineProperty(FastChainVerifier.prototype, 'verifySigningKey', {
  value: function verifySigningKey(this: FastChainVerifier, entity: Pick<SignedEntity, 'key'>, timestamps: Date[]): Signer {
    if (entity.key.$case === 'certificate') return this.verifyCertificateSigner(entity.key.certificate, timestamps);
    return libraryVerifySigningKey.call(this, entity, timestamps);
  },
});
