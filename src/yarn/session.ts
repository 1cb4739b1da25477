/**
 * One install's gate: loads the policy and trust material once, fetches the
 * attestation documents of every registry package up front (bounded
 * concurrency), then judges each package when Yarn hands over its bytes.
 */
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import { structUtils, type Locator, type Project, type Report } from '@yarnpkg/core';
import { npmConfigUtils } from '@yarnpkg/plugin-npm';
import { existsSync } from 'fs';
import { attestationRegistryFor, bundleDirectoryFile } from '../sources/places';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { LoadedPolicy, Verdict, VerificationOutcome } from '../policy';
import type { SourceOptions, SourcedDocument } from '../sources/types';
import type { PackumentFacts } from '../sources/packument';
import type { RegistrySignals, RegistrySignatureStatus } from '../install/registrySignals';
import type { DowngradeFinding } from '../policy/history';
import type { TrustContext } from '../trust';
import type { PackageSubject, PackageVerification } from '../verify/types';
import { ArchiveIndex, hashWithIdentity, type ArchiveEntry, type HashedFile } from './archiveIndex';
import { BindingStore, type BindingRecord } from './bindings';
import { PatchBindingStore } from './patchBinding';
import type { BoundZip } from './derivedZips';
import { RecordStore } from './recordStore';
import { VerificationCache, isResultFor } from './verificationCache';
import { UnsignedCache, sourcesOf } from './unsignedCache';
import { isOffline, offlineAware } from './offline';
import { VerifierThread } from './verifierThread';
import type { ManifestFacts } from './manifestCheck';
import { claimedSha512 } from '../verify/statement';
import { reportError, toPluginError } from './errors';
import { npmVersion } from './locators';
import { createPool } from './pool';
import { applyPin, isPinned } from './pins';
import { readSettings, type SigstoreSettings } from './settings';
import { globalState } from './state';
import { yarnTransport } from './transport';
import type { PolicyHandle } from './policyAdapter';
import type { GateTrust } from './trust';

/** `skipped`: a registry package for another platform that Yarn does not install here. */
export type PackageStatus = 'verified' | 'allowed-unsigned' | 'warned' | 'failed' | 'skipped' | 'allowed-source' | 'local';

export interface PackageResult {
  locator: string;
  name: string;
  version: string;
  status: PackageStatus;
  tgzSha512?: string;
  source?: string;
  verdict?: Verdict;
  verification?: PackageVerification;
  /** The npm registry signature check (registry packages). */
  registrySignature?: RegistrySignatureStatus;
  /** The registry's history made this version without provenance a downgrade (judged by the policy). */
  downgrade?: DowngradeFinding;
  error?: { code: string; message: string };
}

/** The `source` of a result taken from the user's verification cache. */
export const VERIFICATION_CACHE_SOURCE = 'verification cache (user global folder)';

/** The `source` of an "unsigned" remembered from an earlier install's answer. */
export const unsignedCacheSource = (checkedAt: Date) => `remembered answer (user global folder): no attestations as of ${checkedAt.toISOString()}`;

/** Where one registry package's attestations are asked for. */
interface AttestationSources {
  name: string;
  version: string;
  registry: string;
  attestationRegistry?: string;
  /** The two above, as the remembered-unsigned key holds them. */
  sources: string;
}

type DocumentResult = { ok: SourcedDocument } | { error: SigstorePluginError };

interface Ready {
  settings: SigstoreSettings;
  policy: PolicyHandle;
  trust: TrustContext;
  /** Where the trust material came from and how old it is, for the report and evidence. */
  trustInfo: GateTrust;
  verify: typeof import('../verify').verifyPackageAttestations;
  verifyBundle: typeof import('../verify').verifyBundleForPackage;
  registrySignals: typeof import('../install/registrySignals').registrySignals;
}

