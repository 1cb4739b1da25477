/**
 * Verification core. Knows nothing of Yarn: bytes and documents in, verified
 * facts or a coded SigstorePluginError out.
 */
export * from './types';
export { verifyBundleForPackage } from './attestation';
export { verifyPackageAttestations } from './document';
export { signerIdentity } from './identity';
export { npmPurl } from './statement';
