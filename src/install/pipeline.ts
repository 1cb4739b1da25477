/**
 * One install's verification pipeline, composed of its stages, data flowing
 * one way: documents (fetched up front, bounded) -> verify (the worker,
 * started early for the digest a document claims) -> bind (results and
 * records tied to exact bytes, through the store) -> judge (policy and pins)
 * -> results (events, summary, evidence). Knows nothing of Yarn: src/yarn/
 * hands it PackageRefs and tarball digests and turns its coded errors into
 * Yarn reports (src/yarn/pipeline-adapter.ts).
 */
import { existsSync } from 'fs';
import { ErrorCodes, SigstorePluginError, type ErrorCode } from '../errors';
import type { SourceDecision, SourceRequest, VerificationOutcome } from '../policy';
// From evaluate, not the policy index: the index pulls the loader into plugin start-up.
import { requiresAttestation } from '../policy/evaluate';
import { parseJsonBody } from '../sources/http';
import { bundleDirectoryFile } from '../sources/places';
import type { TrustContext, TrustMaterialInput } from '../trust';
import type { ResolvedTrust } from '../trust/tuf';
import type { PackageSubject } from '../verify/types';
import { archiveEntry, boundTarball, earlyFits } from './bind';
import { Documents, type DocumentOptions, type DocumentResult, type PackageRef } from './documents';
import { Judge, type PolicyJudge } from './judge';
import type { RegistrySignals } from './registry-signals';
import { Results, VERIFICATION_CACHE_SOURCE, statusOf, unsignedCacheSource, type PackageResult, type Printer } from './results';
import type { ArchiveEntry, Store, UnsignedAnswer } from './store';
import { signaturesOf } from './document-verification';
import { Verifier, type DocumentVerification } from './verify';

const DAY_MS = 86_400_000;

/** The loaded policy as the install uses it (src/yarn/policy-adapter.ts). */
export interface PolicyView extends PolicyJudge {
  /** Which policy applies, for the install's first line (e.g. `sigstore-policy.yml`, `none (zero-config)`). */
  readonly label: string;
  /** Notes to print once per install (mode override applied or refused, policy warnings). */
  readonly notes: string[];
  /** No project's policy can apply (`yarn dlx` outside any project): zero-config, with no policy file to write. */
  readonly outsideProject?: boolean;
  judgeSource(request: SourceRequest): SourceDecision;
}

/** The trust material and where it came from (src/yarn/trust.ts loads it). */
export interface TrustView {
  context: TrustContext;
  /** The material itself, for the verification worker to prepare its own context from. */
  material: TrustMaterialInput;
  /** One line: which root, from where, how old. */
  summary: string;
  source: ResolvedTrust['source'];
  ageDays?: number;
  /** To print through the install report (unreachable repository, stale root, settings from the environment...). */
  warnings: string[];
  /** The `YARN_*` variables that chose plugin settings: a CI variable changing the gate must show in the evidence. */
  fromEnvironment: string[];
}

export interface Ready {
  policy: PolicyView;
  trust: TrustContext;
  trustInfo: TrustView;
}

export interface PipelineOptions {
  store: Store;
  documents: DocumentOptions;
  /** The project's sigstore.lock. */
  pinLockPath: string;
  /** Loads the policy and the trust material (once, on first use). */
  load(): Promise<{ policy: PolicyView; trustInfo: TrustView }>;
  /** `sigstoreRecheckAttestations`: every install asks for the document again. */
  recheck: boolean;
  /** How long a remembered "unsigned" is used without asking again; 0: always ask. */
  unsignedMaxAgeDays: number;
  /** Always looked at: a document there overrides a remembered "unsigned". */
  bundleDirectory?: string | null;
}

/** What a non-registry package is known by (a tarball URL with its own bundle). */
export type Named = Pick<PackageRef, 'key' | 'label'>;

export class InstallPipeline {
  readonly results = new Results();
  readonly judge: Judge;
  readonly store: Store;
  /** Registry packages whose prefetch was decided (by key). */
  readonly prefetched = new Set<string>();
  private readonly documents: Documents;
  private readonly verifier: Verifier;
  /** The "no attestations" answer each unsigned package was judged on in this install (the archive index keeps it). */
  private readonly unsignedAnswers = new Map<string, UnsignedAnswer>();
  /** Verifications started when a document arrived, for the tarball digest it claims (found by the worker that parses it). */
  private readonly earlyVerifications = new Map<string, Promise<DocumentVerification>>();
  private readyPromise?: Promise<Ready>;
  private verifyFunctions?: Promise<typeof import('../verify')>;
  private signalsModule?: Promise<typeof import('./registry-signals')>;

