/**
 * The verification worker's entry (bundled on its own by scripts/build-plugin.ts
 * and embedded in the plugin as a string): verifies attestation documents
 * against the trust material it was started with, off Yarn's main thread.
 * Knows nothing of Yarn; answers every request, with a result or a coded error.
 */
import { parentPort, workerData } from 'worker_threads';
import { createTrustContext, type TrustMaterialInput } from '../trust';
import { verifyPackageAttestations, type PackageSubject } from '../verify';
import type { VerifyReply, VerifyRequest } from './verify';

// No stack traces in this thread: replies carry code and message only, and @sigstore/core's ASN.1 parser
// throws (and catches) an error for every OCTET STRING that is not nested DER (~6% of the worker's time).
Error.stackTraceLimit = 0;

const trust = createTrustContext((workerData as { trust: TrustMaterialInput }).trust);

parentPort!.on('message', ({ id, document, subject }: VerifyRequest) => {
  let reply: VerifyReply;
  try {
    reply = { id, result: verifyPackageAttestations(document, subject as PackageSubject, trust) };
  } catch (error) {
    const coded = error as { name?: string; code?: string; message?: string; subject?: string; details?: Record<string, unknown> };
    reply = { id, error: { coded: coded?.name === 'SigstorePluginError', code: coded?.code, message: String(coded?.message ?? error), subject: coded?.subject, details: coded?.details } };
  }
  try {
    parentPort!.postMessage(reply);
  } catch (error) {
    // A reply that cannot be cloned must still answer: the main thread waits for every id.
    parentPort!.postMessage({ id, error: { coded: false, message: `the verification result could not be returned: ${String((error as Error)?.message ?? error)}` } } satisfies VerifyReply);
  }
});