export class GateSession {
  readonly results = new Map<string, PackageResult & { judgedSha?: string }>();
  /** Locators whose tarball this process hashed in Yarn's loader: locatorHash -> tgz sha512. */
  readonly loaderHashes = new Map<string, string>();
  /** The package.json facts of the zips the loader made in this install (read from the zip in memory, not the cache file). */
  readonly loaderManifests = new Map<string, ManifestFacts>();
  /** Archives bound (and manifest-checked) in this install, by locatorHash: the link step fetches again, and the next install's index. */
  readonly boundArchives = new Map<string, Omit<ArchiveEntry, 'verified'> & { observed: string }>();
  /** Tarball-URL archives already bound in this install: locatorHash -> zip sha512. */
  readonly boundZips = new Map<string, string>();
  readonly bindings: BindingStore;
  /** Patched zips Yarn built in this install (from the gated base), by locatorHash. */
  readonly builtPatches = new Set<string>();
  /** Patched zips bound in this install, by locatorHash (the link step fetches again). */
  readonly boundPatches = new Map<string, BoundZip>();
  /** `file:` tarballs Yarn converted in this install, and the archives bound to their tarball (fileTarballBinding.ts). */
  readonly builtFileTarballs = new Set<string>();
  readonly boundFileTarballs = new Map<string, BoundZip>();
  readonly patchBindings: PatchBindingStore;
  /** Bindings and verified results, one file written once per install (`flushRecords`). */
  readonly records: RecordStore;
  private readonly index: ArchiveIndex;
  private readonly verified: VerificationCache;
  private readonly unsigned: UnsignedCache;
  private readonly documents = new Map<string, Promise<DocumentResult>>();
  /** The packument facts of a package whose document fetch asked for them, until its signals are checked. */
  private readonly packuments = new Map<string, Promise<PackumentFacts>>();
  private readonly prefetched = new Set<string>();
  /** The verification worker: undefined until first needed, null where the bundle carries none. */
  private thread?: VerifierThread | null;
  private readonly cachedVerifications = new Map<string, Promise<PackageVerification | undefined>>();
  /** Verifications started when a document arrived, for the tarball digest it claims: locatorHash -> guess. */
  private readonly earlyVerifications = new Map<string, { sha512Hex: string; outcome: Promise<VerificationOutcome> }>();
  private readyPromise?: Promise<Ready>;
  private readonly pool: <T>(task: () => Promise<T>) => Promise<T>;
  readonly settings: SigstoreSettings;
  /** The status each package's `sigstore-package` event carried (JSON reports only): one event per package and status. */
  readonly reportedStatuses = new Map<string, PackageStatus>();
  /** The outcome the summary was printed with, once it was. */
  summaryOutcome?: 'completed' | 'failed';
  /** The registry packages the fetch step announced it would verify (locator hashes), for the summary's counts. */
  readonly announced = new Set<string>();
  /** The trust material's warnings printed for this install (counted in the summary). */
  trustWarnings: string[] = [];
  /** No trust policy was found (known once the policy is loaded). */
  zeroConfig = false;

  static for(project: Project): GateSession {
    const sessions = globalState().sessions;
    let session = sessions.get(project) as GateSession | undefined;
    if (!session) sessions.set(project, (session = new GateSession(project)));
    return session;
  }

  private constructor(readonly project: Project) {
    this.settings = readSettings(project.configuration);
    this.pool = createPool(this.settings.concurrency);
    const globalFolder = project.configuration.get('globalFolder') as PortablePath;
    const cacheFolder = (name: string) => npath.fromPortablePath(ppath.join(globalFolder, `sigstore/${name}` as PortablePath));
    this.records = new RecordStore(cacheFolder('records.json'));
    this.bindings = new BindingStore(this.records);
    this.patchBindings = new PatchBindingStore(this.records);
    this.verified = new VerificationCache(this.records);
    this.unsigned = new UnsignedCache(this.records, this.settings.unsignedMaxAgeDays);
    this.index = new ArchiveIndex(cacheFolder('projects'), npath.fromPortablePath(project.cwd));
  }

  /** Policy, trust material and the verifier, loaded on first use (plugin load stays cheap). */
  ready(): Promise<Ready> {
    return (this.readyPromise ??= this.load());
  }

  private async load(): Promise<Ready> {
    const [{ verifyPackageAttestations, verifyBundleForPackage }, { loadPolicyHandle }, { loadGateTrust }, { registrySignals }] = await Promise.all([
      import('../verify'),
      import('./policyAdapter'),
      import('./trust'),
      import('../install/registrySignals'),
    ]);
    const settings = this.settings;
    const [policy, trustInfo] = await Promise.all([loadPolicyHandle(npath.fromPortablePath(this.project.cwd), settings), loadGateTrust(this.project.configuration, settings), this.index.load()]);
    const trust = trustInfo.context;
    this.zeroConfig = policy.loaded === undefined;
    if (!settings.recheckAttestations) this.seedVerifications(trust.digest);
    return { settings, policy, trust, trustInfo, verify: verifyPackageAttestations, verifyBundle: verifyBundleForPackage, registrySignals };
  }