  constructor(private readonly options: PipelineOptions) {
    this.store = options.store;
    this.judge = new Judge(options.pinLockPath);
    this.results.signedBefore = (name, version) => this.judge.expectsSigned(name, version);
    this.documents = new Documents({ ...options.documents, expectsSigned: (ref) => this.expectsSigned(ref) });
    this.verifier = new Verifier(async () => {
      const [{ trust, trustInfo }, { verifyPackageAttestations, verifyBundleForPackage }] = await Promise.all([this.ready(), (this.verifyFunctions ??= import('../verify'))]);
      return { trust, material: trustInfo.material, verify: verifyPackageAttestations, verifyBundle: verifyBundleForPackage };
    });
  }

  /** Policy and trust material, loaded on first use (plugin load stays cheap). */
  ready(): Promise<Ready> {
    return (this.readyPromise ??= this.options.load().then(({ policy, trustInfo }) => {
      this.results.zeroConfig = policy.loaded === undefined;
      return { policy, trust: trustInfo.context, trustInfo };
    }));
  }

  /**
   * Starts fetching this registry package's document (once), unless its
   * archive as the lockfile names it (`zipSha512`) is bound to a tarball
   * with a cached verified result or a remembered "unsigned" and the
   * install does not recheck.
   */
  prefetch(ref: PackageRef, zipSha512: string | undefined): void {
    if (this.prefetched.has(ref.key)) return;
    this.prefetched.add(ref.key);
    if (this.options.recheck && !ref.offline) {
      this.documentFor(ref, true);
      return;
    }
    void this.isWarm(ref, zipSha512).then((warm) => {
      if (!warm) this.documentFor(ref, true);
    });
  }

  /** Only decides whether to prefetch: the gate still hashes the archive it gets and looks the record up by that hash. */
  private async isWarm(ref: PackageRef, lockedZipSha512: string | undefined): Promise<boolean> {
    try {
      // yarn.lock has no checksum for a platform package (Yarn leaves it out for conditional packages): the index's last one stands in.
      const zipSha512 = lockedZipSha512 ?? (await this.store.recordedZip(ref.key));
      if (zipSha512 === undefined) return false;
      const { trust } = await this.ready();
      const tgzSha512 = await boundTarball(this.store, zipSha512, ref.name, ref.version);
      if (tgzSha512 === undefined) return false;
      const subject = { name: ref.name, version: ref.version, sha512Hex: tgzSha512 };
      return (await this.store.lookup('verified', { subject, trustDigest: trust.digest })) !== undefined || (await this.rememberedUnsigned(ref, subject)) !== undefined;
    } catch {
      return false;
    }
  }

  /**
   * When an earlier install's sources said these bytes carry no attestations,
   * if that answer stands: younger than the max age (offline: any age,
   * nothing can be asked), and no document for the package in the bundle
   * directory (a local folder, always looked at).
   */
  private async rememberedUnsigned(ref: PackageRef, subject: PackageSubject): Promise<UnsignedAnswer | undefined> {
    const { bundleDirectory, unsignedMaxAgeDays } = this.options;
    if (bundleDirectory && existsSync(bundleDirectoryFile(bundleDirectory, subject))) return undefined;
    const answer = await this.store.lookup('unsigned', { subject, sources: ref.sources });
    if (!answer) return undefined;
    const age = Date.now() - answer.checkedAt;
    if (!ref.offline && (unsignedMaxAgeDays <= 0 || age < 0 || age >= unsignedMaxAgeDays * DAY_MS)) return undefined;
    return answer;
  }

  /**
   * Whether a package is expected to be signed: sigstore.lock pins it as signed, or the rule selecting it
   * requires an attestation. It only decides which request goes first (src/install/documents.ts): an
   * expectation that proves wrong costs a request, never a verdict.
   */
  private async expectsSigned(ref: PackageRef): Promise<boolean> {
    if (this.judge.expectsSigned(ref.name, ref.version)) return true;
    const { policy } = await this.ready();
    return requiresAttestation(policy.loaded, ref);
  }

  /** `early`: verify the document as soon as it arrives, for the digest it claims (the tarball comes later). */
  private documentFor(ref: PackageRef, early = false): Promise<DocumentResult> {
    const { result, started } = this.documents.get(ref);
    if (started && early) void result.then((document) => this.verifyEarly(ref, document));
    return result;
  }

