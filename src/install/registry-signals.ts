/**
 * The registry signals of one installed registry package, after its
 * attestations were verified (or found absent): its npm registry signature
 * (`dist.signatures`) over the installed tarball's integrity, and, for a
 * package sigstore.lock does not pin yet, whether the registry's history makes
 * a version without provenance a downgrade. Knows nothing of Yarn.
 *
 * Where the signatures come from: the attestations document when it carries
 * `signatures` (the bundle directory and attestation registries may: a
 * mirror's packument may have lost them), else the package's packument,
 * fetched once and shared with the document fetch of the sources.
 *
 * No packument is asked for a package whose verified npm publish attestation
 * already proves what its registry signature would, under `when-present` and
 * when no history is needed: that statement is signed by the registry's
 * `npm:attestations` key (valid at its logged time) over the package's name,
 * version and the sha512 of the very tarball installed, which is what
 * `dist.signatures` signs with the registry's `npm:signatures` key. It is
 * shown as `covered`, never as `verified`. A packument asked anyway (the
 * history, the sources) is still checked; `require` always asks and checks.
 *
 * A warm install (a result verified earlier for these exact bytes) asks
 * nothing unless the rule requires registry signatures or the history is
 * needed; offline, signatures that cannot be had are "not checked", which
 * `require` refuses.
 */
import { ErrorCodes, SigstorePluginError } from '../errors';
import { findDowngrade, type DowngradeFinding } from '../policy/history';
import { registrySignatureModeOf, type VerificationOutcome } from '../policy/evaluate';
import type { LoadedPolicy } from '../policy/load';
import type { PackumentFacts } from '../sources/packument';
import { trustedNpmKeys, type TrustContext } from '../trust';
import { verifyRegistrySignatures } from '../verify/registry-signature';
import type { PackageSubject } from '../verify/types';

export type RegistrySignatureStatus =
  | { status: 'verified'; keyId: string; source: string; keyValidAt: string; timeSource: string }
  /** The metadata carries none (a mirror may strip them): a pass under `when-present`. */
  | { status: 'absent'; source: string }
  /** Not asked for under `when-present`: the verified npm publish attestation (`source`, signed by `keyId`) binds the same name, version and tarball. */
  | { status: 'covered'; by: 'npm-publish-attestation'; keyId: string; source: string }
  | { status: 'not-checked'; why: string };

export interface RegistrySignals {
  registrySignature: RegistrySignatureStatus;
  /** Set when the history makes this version a downgrade (the policy decides what follows). */
  downgrade?: DowngradeFinding;
}

export interface RegistrySignalsInput {
  subject: PackageSubject;
  /** The verification outcome (never `failed`: a failed one is judged as it is). */
  outcome: Exclude<VerificationOutcome, { status: 'failed' }>;
  /** The registry signatures the attestations document fetched now carries (if any), and where it came from. */
  document?: { signatures: unknown; url: string };
  /** The policy (undefined: zero-config), for the package's `registrySignatures` mode. */
  policy: LoadedPolicy | undefined;
  /** The package is not pinned in sigstore.lock and the registry's history should be asked. */
  history: boolean;
  /** The outcome was taken from the user's cache for these bytes: nothing was asked. */
  warm: boolean;
  packument: () => Promise<PackumentFacts>;
  /** This install already asked for the packument (the document fetch did): checking it costs no request. */
  packumentAsked?: boolean;
  /** The trust material whose `npm:signatures` keys verify. */
  trust: TrustContext;
  now: Date;
}

/**
 * When the key had to be valid: the verified time of the npm publish attestation (a signed
 * time), else the publish time in the packument (unsigned, what `npm audit signatures` uses:
 * keys were rotated, and every older version is signed by a retired key), else now.
 */
function keyTime(input: RegistrySignalsInput, facts: PackumentFacts | undefined): { time: Date; source: string } {
  const published = input.outcome.status === 'verified' ? input.outcome.result.publish?.verifiedTime : undefined;
  if (published !== undefined) return { time: new Date(published), source: 'the verified time of its npm publish attestation' };
  if (facts?.publishedAt) return { time: facts.publishedAt, source: 'its publish time in the packument (unsigned, as npm audit signatures uses it)' };
  return { time: input.now, source: 'now (no publish time known)' };
}

const isOffline = (error: unknown) => error instanceof SigstorePluginError && error.code === ErrorCodes.SOURCE_OFFLINE;

/** The signals of one package; a coded failure is returned, never thrown (the caller makes it the package's outcome). */
export async function registrySignals(input: RegistrySignalsInput): Promise<{ signals: RegistrySignals } | { error: SigstorePluginError }> {
  const { subject } = input;
  const mode = registrySignatureModeOf(input.policy, subject, input.now);
  const label = `${subject.name}@${subject.version}`;
  const fromDocument = input.document?.signatures ?? undefined;
  const checkSignature = mode !== 'off' && (!input.warm || mode === 'require');
  const verified = input.outcome.status === 'verified' ? input.outcome.result : undefined;
  // A version with provenance cannot be a provenance downgrade.
  const history = input.history && !verified?.provenance;
  const publish = verified?.publish;
  // A publish attestation verified now stands for a signature not at hand (see above); a packument at hand is checked.
  const covered = checkSignature && mode === 'when-present' && fromDocument === undefined && publish !== undefined && input.document !== undefined && !history && !input.packumentAsked;
  let facts: PackumentFacts | undefined;
  let offline = false;
  if (history || (checkSignature && fromDocument === undefined && !covered)) {
    try {
      facts = await input.packument();
    } catch (error) {
      if (!isOffline(error)) return { error: error as SigstorePluginError };
      offline = true;
    }
  }
  let registrySignature: RegistrySignatureStatus;
  if (mode === 'off') registrySignature = { status: 'not-checked', why: 'registrySignatures: off' };
  else if (covered) registrySignature = { status: 'covered', by: 'npm-publish-attestation', keyId: publish!.keyId, source: input.document!.url };
  else if (!checkSignature) registrySignature = { status: 'not-checked', why: 'the result verified earlier for these exact bytes was reused (sigstoreRecheckAttestations: true checks again)' };
  else {
    const signatures = fromDocument ?? facts?.signatures;
    const source = fromDocument !== undefined ? input.document!.url : (facts?.url ?? 'the packument');
    if (signatures === undefined) {
      const why = offline ? 'could not be asked for (offline)' : `is absent from ${source} (a mirror may strip it)`;
      if (mode === 'require') {
        return { error: new SigstorePluginError(ErrorCodes.REGISTRY_SIGNATURE_MISSING, `${label}: its npm registry signature ${why}, and the policy requires one (registrySignatures: require)`, { subject: label }) };
      }
      registrySignature = offline ? { status: 'not-checked', why: 'offline: the packument could not be asked for' } : { status: 'absent', source };
    } else {
      const { time, source: timeSource } = keyTime(input, facts);
      try {
        const verified = verifyRegistrySignatures({ ...subject, signatures, keys: trustedNpmKeys(input.trust), time, timeSource, source });
        registrySignature = { status: 'verified', keyId: verified.keyId, source, keyValidAt: time.toISOString(), timeSource };
      } catch (error) {
        return { error: error as SigstorePluginError };
      }
    }
  }
  const downgrade = history && facts ? findDowngrade(facts.history, subject.version) : undefined;
  return { signals: downgrade ? { registrySignature, downgrade } : { registrySignature } };
}
