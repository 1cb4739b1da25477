/**
 * The verify stage: an attestation document or a tarball's own bundle against
 * the trust material, for one exact subject; a thrown error is the `failed`
 * outcome, never a pass.
 *
 * Verification on worker threads, so that the cores verify bundles while
 * Yarn's main thread downloads and converts tarballs. The worker's code is the
 * plugin's own verification core, embedded in the bundle at build time
 * (`__SIGSTORE_VERIFY_WORKER__`); where it is not (tests running the sources),
 * there is no worker and the caller verifies in-process. One worker starts
 * with the first document; another joins (up to one per core, at most
 * MAX_WORKERS) while every worker has SPAWN_AT documents waiting: on a cold
 * install of a signed tree the verification is the longest path. A worker that
 * fails fails its pending packages (never a pass); later documents go to the
 * others, or run in-process when none is left.
 */
import { availableParallelism } from 'os';
import { ErrorCodes, SigstorePluginError, toPluginError } from '../errors';
import type { VerificationOutcome } from '../policy';
import type { TrustContext, TrustMaterialInput } from '../trust';
import type { PackageSubject, PackageVerification } from '../verify/types';
import { verifyDocument, type DocumentAnswer, type DocumentRequest } from './document-verification';
import { WorkerThread } from './worker-thread';

declare const __SIGSTORE_VERIFY_WORKER__: string | undefined;

export class VerifierThread extends WorkerThread<DocumentRequest, DocumentAnswer> {
  private constructor(source: string, trust: TrustMaterialInput) {
    super(source, 'the verification worker', { trust });
  }

  /** A thread verifier when the bundle carries the worker's code; undefined otherwise. */
  static create(trust: TrustMaterialInput): VerifierThread | undefined {
    const source = typeof __SIGSTORE_VERIFY_WORKER__ === 'string' ? __SIGSTORE_VERIFY_WORKER__ : undefined;
    return source ? new VerifierThread(source, trust) : undefined;
  }

  /**
   * The document's bytes are copied once into a buffer of their own and
   * handed over (transferred, not cloned), for the worker to parse; a parsed
   * document goes by structured clone.
   */
  verify(request: DocumentRequest): Promise<DocumentAnswer> {
    const label = `${request.name}@${request.version}`;
    if (!(request.document instanceof Uint8Array)) return this.send(label, request);
    // A copy: the caller keeps its bytes, and the served buffer may share its memory (Node's pool), which a transfer would take from this thread.
    const own = new Uint8Array(request.document);
    return this.send(label, { ...request, document: own }, [own.buffer]);
  }
}

/** A document verified for one package: the outcome, the tarball digest it is about, the registry signatures the document carries. */
export interface DocumentVerification {
  /** undefined: the document claims no digest for the package (an early verification, which then stands for no tarball). */
  sha512Hex: string | undefined;
  outcome: VerificationOutcome;
  signatures?: unknown;
}

/** What verifying needs, loaded on first use (plugin load stays cheap). */
export interface VerifierInputs {
  trust: TrustContext;
  /** The material itself, for the worker to prepare its own context from. */
  material: TrustMaterialInput;
  verify: typeof import('../verify').verifyPackageAttestations;
  verifyBundle: typeof import('../verify').verifyBundleForPackage;
}

/** At most this many verification workers, and never more than the machine's cores. */
const MAX_WORKERS = 4;
/** Another worker joins while every running one has at least this many documents waiting. */
const SPAWN_AT = 4;

export class Verifier {
  private readonly threads: VerifierThread[] = [];
  private readonly maxThreads = Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));

  constructor(
    private readonly inputs: () => Promise<VerifierInputs>,
    /** Makes a worker (undefined where the bundle carries none). */
    private readonly createThread: (material: TrustMaterialInput) => VerifierThread | undefined = VerifierThread.create,
  ) {}

  /** The usable worker with the fewest documents waiting; a new one while all are busy and fewer than the limit were started. */
  private pick(material: TrustMaterialInput): VerifierThread | undefined {
    let idlest: VerifierThread | undefined;
    for (const thread of this.threads) if (thread.usable && (idlest === undefined || thread.waiting < idlest.waiting)) idlest = thread;
    if ((idlest === undefined || idlest.waiting >= SPAWN_AT) && this.threads.length < this.maxThreads) {
      const created = this.createThread(material);
      if (created) {
        this.threads.push(created);
        return created;
      }
    }
    return idlest;
  }

  /** How many workers were started (for tests and the bench). */
  get workers(): number {
    return this.threads.length;
  }

  /**
   * Verifies an attestation document on a worker thread when there is one
   * (another core), else in-process; either parses it from the bytes as
   * served. Without `sha512Hex`, for the digest the document claims.
   */
  async document(request: DocumentRequest): Promise<DocumentVerification> {
    const { trust, material, verify } = await this.inputs();
    const label = `${request.name}@${request.version}`;
    const thread = this.pick(material);
    try {
      const answer = thread ? await thread.verify(request) : verifyDocument(request, trust, verify);
      if (answer.result === undefined) {
        const error = new SigstorePluginError(ErrorCodes.SUBJECT_DIGEST_MISMATCH, `${label}: the attestations document names no sha512 for this package`, { subject: label });
        return { sha512Hex: undefined, outcome: { status: 'failed', error }, signatures: answer.signatures };
      }
      return { sha512Hex: answer.sha512Hex, outcome: { status: 'verified', result: answer.result }, signatures: answer.signatures };
    } catch (error) {
      return { sha512Hex: request.sha512Hex, outcome: { status: 'failed', error: toPluginError(error, label) } };
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