  /**
   * Starts verifying a document before the tarball is there, so that the
   * verification (on the worker thread) overlaps the downloads instead of
   * following each one: for the digest the document claims, which the
   * worker finds as it parses the document. Used only for a tarball of
   * exactly that digest (bind.ts `earlyFits`).
   */
  private verifyEarly(ref: PackageRef, result: DocumentResult): void {
    if (!('ok' in result) || !result.ok.found || this.results.byKey.has(ref.key)) return;
    const early = this.verifier.document(this.documentRequest(ref, result.ok));
    // Never an unhandled rejection: a failure here is only a lost head start (the gate verifies again).
    early.catch(() => this.earlyVerifications.delete(ref.key));
    this.earlyVerifications.set(ref.key, early);
  }

  private documentRequest(ref: PackageRef, found: { bytes: Buffer; url: string }, sha512Hex?: string) {
    return { document: found.bytes, url: found.url, maxBytes: this.options.documents.maxResponseBytes, name: ref.name, version: ref.version, sha512Hex };
  }

  /** The early verification when it was for this very digest, else one now. */
  private async verification(ref: PackageRef, found: { bytes: Buffer; url: string }, sha512Hex: string): Promise<DocumentVerification> {
    const early = this.earlyVerifications.get(ref.key);
    this.earlyVerifications.delete(ref.key);
    const earlier = early && (await early.catch(() => undefined));
    return earlyFits(earlier, sha512Hex) ? earlier! : this.verifier.document(this.documentRequest(ref, found, sha512Hex));
  }

  /**
   * Verifies one registry package whose tarball hashes to `sha512Hex`, without
   * judging it: the outcome and where its attestations came from.
   * `useContentCache`: take a result cached for these bytes (the install gate
   * without recheck); offline, cached results are always taken.
   */
  async outcomeFor(ref: PackageRef, sha512Hex: string, useContentCache = false): Promise<{ subject: PackageSubject; outcome: VerificationOutcome; source?: string; signals?: RegistrySignals }> {
    const { trust } = await this.ready();
    const subject = { name: ref.name, version: ref.version, sha512Hex };
    // The registry signals decide last: a failed check becomes the outcome, and only a passing one is remembered.
    const signed = async (outcome: Exclude<VerificationOutcome, { status: 'failed' }>, source: string | undefined, document: { signatures: unknown; url: string } | undefined, warm: boolean, remember: () => void) => {
      const checked = await this.withSignals(ref, subject, outcome, document, warm);
      if ('error' in checked) return { subject, outcome: { status: 'failed' as const, error: checked.error }, source };
      remember();
      return { subject, outcome, source, signals: checked.signals };
    };

    // Warm install without recheck (or offline, where nothing can be asked): these exact bytes were
    // verified under this trust material before, or found unsigned recently enough; no request.
    if (useContentCache || ref.offline) {
      const cached = await this.store.lookup('verified', { subject, trustDigest: trust.digest });
      if (cached) return signed({ status: 'verified', result: cached }, VERIFICATION_CACHE_SOURCE, undefined, true, () => undefined);
      const answer = await this.rememberedUnsigned(ref, subject);
      if (answer) return signed({ status: 'unsigned' }, unsignedCacheSource(new Date(answer.checkedAt)), undefined, true, () => this.unsignedAnswers.set(ref.key, answer));
    }

    const document = await this.documentFor(ref);
    if ('error' in document) return { subject, outcome: { status: 'failed', error: document.error } };
    const found = document.ok;
    if (!found.found) {
      // Remembered under these bytes and sources (also when rechecking, so that turning recheck off is warm at once).
      return signed({ status: 'unsigned' }, undefined, undefined, false, () => {
        const answer = { ...subject, sources: ref.sources, checkedAt: Date.now() };
        this.store.remember('unsigned', { subject, sources: ref.sources }, answer);
        this.unsignedAnswers.set(ref.key, answer);
      });
    }
    this.documents.forget(ref);
    // Rechecking: the document served now (its bytes) is part of the key, so a changed document is verified again.
    const key = { subject, trustDigest: trust.digest, document: useContentCache ? undefined : found.bytes };
    const cached = useContentCache ? undefined : await this.store.lookup('verified', key);
    const { outcome, signatures } = cached ? { outcome: { status: 'verified' as const, result: cached }, signatures: this.cachedSignatures(ref, found) } : await this.verification(ref, found, sha512Hex);
    if (outcome.status === 'failed') return { subject, outcome, source: found.url };
    return signed(outcome, found.url, { signatures, url: found.url }, false, () => {
      if (cached || outcome.status !== 'verified') return;
      this.store.remember('verified', key, outcome.result);
      // Also under the content key, so that switching recheck off is warm at once.
      if (!useContentCache) this.store.remember('verified', { subject, trustDigest: trust.digest }, outcome.result);
    });
  }

