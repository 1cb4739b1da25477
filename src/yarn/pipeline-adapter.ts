/**
 * The one place Yarn meets the install pipeline (src/install/): one adapter
 * per Project (an install), which makes the pipeline from Yarn's
 * configuration, names Yarn's locators as the pipeline's PackageRefs, prints
 * through Yarn's report and turns the pipeline's coded errors into Yarn
 * ReportErrors. It also keeps what the fetcher gate (gate.ts) learns of the
 * archives Yarn handed over in this install.
 */
import { npath, ppath, type PortablePath } from '@yarnpkg/fslib';
import { structUtils, type Locator, type Project, type Report } from '@yarnpkg/core';
import { npmConfigUtils } from '@yarnpkg/plugin-npm';
import { ErrorCodes, SigstorePluginError, toPluginError } from '../errors';
import { printable } from '../printable';
import { PIN_LOCK_FILENAME } from '../pins/model';
import { attestationRegistryFor } from '../sources/places';
import type { PackageSubject } from '../verify/types';
import { archiveDigest, boundTarball, rememberBinding, type ComputedDigest, type HashedFile } from '../install/bind';
import type { PackageRef } from '../install/documents';
import { readPinLock as readLock, writePinLock as writeLock } from '../install/judge';
import { InstallPipeline } from '../install/pipeline';
import { ensureSummary, reportSummary, type PackageStatus, type Printer } from '../install/results';
import { ciRecordKey, RECORD_KEY_VARIABLE } from '../install/record-key';
import { InstallStore, sourcesOf, type ArchiveEntry, type BindingRecord } from '../install/store';
import { reportError } from './errors';
import { npmVersion } from './locators';
import type { BoundZip } from './derived-zips';
import type { ManifestFacts } from '../manifest/compare';
import { isOffline, offlineAware } from './offline';
import { readSettings, type SigstoreSettings } from './settings';
import { globalState } from './state';
import { lookAheadDirect, yarnTransport } from './transport';
import { parsedPolicyCache } from './policy-cache';

/** Whether the report prints JSON events: StreamReport's own flag; any other report is asked (reportJson decides). */
export function reportsJson(report: Report): boolean {
  return (report as { json?: unknown }).json !== false;
}

/** The pipeline's printer on a Yarn report. */
export function printerOf(report: Report): Printer {
  return {
    json: reportsJson(report),
    info: (text) => report.reportInfo(0, text),
    warning: (text) => report.reportWarning(0, text),
    event: (data) => report.reportJson(data),
  };
}

/** A Yarn ReportError for what the pipeline threw (one that is already a coded ReportError, as it is). */
function asReport(error: unknown, subject: string): Error {
  if ((error as { sigstoreCode?: unknown })?.sigstoreCode !== undefined) return error as Error;
  return reportError(toPluginError(error, subject));
}

export function pinLockPath(project: Project): string {
  return npath.fromPortablePath(ppath.join(project.cwd, PIN_LOCK_FILENAME as PortablePath));
}

/** sigstore.lock read for a command; a broken lock is a coded report. */
export function readPinLock(path: string) {
  try {
    return readLock(path);
  } catch (error) {
    throw asReport(error, PIN_LOCK_FILENAME);
  }
}

export function writePinLock(path: string, text: string): void {
  try {
    writeLock(path, text);
  } catch (error) {
    throw asReport(error, PIN_LOCK_FILENAME);
  }
}

export class PipelineAdapter {
  readonly pipeline: InstallPipeline;
  readonly settings: SigstoreSettings;
  /** The fetcher gate's record of this install's archives (gate.ts, patch-binding.ts, file-tarball-binding.ts). */
  readonly archives = {
    /** Locators whose tarball this process hashed in Yarn's loader: locatorHash -> tgz sha512. */
    loaderHashes: new Map<string, string>(),
    /** The package.json facts of the zips the loader made in this install (read from the zip in memory). */
    loaderManifests: new Map<string, ManifestFacts>(),
    /** Archives bound (and manifest-checked) in this install: the link step fetches again, and the next install's index. */
    bound: new Map<string, ArchiveEntry & { observed: string }>(),
    /** Tarball-URL archives already bound in this install: locatorHash -> zip sha512. */
    boundZips: new Map<string, string>(),
    /** Patched zips Yarn built in this install (from the gated base), and those bound. */
    builtPatches: new Set<string>(),
    boundPatches: new Map<string, BoundZip>(),
    /** `file:` tarballs Yarn converted in this install, and the archives bound to their tarball. */
    builtFileTarballs: new Set<string>(),
    boundFileTarballs: new Map<string, BoundZip>(),
  };
  /** The locators behind the refs handed to the pipeline, for their transport. */
  private readonly locators = new Map<string, Locator>();
  /** Each registry package's ref, made once per install: the prefetch, the gate and the link step's fetch all ask for it. */
  private readonly refs = new Map<string, PackageRef>();
  private readonly scopeSources = new Map<string | null, Pick<PackageRef, 'registry' | 'attestationRegistry' | 'sources' | 'offline'>>();