  /**
   * Starts fetching the attestation documents of these registry packages
   * (idempotent), in the order Yarn's fetch step asks for them, except those
   * whose archive (as the lockfile names it) has a cached verified result
   * when `sigstoreRecheckAttestations` is off.
   */
  prefetch(locators: Iterable<Locator>): void {
    // Every fetch calls this for its own locator, almost always prefetched already: filter before sorting.
    const ordered = [...locators].filter((locator) => !this.prefetched.has(locator.locatorHash)).map((locator) => ({ locator, key: structUtils.stringifyLocator(locator) }));
    ordered.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { locator } of ordered) {
      if (this.prefetched.has(locator.locatorHash)) continue;
      this.prefetched.add(locator.locatorHash);
      // Not installed on this platform: asked for only if Yarn fetches its archive after all (a cached zip).
      if (this.project.disabledLocators.has(locator.locatorHash)) continue;
      if (this.settings.recheckAttestations && !this.offline(locator)) {
        void this.documentFor(locator, true);
        continue;
      }
      void this.isWarm(locator).then((warm) => {
        if (!warm) void this.documentFor(locator, true);
      });
    }
  }

  /**
   * Whether the lockfile's archive of this package is bound to a tarball with a
   * cached verified result or a remembered "unsigned". Only decides whether to
   * prefetch: the gate still hashes the archive it gets and looks the record up
   * by that hash.
   */
  private async isWarm(locator: Locator): Promise<boolean> {
    try {
      const checksum = this.project.storedChecksums.get(locator.locatorHash);
      const version = npmVersion(locator);
      if (!checksum || version === null) return false;
      const name = structUtils.stringifyIdent(locator);
      const { trust } = await this.ready();
      const record = await this.binding(checksum.slice(checksum.indexOf('/') + 1));
      if (!record || record.name !== name || record.version !== version) return false;
      const subject = { name, version, sha512Hex: record.tgzSha512 };
      return (await this.cachedVerification(subject, trust.digest)) !== undefined || (await this.rememberedUnsigned(locator, subject)) !== undefined;
    } catch {
      return false;
    }
  }

  /** The package's registry and attestation registry (the network sources asked for its attestations). */
  private lookupFor(locator: Locator): AttestationSources {
    const name = structUtils.stringifyIdent(locator);
    const registry = npmConfigUtils.getScopeRegistry(locator.scope, { configuration: this.project.configuration }).replace(/\/+$/, '');
    const attestationRegistry = attestationRegistryFor(name, this.settings.attestationRegistries);
    return { name, version: npmVersion(locator) ?? '', registry, attestationRegistry, sources: sourcesOf(registry, attestationRegistry) };
  }

  /** Whether Yarn's configuration forbids asking this package's sources (enableOfflineMode, enableNetwork: false). */
  private offline(locator: Locator): boolean {
    const { registry, attestationRegistry } = this.lookupFor(locator);
    return isOffline(this.project.configuration, [registry, attestationRegistry]);
  }

  /**
   * When an earlier install's sources said these bytes carry no attestations,
   * if that answer stands: younger than `sigstoreUnsignedMaxAgeDays` (offline:
   * any age, nothing can be asked), and no document for the package in the
   * bundle directory (a local folder, always looked at).
   */
  private async rememberedUnsigned(locator: Locator, subject: PackageSubject): Promise<Date | undefined> {
    const { bundleDirectory } = this.settings;
    if (bundleDirectory && existsSync(bundleDirectoryFile(bundleDirectory, subject))) return undefined;
    return this.unsigned.read(subject, this.lookupFor(locator).sources, { anyAge: this.offline(locator) });
  }

  /** Content-keyed results of the project's archive index under this trust material, so that no record file is read for them. */
  private seedVerifications(trustDigest: string): void {
    for (const entry of this.index.entries()) {
      const result = entry.verified?.trustDigest === trustDigest ? entry.verified.result : undefined;
      const subject = archiveSubject(entry);
      if (isResultFor(result, subject)) this.cachedVerifications.set(VerificationCache.contentKey(subject, trustDigest), Promise.resolve(result));
    }
  }

  /**
   * The sha512 of the zip Yarn holds for this locator: from the archive index
   * when the file's identity (`current`, just read) is the one recorded there, else hashed. `entry`:
   * the index's entry for this very archive, if any.
   */
  async archiveDigest(locator: Locator, zipPath: string, current: string): Promise<HashedFile & { entry?: ArchiveEntry }> {
    await this.index.load();
    const entry = this.index.entry(locator.locatorHash, zipPath);
    if (entry?.identity !== undefined && entry.identity === current) return { sha512: entry.zipSha512, observed: current, identity: current, entry };
    const hashed = await hashWithIdentity(zipPath);
    return entry?.zipSha512 === hashed.sha512 ? { ...hashed, entry } : hashed;
  }

  /** zip sha512 -> the verified tarball it was made from: the archive index, else the binding record. */
  async binding(zipSha512: string): Promise<BindingRecord | undefined> {
    await this.index.load();
    return this.index.byZipSha(zipSha512) ?? (await this.bindings.read(zipSha512));
  }

  /** Writes the records this install made or used (at the end of the fetch step, completed or not: they are facts about bytes). */
  flushRecords(): Promise<void> {
    return this.records.flush();
  }

  /** Writes this install's archives as the project's index (after a completed fetch step). */
  async saveArchiveIndex(): Promise<void> {
    const { trust } = await this.ready();
    const entries = new Map<string, ArchiveEntry>();
    for (const [locatorHash, { observed: _observed, ...archive }] of this.boundArchives) {
      const verification = this.results.get(locatorHash)?.verification;
      entries.set(locatorHash, isResultFor(verification, archiveSubject(archive)) ? { ...archive, verified: { trustDigest: trust.digest, result: verification } } : archive);
    }
    await this.index.save(entries);
  }

  /** A verified result from the user's cache, read once per install. */
  private cachedVerification(subject: PackageSubject, trustDigest: string): Promise<PackageVerification | undefined> {
    const key = VerificationCache.contentKey(subject, trustDigest);
    let cached = this.cachedVerifications.get(key);
    if (!cached) this.cachedVerifications.set(key, (cached = this.verified.read(key, subject)));
    return cached;
  }

  /** `early`: verify the document as soon as it arrives, for the digest it claims (the install gate; the tarball comes later). */
  documentFor(locator: Locator, early = false): Promise<DocumentResult> {
    let document = this.documents.get(locator.locatorHash);
    if (!document) {
      document = this.pool(() => this.fetchDocument(locator));
      this.documents.set(locator.locatorHash, document);
      if (early) void document.then((result) => this.verifyEarly(locator, result));
    }
    return document;
  }

  /**
   * Starts verifying a document before the tarball is there, so that the
   * verification (on the worker thread) overlaps the downloads instead of
   * following each one. The outcome is used only for a tarball whose sha512 is
   * the one the document claims: then it is the very verification the gate
   * would run; otherwise the gate verifies again with the real digest.
   */
  private verifyEarly(locator: Locator, result: DocumentResult): void {
    if (!('ok' in result) || !result.ok.found || this.results.has(locator.locatorHash)) return;
    const name = structUtils.stringifyIdent(locator);
    const version = npmVersion(locator);
    const sha512Hex = version === null ? undefined : claimedSha512(result.ok.document, name, version);
    if (sha512Hex === undefined || version === null) return;
    const outcome = this.verifyDocument(result.ok.document, { name, version, sha512Hex });
    // Never an unhandled rejection: verifyDocument turns errors into outcomes, and a failure here is only a lost head start.
    outcome.catch(() => this.earlyVerifications.delete(locator.locatorHash));
    this.earlyVerifications.set(locator.locatorHash, { sha512Hex, outcome });
  }

  private async fetchDocument(locator: Locator): Promise<DocumentResult> {
    const { name, version, registry } = this.lookupFor(locator);
    try {
      const { findAttestations } = await import('../sources');
      const options = this.sourceOptions(locator);
      // Its registry signature and history come from the packument: asked at once, beside the attestations.
      void options.packument!().catch(() => undefined);
      return { ok: await findAttestations({ name, version, registry }, options) };
    } catch (error) {
      return { error: toPluginError(error, `${name}@${version}`) };
    }
  }

  /** How this package's documents are fetched: Yarn's transport for its registry, and one shared packument request. */
  private sourceOptions(locator: Locator): SourceOptions {
    const { name, version, registry } = this.lookupFor(locator);
    const { settings, project } = this;
    const configuration = project.configuration;
    const options: SourceOptions = {
      transport: offlineAware(yarnTransport(configuration, locator, settings), configuration, `${name}@${version}`),
      bundleDirectory: settings.bundleDirectory,
      attestationRegistries: settings.attestationRegistries,
      maxResponseBytes: settings.maxResponseBytes,
    };
    options.packument = () => {
      let facts = this.packuments.get(locator.locatorHash);
      if (!facts) {
        facts = import('../sources/packument').then(({ fetchPackumentFacts }) => fetchPackumentFacts({ name, version, registry }, { ...options, packument: undefined }));
        // A rejection is handled by whoever awaits it; this copy only must not be reported as unhandled.
        facts.catch(() => undefined);
        this.packuments.set(locator.locatorHash, facts);
      }
      return facts;
    };
    return options;
  }

  /**
   * The registry signature and (for a package sigstore.lock does not pin) the history of one
   * package: a failed check replaces the outcome, so that nothing is remembered for these bytes.
   */
  private async withSignals(locator: Locator, subject: PackageSubject, outcome: Exclude<VerificationOutcome, { status: 'failed' }>, document: { body: unknown; url: string } | undefined, warm: boolean) {
    const { policy, trust, registrySignals } = await this.ready();
    // A warm install asks the history again only where it can deny: a policy (zero-config only warns), online, and a package
    // that will be pinned (platform packages never are: they would be asked on every install).
    const warmSkips = warm && (policy.loaded === undefined || this.offline(locator) || this.project.conditionalLocators.has(locator.locatorHash));
    const history = !isPinned(this, subject.name) && !warmSkips;
    try {
      return await registrySignals({
        subject,
        outcome,
        document,
        policy: policy.loaded,
        history,
        warm,
        packument: this.sourceOptions(locator).packument!,
        trust,
        now: new Date(),
      });
    } finally {
      this.packuments.delete(locator.locatorHash);
    }
  }

  /**
   * Verifies and judges one registry package whose tarball hashes to
   * `sha512Hex`. Throws a ReportError when the policy denies it.
   */
  async judge(locator: Locator, sha512Hex: string, report: Report): Promise<void> {
    const previous = this.results.get(locator.locatorHash);
    if (previous?.judgedSha === sha512Hex) return this.enforce(previous);
    const { subject, outcome, source, signals } = await this.outcomeFor(locator, sha512Hex, !this.settings.recheckAttestations);
    return this.decide(locator, subject, outcome, source, report, true, signals);
  }

  /**
   * Verifies one registry package whose tarball hashes to `sha512Hex`, without
   * judging it: the outcome and where its attestations came from (the
   * `yarn sigstore` commands judge or describe it themselves, always against
   * the document served now). `useContentCache`: the install gate with
   * `sigstoreRecheckAttestations: false` takes a result cached for these bytes.
   */
  async outcomeFor(locator: Locator, sha512Hex: string, useContentCache = false): Promise<{ subject: PackageSubject; outcome: VerificationOutcome; source?: string; signals?: RegistrySignals }> {
    const { trust } = await this.ready();
    const name = structUtils.stringifyIdent(locator);
    const version = npmVersion(locator);
    if (version === null) throw reportError(new SigstorePluginError(ErrorCodes.INTERNAL, `${structUtils.stringifyLocator(locator)}: not a registry version`, { subject: name }));
    const subject = { name, version, sha512Hex };
    const signed = async (outcome: Exclude<VerificationOutcome, { status: 'failed' }>, source: string | undefined, document: { body: unknown; url: string } | undefined, warm: boolean, remember: () => void) => {
      const checked = await this.withSignals(locator, subject, outcome, document, warm);
      if ('error' in checked) return { subject, outcome: { status: 'failed' as const, error: checked.error }, source };
      remember();
      return { subject, outcome, source, signals: checked.signals };
    };

    // Warm install without recheck (or offline, where nothing can be asked): these exact bytes were
    // verified under this trust material before, or found unsigned recently enough; no request.
    if (useContentCache || this.offline(locator)) {
      const cached = await this.cachedVerification(subject, trust.digest);
      if (cached) return signed({ status: 'verified', result: cached }, VERIFICATION_CACHE_SOURCE, undefined, true, () => undefined);
      const checkedAt = await this.rememberedUnsigned(locator, subject);
      if (checkedAt) return signed({ status: 'unsigned' }, unsignedCacheSource(checkedAt), undefined, true, () => undefined);
    }

    const document = await this.documentFor(locator);
    if ('error' in document) return { subject, outcome: { status: 'failed', error: document.error } };
    const found = document.ok;
    if (!found.found) {
      // Remembered under these bytes and sources (also when rechecking, so that turning recheck off is warm at once).
      return signed({ status: 'unsigned' }, undefined, undefined, false, () => this.unsigned.write(subject, this.lookupFor(locator).sources));
    }
    // The result is what is kept: holding every document until the end of the fetch step grows with the package count.
    this.documents.delete(locator.locatorHash);
    // Rechecking: the document served now is part of the key, so a changed document is verified again.
    const cacheKey = useContentCache ? VerificationCache.contentKey(subject, trust.digest) : VerificationCache.key(subject, found.document, trust.digest);
    const cached = useContentCache ? undefined : await this.verified.read(cacheKey, subject);
    const early = this.earlyVerifications.get(locator.locatorHash);
    this.earlyVerifications.delete(locator.locatorHash);
    const verify = () => (early?.sha512Hex === sha512Hex ? early.outcome : this.verifyDocument(found.document, subject));
    const outcome = cached ? { status: 'verified' as const, result: cached } : await verify();
    if (outcome.status === 'failed') return { subject, outcome, source: found.url };
    return signed(outcome, found.url, { body: found.document, url: found.url }, false, () => {
      if (cached || outcome.status !== 'verified') return;
      this.verified.write(cacheKey, outcome.result);
      // Also under the content key, so that switching sigstoreRecheckAttestations off is warm at once.
      if (!useContentCache) this.verified.write(VerificationCache.contentKey(subject, trust.digest), outcome.result);
    });
  }

  /** Verifies on the worker thread when there is one (the second core), else in-process. */
  private async verifyDocument(document: unknown, subject: PackageSubject): Promise<VerificationOutcome> {
    const { trust, trustInfo, verify } = await this.ready();
    const label = `${subject.name}@${subject.version}`;
    if (this.thread === undefined) this.thread = VerifierThread.create(trustInfo.material) ?? null;
    if (!this.thread?.usable) return attempt(label, () => verify(document, subject, trust));
    try {
      return { status: 'verified', result: await this.thread.verify(document, subject) };
    } catch (error) {
      return { status: 'failed', error: toPluginError(error, label) };
    }
  }

  /**
   * Judges a non-registry tarball that comes with a `<url>.sigstore.json`
   * bundle: verified like a registry bundle, its subject the tarball's own
   * name, version and sha512.
   */
  async judgeTarballBundle(locator: Locator, subject: PackageSubject, bundle: unknown, url: string, report: Report): Promise<void> {
    const { trust, verifyBundle } = await this.ready();
    const outcome = attempt(`${subject.name}@${subject.version}`, () => {
      const attestation = verifyBundle(bundle, subject, trust);
      return attestation.kind === 'provenance'
        ? { subject, provenance: attestation, provenanceCount: 1 }
        : { subject, provenanceCount: 0, publish: attestation };
    });
    return this.decide(locator, subject, outcome, url, report, false);
  }

  /** `pin`: registry packages are compared with their sigstore.lock pin once the policy allowed them. */
  private async decide(locator: Locator, subject: PackageSubject, outcome: VerificationOutcome, source: string | undefined, report: Report, pin: boolean, signals?: RegistrySignals): Promise<void> {
    const { policy } = await this.ready();
    const { name, version, sha512Hex } = subject;
    const judged = policy.judge({ name, version }, outcome, { downgrade: signals?.downgrade });
    // Platform packages are never pinned: which of them a machine fetches depends on its platform, and sigstore.lock must not.
    const pins = pin && !this.project.conditionalLocators.has(locator.locatorHash);
    const pinned = pins ? applyPin(this, subject, outcome, judged, policy.loaded?.model) : { verdict: judged, error: undefined };
    const verdict = pinned.verdict;
    const result: PackageResult & { judgedSha: string } = {
      locator: structUtils.stringifyLocator(locator),
      name,
      version,
      status: statusOf(verdict, outcome),
      tgzSha512: sha512Hex,
      source,
      verdict,
      verification: outcome.status === 'verified' ? outcome.result : undefined,
      ...(signals ? { registrySignature: signals.registrySignature, ...(signals.downgrade ? { downgrade: signals.downgrade } : {}) } : {}),
      error: pinned.error
        ? { code: pinned.error.code, message: pinned.error.message }
        : outcome.status === 'failed'
          ? { code: outcome.error.code, message: outcome.error.message }
          : verdict.code && verdict.decision !== 'allow'
            ? { code: verdict.code, message: verdict.message }
            : undefined,
      judgedSha: sha512Hex,
    };
    this.results.set(locator.locatorHash, result);
    // Built only for a JSON report: a thousand of them cost ~15 ms that a plain `yarn install` prints nothing of.
    if (reportsJson(report)) this.reportPackage(locator.locatorHash, report);
    if (verdict.decision === 'warn') report.reportWarning(0, `sigstore: ${verdict.message}`);
    return this.enforce(result);
  }

  /** Prints the package's `sigstore-package` event unless one with its current status was printed already. */
  reportPackage(locatorHash: string, report: Report): void {
    const result = this.results.get(locatorHash);
    if (!result || this.reportedStatuses.get(locatorHash) === result.status) return;
    this.reportedStatuses.set(locatorHash, result.status);
    report.reportJson({ type: 'sigstore-package', ...publicResult(result) });
  }

  /** Records a non-registry package the source check let through, or a registry package not installed on this platform. */
  recordSource(locator: Locator, status: 'allowed-source' | 'local' | 'skipped', reason: string): void {
    if (this.results.has(locator.locatorHash)) return;
    this.results.set(locator.locatorHash, {
      locator: structUtils.stringifyLocator(locator),
      name: structUtils.stringifyIdent(locator),
      version: locator.reference,
      status,
      source: reason,
    });
  }

  /** A package that passed verification but whose archive could not be bound to it: counted as a failure. */
  markFailed(locator: Locator, error: { code: string; message: string }): void {
    const result = this.results.get(locator.locatorHash);
    const base = result ?? { locator: structUtils.stringifyLocator(locator), name: structUtils.stringifyIdent(locator), version: locator.reference };
    this.results.set(locator.locatorHash, { ...base, status: 'failed', error });
  }

  /** Whether a lifecycle script of this package may run. */
  mayRunScripts(locator: Locator): boolean {
    const status = this.results.get(locator.locatorHash)?.status;
    return status !== undefined && status !== 'failed';
  }

  private enforce(result: PackageResult): void {
    if (result.verdict?.decision !== 'deny') return;
    const code = result.error?.code ?? ErrorCodes.POLICY_DENIED;
    throw reportError({ code, message: result.verdict.message });
  }
}

