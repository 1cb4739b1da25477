/**
 * The verify stage: an attestation document or a tarball's own bundle against
 * the trust material, for one exact subject; a thrown error is the `failed`
 * outcome, never a pass.
 *
 * Verification on a worker thread, so that the second core verifies bundles
 * while Yarn's main thread downloads and converts tarballs. The worker's code
 * is the plugin's own verification core, embedded in the bundle at build time
 * (`__SIGSTORE_VERIFY_WORKER__`); where it is not (tests running the sources),
 * there is no worker and the caller verifies in-process. A worker that fails
 * fails its pending packages (never a pass), and later ones run in-process.
 */
import { Worker } from 'worker_threads';
import { ErrorCodes, SigstorePluginError, toPluginError } from '../errors';
import type { VerificationOutcome } from '../policy';
import type { TrustContext, TrustMaterialInput } from '../trust';
import type { PackageSubject, PackageVerification } from '../verify/types';

declare const __SIGSTORE_VERIFY_WORKER__: string | undefined;

export interface VerifyRequest {
  id: number;
  /** The document parsed, or its bytes as served (parsed by the worker: src/verify/document.ts accepts both). */
  document: unknown;
  subject: PackageSubject;
}

/** What the verifier needs of a found document: parsed, and the bytes it was parsed from when there are some. */
export interface DocumentInput {
  document: unknown;
  bytes?: Buffer;
}

export type VerifyReply =
  | { id: number; result: PackageVerification }
  | { id: number; error: { coded: boolean; code?: string; message: string; subject?: string; details?: Record<string, unknown> } };

interface Pending {
  /** `name@version`, for errors the worker could not code. */
  label: string;
  resolve: (result: PackageVerification) => void;
  reject: (error: SigstorePluginError) => void;
}

export class VerifierThread {
  private worker?: Worker;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly source: string,
    private readonly trust: TrustMaterialInput,
  ) {}

  /** A thread verifier when the bundle carries the worker's code; undefined otherwise. */
  static create(trust: TrustMaterialInput): VerifierThread | undefined {
    const source = typeof __SIGSTORE_VERIFY_WORKER__ === 'string' ? __SIGSTORE_VERIFY_WORKER__ : undefined;
    return source ? new VerifierThread(source, trust) : undefined;
  }

  /** False once the worker failed: the caller then verifies in-process. */
  get usable(): boolean {
    return !this.failed;
  }

  /**
   * `document`: parsed (structured clone copies it, object by object), or the
   * bytes it was parsed from: copied once into a buffer of their own and
   * handed over (transferred, not cloned), for the worker to parse.
   */
  verify(document: unknown, subject: PackageSubject): Promise<PackageVerification> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<PackageVerification>((resolve, reject) => {
      const label = `${subject.name}@${subject.version}`;
      try {
        // Cloning may throw (a document too deep or too large to clone): nothing was sent, so nothing is owed.
        if (document instanceof Uint8Array) {
          // A copy: the served buffer may share its memory (Node's pool), which a transfer would take from this thread.
          const own = new Uint8Array(document);
          worker.postMessage({ id, document: own, subject } satisfies VerifyRequest, [own.buffer]);
        } else {
          worker.postMessage({ id, document, subject } satisfies VerifyRequest);
        }
      } catch (error) {
        reject(new SigstorePluginError(ErrorCodes.INTERNAL, `${label}: the document could not be handed to the verification worker: ${(error as Error).message}`, { subject: label }));
        return;
      }
      this.pending.set(id, { label, resolve, reject });
      // Keep the process alive only while the worker owes an answer.
      if (this.pending.size === 1) worker.ref();
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.source, { eval: true, workerData: { trust: this.trust } });
    worker.on('message', (reply: VerifyReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(`the verification worker failed: ${error.message}`));
    worker.on('exit', (code) => this.fail(`the verification worker exited (code ${code})`));
    worker.unref();
    return (this.worker = worker);
  }

  private settle(reply: VerifyReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('result' in reply) return pending.resolve(reply.result);
    const { coded, code, message, subject, details } = reply.error;
    // Only the worker's own coded errors keep their code; anything else is internal, never a pass.
    pending.reject(
      coded && code
        ? new SigstorePluginError(code as SigstorePluginError['code'], message, { subject, details })
        : new SigstorePluginError(ErrorCodes.INTERNAL, `${pending.label}: ${message}`, { subject: pending.label }),
    );
  }

  private fail(message: string): void {
    this.failed = true;
    this.worker = undefined;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new SigstorePluginError(ErrorCodes.INTERNAL, `${pending.label}: ${message}`, { subject: pending.label }));
    }
  }
}

/** What verifying needs, loaded on first use (plugin load stays cheap). */
export interface VerifierInputs {
  trust: TrustContext;
  /** The material itself, for the worker to prepare its own context from. */
  material: TrustMaterialInput;
  verify: typeof import('../verify').verifyPackageAttestations;
  verifyBundle: typeof import('../verify').verifyBundleForPackage;
}

export class Verifier {
  /** The verification worker: undefined until first needed, null where the bundle carries none. */
  private thread?: VerifierThread | null;

  constructor(private readonly inputs: () => Promise<VerifierInputs>) {}

  /**
   * Verifies an attestation document on the worker thread when there is one
   * (the second core), from the bytes it was served as when there are some
   * (they passed the same size and depth limits as the parsed document); else in-process.
   */
  async document({ document, bytes }: DocumentInput, subject: PackageSubject): Promise<VerificationOutcome> {
    const { trust, material, verify } = await this.inputs();
    const label = `${subject.name}@${subject.version}`;
    if (this.thread === undefined) this.thread = VerifierThread.create(material) ?? null;
    if (!this.thread?.usable) return attempt(label, () => verify(document, subject, trust));
    try {
      return { status: 'verified', result: await this.thread.verify(bytes ?? document, subject) };
    } catch (error) {
      return { status: 'failed', error: toPluginError(error, label) };
    }
  }

  /** Verifies a tarball's own bundle (`<url>.sigstore.json`), its subject the tarball's name, version and sha512. */
  async bundle(bundle: unknown, subject: PackageSubject): Promise<VerificationOutcome> {
    const { trust, verifyBundle } = await this.inputs();
    return attempt(`${subject.name}@${subject.version}`, () => {
      const attestation = verifyBundle(bundle, subject, trust);
      return attestation.kind === 'provenance' ? { subject, provenance: attestation, provenanceCount: 1 } : { subject, provenanceCount: 0, publish: attestation };
    });
  }
}

/** Runs a verification; a thrown error is the `failed` outcome. */
function attempt(subject: string, verify: () => PackageVerification): VerificationOutcome {
  try {
    return { status: 'verified', result: verify() };
  } catch (error) {
    return { status: 'failed', error: toPluginError(error, subject) };
  }
}
