/**
 * The verification worker's entry (bundled on its own by scripts/build-plugin.ts
 * and embedded in the plugin as a string): verifies attestation documents
 * against the trust material it was started with, off Yarn's main thread,
 * parsing each from the bytes it was served as (document-verification.ts).
 * Knows nothing of Yarn; answers every request, with a result or a coded error.
 */
import { workerData } from 'worker_threads';
import { createTrustContext, type TrustMaterialInput } from '../trust';
import { verifyPackageAttestations } from '../verify';
import { verifyDocument, type DocumentRequest } from './document-verification';
import { serve } from './worker-serve';

const trust = createTrustContext((workerData as { trust: TrustMaterialInput }).trust);

// serve() turns stack traces off, which matters here: @sigstore/core's ASN.1 parser throws (and catches)
// an error for every OCTET STRING that is not nested DER (~6% of the worker's time).
serve((request: DocumentRequest) => verifyDocument(request, trust, verifyPackageAttestations));