/** The tarball an archive was made from, as a verification subject. */
function archiveSubject(archive: BindingRecord): PackageSubject {
  return { name: archive.name, version: archive.version, sha512Hex: archive.tgzSha512 };
}

/** Whether the report prints JSON events: StreamReport's own flag; any other report is asked (reportJson decides). */
export function reportsJson(report: Report): boolean {
  return (report as { json?: unknown }).json !== false;
}

/** Runs a verification; a thrown error is the `failed` outcome. */
function attempt(subject: string, verify: () => PackageVerification): VerificationOutcome {
  try {
    return { status: 'verified', result: verify() };
  } catch (error) {
    return { status: 'failed', error: toPluginError(error, subject) };
  }
}

function statusOf(verdict: Verdict, outcome: VerificationOutcome): PackageStatus {
  if (verdict.decision === 'deny') return 'failed';
  if (verdict.decision === 'warn') return 'warned';
  return outcome.status === 'verified' ? 'verified' : outcome.status === 'unsigned' ? 'allowed-unsigned' : 'warned';
}

export function publicResult(result: PackageResult & { judgedSha?: string }): Record<string, unknown> {
  const { judgedSha: _judged, verification, ...rest } = result;
  return {
    ...rest,
    identity: verification?.provenance?.identity,
    bundles: [verification?.provenance, verification?.publish]
      .filter((attestation) => attestation !== undefined)
      .map((attestation) => ({ kind: attestation!.kind, predicateType: attestation!.predicateType, bundleDigest: attestation!.bundleDigest, logIndex: attestation!.logIndex, verifiedTime: attestation!.verifiedTime })),
  };
}