  static for(project: Project): PipelineAdapter {
    const adapters = globalState().sessions;
    let adapter = adapters.get(project) as PipelineAdapter | undefined;
    if (!adapter) adapters.set(project, (adapter = new PipelineAdapter(project)));
    return adapter;
  }

  private constructor(readonly project: Project) {
    // An unusable SIGSTORE_RECORD_KEY fails the command before anything is read or fetched.
    try {
      ciRecordKey();
    } catch (error) {
      throw asReport(error, RECORD_KEY_VARIABLE);
    }
    const settings = (this.settings = readSettings(project.configuration));
    const configuration = project.configuration;
    const globalFolder = configuration.get('globalFolder') as PortablePath;
    const cacheFolder = (name: string) => npath.fromPortablePath(ppath.join(globalFolder, `sigstore/${name}` as PortablePath));
    const store = new InstallStore({ records: cacheFolder('records.json'), projects: cacheFolder('projects'), projectPath: npath.fromPortablePath(project.cwd) }, !settings.recheckAttestations);
    this.pipeline = new InstallPipeline({
      store,
      documents: {
        transportFor: (ref) => offlineAware(yarnTransport(configuration, this.locators.get(ref.key)!, settings), configuration, `${ref.name}@${ref.version}`),
        bundleDirectory: settings.bundleDirectory,
        attestationRegistries: settings.attestationRegistries,
        maxResponseBytes: settings.maxResponseBytes,
        concurrency: settings.concurrency,
      },
      pinLockPath: pinLockPath(project),
      load: async () => {
        const [{ loadPolicyHandle }, { loadGateTrust }] = await Promise.all([import('./policy-adapter'), import('./trust')]);
        const policies = parsedPolicyCache(cacheFolder('policies'));
        const [policy, trustInfo] = await Promise.all([loadPolicyHandle(npath.fromPortablePath(project.cwd), settings, policies), loadGateTrust(configuration, settings)]);
        return { policy, trustInfo };
      },
      recheck: settings.recheckAttestations,
      unsignedMaxAgeDays: settings.unsignedMaxAgeDays,
      bundleDirectory: settings.bundleDirectory,
    });
  }

  get results() {
    return this.pipeline.results;
  }

  ready() {
    return this.pipeline.ready();
  }

  /** A registry locator as the pipeline's PackageRef. */
  private ref(locator: Locator): PackageRef {
    let ref = this.refs.get(locator.locatorHash);
    if (!ref) this.refs.set(locator.locatorHash, (ref = this.makeRef(locator)));
    return ref;
  }

  private makeRef(locator: Locator): PackageRef {
    const name = structUtils.stringifyIdent(locator);
    const version = npmVersion(locator);
    if (version === null) throw reportError(new SigstorePluginError(ErrorCodes.INTERNAL, `${structUtils.stringifyLocator(locator)}: not a registry version`, { subject: name }));
    this.locators.set(locator.locatorHash, locator);
    return {
      key: locator.locatorHash,
      label: structUtils.stringifyLocator(locator),
      name,
      version,
      ...this.sourcesOfScope(locator.scope, name),
      conditional: this.project.conditionalLocators.has(locator.locatorHash),
    };
  }

  /** A scope's sources, worked out once: Yarn's network settings are glob-matched per call, ~0.1 ms each. */
  private sourcesOfScope(scope: string | null, name: string): Pick<PackageRef, 'registry' | 'attestationRegistry' | 'sources' | 'offline'> {
    let sources = this.scopeSources.get(scope);
    if (!sources) {
      const registry = npmConfigUtils.getScopeRegistry(scope, { configuration: this.project.configuration }).replace(/\/+$/, '');
      // The attestation registry is chosen by the scope of the name alone (src/sources/places.ts).
      const attestationRegistry = attestationRegistryFor(name, this.settings.attestationRegistries);
      sources = { registry, attestationRegistry, sources: sourcesOf(registry, attestationRegistry), offline: isOffline(this.project.configuration, [registry, attestationRegistry]) };
      this.scopeSources.set(scope, sources);
    }
    return sources;
  }