  /** A result cached for this very document (rechecking) was verified from these bytes, which parse: the registry signatures they carry. */
  private cachedSignatures(ref: PackageRef, found: { bytes: Buffer; url: string }): unknown {
    return signaturesOf(parseJsonBody(found.bytes, this.options.documents.maxResponseBytes, `${ref.name}@${ref.version}`, found.url));
  }

  /**
   * The registry signature and (for a package sigstore.lock does not pin) the history of one
   * package (src/install/registry-signals.ts); a coded failure is returned, never thrown.
   */
  private async withSignals(ref: PackageRef, subject: PackageSubject, outcome: Exclude<VerificationOutcome, { status: 'failed' }>, document: { signatures: unknown; url: string } | undefined, warm: boolean) {
    const [{ policy, trust }, { registrySignals }] = await Promise.all([this.ready(), (this.signalsModule ??= import('./registry-signals'))]);
    // A warm install asks the history again only where it can deny: a policy (zero-config only warns), online, and a package
    // that will be pinned (platform packages never are: they would be asked on every install).
    const warmSkips = warm && (policy.loaded === undefined || ref.offline || ref.conditional === true);
    const history = !this.judge.isPinned(subject.name) && !warmSkips;
    try {
      const packument = () => this.documents.packument(ref);
      return await registrySignals({ subject, outcome, document, policy: policy.loaded, history, warm, packument, packumentAsked: this.documents.hasPackument(ref), trust, now: new Date() });
    } finally {
      this.documents.forgetPackument(ref);
    }
  }

  /**
   * Verifies and judges one registry package whose tarball hashes to
   * `sha512Hex`; `pin`: compared with its sigstore.lock pin once allowed.
   * Throws the coded error when the verdict denies it.
   */
  async judgePackage(ref: PackageRef, sha512Hex: string, printer: Printer, pin: boolean): Promise<void> {
    const previous = this.results.get(ref.key);
    if (previous?.judgedSha === sha512Hex) return enforce(previous);
    const { subject, outcome, source, signals } = await this.outcomeFor(ref, sha512Hex, !this.options.recheck);
    return this.decide(ref, subject, outcome, source, printer, pin, signals);
  }

  /** Judges a non-registry tarball that comes with its own bundle (at `url`): verified like a registry bundle, never pinned. */
  async judgeTarballBundle(named: Named, subject: PackageSubject, bundle: unknown, url: string, printer: Printer): Promise<void> {
    return this.decide(named, subject, await this.verifier.bundle(bundle, subject), url, printer, false);
  }

  private async decide(named: Named, subject: PackageSubject, outcome: VerificationOutcome, source: string | undefined, printer: Printer, pin: boolean, signals?: RegistrySignals): Promise<void> {
    const { policy } = await this.ready();
    const { name, version, sha512Hex } = subject;
    const { verdict, error } = this.judge.decide(policy, subject, outcome, pin, signals?.downgrade);
    const result: PackageResult & { judgedSha: string } = {
      locator: named.label,
      name,
      version,
      status: statusOf(verdict, outcome),
      tgzSha512: sha512Hex,
      source,
      verdict,
      verification: outcome.status === 'verified' ? outcome.result : undefined,
      // Undefined when absent (JSON leaves them out), not spread in: on Node 20 such a spread took longer than the rest of the literal.
      registrySignature: signals?.registrySignature,
      downgrade: signals?.downgrade,
      error: error
        ? { code: error.code, message: error.message }
        : outcome.status === 'failed'
          ? { code: outcome.error.code, message: outcome.error.message }
          : verdict.code && verdict.decision !== 'allow'
            ? { code: verdict.code, message: verdict.message }
            : undefined,
      judgedSha: sha512Hex,
    };
    this.results.set(named.key, result);
    // Built only for a JSON report: a thousand of them cost ~15 ms that a plain install prints nothing of.
    if (printer.json) this.results.reportPackage(named.key, printer);
    if (verdict.decision === 'warn') printer.warning(`sigstore: ${verdict.message}`);
    return enforce(result);
  }

  /**
   * Saves this install's bound archives as the project's archive index, each
   * with its verified result or "unsigned" answer if it is about that very tarball.
   */
  async saveArchives(bound: Map<string, ArchiveEntry>): Promise<void> {
    const { trust } = await this.ready();
    const entries = new Map<string, ArchiveEntry>();
    for (const [key, archive] of bound) entries.set(key, archiveEntry(archive, this.results.get(key)?.verification, trust.digest, this.unsignedAnswers.get(key)));
    await this.store.saveArchives(entries);
  }
}

function enforce(result: PackageResult): void {
  if (result.verdict?.decision !== 'deny') return;
  throw new SigstorePluginError((result.error?.code ?? ErrorCodes.POLICY_DENIED) as ErrorCode, result.verdict.message);
}