  /**
   * Starts fetching the attestation documents of these registry packages
   * (idempotent), in a stable order, except for platform packages Yarn does
   * not install here (asked for only if Yarn fetches their archive after all).
   */
  prefetch(locators: Iterable<Locator>): void {
    const prefetched = this.pipeline.prefetched;
    // Every fetch calls this for its own locator, almost always prefetched already: filter before sorting.
    const ordered = [...locators].filter((locator) => !prefetched.has(locator.locatorHash)).map((locator) => ({ locator, key: structUtils.stringifyLocator(locator) }));
    ordered.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { locator } of ordered) {
      if (prefetched.has(locator.locatorHash)) continue;
      if (this.project.disabledLocators.has(locator.locatorHash) || npmVersion(locator) === null) {
        prefetched.add(locator.locatorHash);
        continue;
      }
      const checksum = this.project.storedChecksums.get(locator.locatorHash);
      this.pipeline.prefetch(this.ref(locator), checksum ? checksum.slice(checksum.indexOf('/') + 1) : undefined);
    }
  }

  /** Looks up the hosts these registry packages' documents come from, unless Yarn's configuration keeps them offline. */
  lookAheadSources(locators: Locator[]): Promise<void> {
    const urls = new Set<string>();
    for (const locator of locators) {
      if (npmVersion(locator) === null) continue;
      const { registry, attestationRegistry, offline } = this.sourcesOfScope(locator.scope, structUtils.stringifyIdent(locator));
      if (offline) continue;
      urls.add(registry);
      if (attestationRegistry) urls.add(attestationRegistry);
    }
    return lookAheadDirect(this.project.configuration, urls);
  }

  /** Verifies and judges a registry package whose tarball hashes to `sha512Hex`; a denied one throws a coded ReportError. */
  async judge(locator: Locator, sha512Hex: string, report: Report): Promise<void> {
    const ref = this.ref(locator);
    // Platform packages are never pinned: which of them a machine fetches depends on its platform, and sigstore.lock must not.
    const pin = !this.project.conditionalLocators.has(locator.locatorHash);
    try {
      await this.pipeline.judgePackage(ref, sha512Hex, printerOf(report), pin);
    } catch (error) {
      throw asReport(error, ref.label);
    }
  }

  /** The `yarn sigstore` commands' verification (no verdict); `useContentCache` as the install gate without recheck. */
  async outcomeFor(locator: Locator, sha512Hex: string, useContentCache = false) {
    const ref = this.ref(locator);
    try {
      return await this.pipeline.outcomeFor(ref, sha512Hex, useContentCache);
    } catch (error) {
      throw asReport(error, ref.label);
    }
  }

  /** A tarball URL's own bundle, verified and judged (subject: the tarball's name, version and sha512). */
  async judgeTarballBundle(locator: Locator, subject: PackageSubject, bundle: unknown, url: string, report: Report): Promise<void> {
    const label = structUtils.stringifyLocator(locator);
    try {
      await this.pipeline.judgeTarballBundle({ key: locator.locatorHash, label }, subject, bundle, url, printerOf(report));
    } catch (error) {
      throw asReport(error, label);
    }
  }

  /** A non-registry package the source check let through, or a registry package not installed on this platform. */
  recordSource(locator: Locator, status: 'allowed-source' | 'local' | 'skipped', reason: string): void {
    this.results.recordSource(locator.locatorHash, this.about(locator), status, reason);
  }

  markFailed(locator: Locator, error: { code: string; message: string }): void {
    this.results.markFailed(locator.locatorHash, this.about(locator), error);
  }

  mayRunScripts(locator: Locator): boolean {
    return this.results.mayRunScripts(locator.locatorHash);
  }

  status(locator: Locator): PackageStatus | undefined {
    return this.results.get(locator.locatorHash)?.status;
  }

  private about(locator: Locator) {
    // A registry package's version as its judged entries give it (`1.0.0`, not `npm:1.0.0`).
    return { locator: structUtils.stringifyLocator(locator), name: structUtils.stringifyIdent(locator), version: npmVersion(locator) ?? locator.reference };
  }

  /** The sha512 of the zip Yarn holds (from the archive index when its identity is the recorded one, else the one Yarn just computed, else hashed). */
  archiveDigest(locator: Locator, zipPath: string, current: string, computed?: ComputedDigest): Promise<HashedFile & { entry?: ArchiveEntry }> {
    return archiveDigest(this.pipeline.store, locator.locatorHash, zipPath, current, computed);
  }

  /** The verified tarball a zip with this sha512 was made from, if recorded for this very package. */
  boundTarball(zipSha512: string, name: string, version: string, entry?: ArchiveEntry): Promise<string | undefined> {
    return boundTarball(this.pipeline.store, zipSha512, name, version, entry);
  }

  rememberBinding(record: BindingRecord): void {
    rememberBinding(this.pipeline.store, record);
  }

  startPinning(immutable: boolean): void {
    try {
      this.pipeline.judge.startPins(immutable);
    } catch (error) {
      throw asReport(error, PIN_LOCK_FILENAME);
    }
  }

  /** After the fetch step succeeded: reports new pins and writes the lock (or, immutable, fails if it would change). */
  finishPinning(report: Report, options: { immutable: boolean; persist: boolean; packages: Locator[] }): void {
    try {
      this.pipeline.judge.finishPins({
        immutable: options.immutable,
        persist: options.persist,
        present: registryVersions(options.packages),
        report: (pins) => {
          // A first install pins every unsigned package: one line for them all (each is in --json and sigstore.lock).
          let unsignedPins = 0;
          for (const pin of pins) {
            report.reportJson({ type: 'sigstore-pin', name: pin.name, identity: pin.identity, reason: pin.reason });
            if (pin.signed || pin.reason) report.reportInfo(0, `sigstore: pinned ${pin.name} to ${printable(pin.identity)}${pin.reason ? ` (reason: ${pin.reason})` : ''}`);
            else unsignedPins++;
          }
          if (unsignedPins > 0) report.reportInfo(0, `sigstore: pinned ${unsignedPins} package${unsignedPins === 1 ? '' : 's'} without provenance (their tarball integrity; listed in ${PIN_LOCK_FILENAME} and with --json)`);
        },
      });
    } catch (error) {
      throw asReport(error, PIN_LOCK_FILENAME);
    }
  }

  /** Writes this install's archives as the project's index (after a completed fetch step). */
  saveArchiveIndex(): Promise<void> {
    const entries = new Map<string, ArchiveEntry>();
    for (const [locatorHash, { observed: _observed, ...archive }] of this.archives.bound) entries.set(locatorHash, archive);
    return this.pipeline.saveArchives(entries);
  }

  /** Writes the records this install made or used (at the end of the fetch step, completed or not: they are facts about bytes). */
  flushRecords(): Promise<void> {
    return this.pipeline.store.flush();
  }

  /** The end-of-fetch summary and the evidence file. */
  async reportSummary(report: Report, outcome: 'completed' | 'failed'): Promise<void> {
    const ready = await this.ready().catch(() => undefined);
    const trust = ready && { origin: ready.trust.origin, digest: ready.trust.digest, ...ready.trustInfo };
    const project = npath.fromPortablePath(this.project.cwd);
    const evidencePath = this.settings.evidencePath ?? npath.fromPortablePath(ppath.join(this.project.cwd, '.yarn/sigstore-evidence.json' as PortablePath));
    try {
      reportSummary(this.results, printerOf(report), outcome, { policy: ready?.policy, trust }, { evidencePath, project });
    } catch (error) {
      throw asReport(error, 'the evidence file');
    }
  }

  /** For `yarn sigstore verify`: a summary even when the fetch step printed none. */
  ensureSummary(report: Report, outcome: 'completed' | 'failed'): void {
    ensureSummary(this.results, printerOf(report), outcome);
  }
}

/** Registry package versions by name: every one in the project, on every platform (the caller leaves out platform packages, never pinned). */
function registryVersions(packages: Locator[]): Map<string, Set<string>> {
  const present = new Map<string, Set<string>>();
  for (const locator of packages) {
    const version = npmVersion(locator);
    if (version === null) continue;
    const name = structUtils.stringifyIdent(locator);
    if (!present.has(name)) present.set(name, new Set());
    present.get(name)!.add(version);
  }
  return present;
}
