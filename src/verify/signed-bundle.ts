/**
 * The cryptographic step: a parsed bundle is checked by @sigstore/verify's
 * Verifier (certificate chain to a trusted CA at the verified time, SCTs,
 * Rekor SET or inclusion proof + checkpoint, RFC 3161 timestamps, signature).
 * Returns what the checks proved: the signer and a verified time.
 */
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, SigstorePluginError } from '../errors';
import { FastChainVerifier } from './fast-verifier';
import { leafBytes, requireReadableLogEntries, signedEntityOf } from './signed-entity';
import type { VerifiedProvenance } from './types';

export interface VerifiedSignature {
  /** The Fulcio leaf certificate, when the bundle is certificate-signed. */
  certificate?: X509Certificate;
  /** The key hint, when the bundle is signed with a managed key. */
  keyHint?: string;
  verifiedTime: Date;
  timeSource: VerifiedProvenance['timeSource'];
  logIndex?: string;
}

/** The earliest verified time: SET-backed integrated times, then RFC 3161 timestamps. */
function verifiedTimeOf(entity: SignedEntity): Pick<VerifiedSignature, 'verifiedTime' | 'timeSource'> {
  let best: Pick<VerifiedSignature, 'verifiedTime' | 'timeSource'> | undefined;
  for (const timestamp of entity.timestamps) {
    const candidate: Pick<VerifiedSignature, 'verifiedTime' | 'timeSource'> | undefined =
      timestamp.$case === 'transparency-log'
        ? timestamp.tlogEntry.inclusionPromise
          ? { verifiedTime: new Date(Number(timestamp.tlogEntry.integratedTime) * 1000), timeSource: 'tlog-set' }
          : undefined
        : { verifiedTime: timestamp.timestamp.signingTime, timeSource: 'rfc3161' };
    if (candidate && (!best || candidate.verifiedTime < best.verifiedTime)) best = candidate;
  }
  if (!best) throw new SigstorePluginError(ErrorCodes.TIMESTAMP, 'the bundle carries no verifiable time (no SET, no RFC 3161 timestamp)');
  return best;
}

/** Clock skew tolerated between the log or timestamp authority and this machine. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** No log or authority can have witnessed a signature later than now: such a time is forged or from a rogue clock. */
function refuseFutureTimes(entity: SignedEntity, now = Date.now()): void {
  for (const timestamp of entity.timestamps) {
    const time = timestamp.$case === 'transparency-log' ? new Date(Number(timestamp.tlogEntry.integratedTime) * 1000) : timestamp.timestamp.signingTime;
    if (time.getTime() > now + MAX_CLOCK_SKEW_MS) {
      throw new SigstorePluginError(ErrorCodes.TIMESTAMP, `the bundle claims to have been logged or timestamped at ${time.toISOString()}, in the future`);
    }
  }
}

/**
 * The library proves inclusion against the signed checkpoint's size and root;
 * the proof's own (unsigned) treeSize and rootHash must say the same, or the
 * bundle is inconsistent.
 */
function requireProofMatchesCheckpoint(bundle: Bundle): void {
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const proof = entry.inclusionProof;
    if (!proof?.checkpoint) continue;
    const [, checkpointSize = '', checkpointRoot = ''] = proof.checkpoint.envelope.split('\n');
    if (String(proof.treeSize) !== checkpointSize) {
      throw new SigstorePluginError(ErrorCodes.TLOG_INCLUSION_PROOF, `the inclusion proof names tree size ${JSON.stringify(String(proof.treeSize))}, its signed checkpoint ${JSON.stringify(checkpointSize)}`);
    }
    if (!Buffer.from(checkpointRoot, 'base64').equals(Buffer.from(proof.rootHash))) {
      throw new SigstorePluginError(ErrorCodes.TLOG_INCLUSION_PROOF, 'the inclusion proof names another root hash than its signed checkpoint');
    }
  }
}

/**
 * Throws the library's error (to be mapped by the caller) or our coded error.
 * `artifact` is needed only for message-signature bundles.
 */
export function verifySignedBundle(bundle: Bundle, material: TrustMaterial, artifact?: Buffer): VerifiedSignature {
  requireReadableLogEntries(bundle);
  const entity = signedEntityOf(bundle, artifact);
  // Every check the library makes happens here (chain step made fast); its result is only the signer key.
  new FastChainVerifier(material, leafBytes(bundle)).verify(entity);
  requireProofMatchesCheckpoint(bundle);
  refuseFutureTimes(entity);
  const { verifiedTime, timeSource } = verifiedTimeOf(entity);
  const logIndex = bundle.verificationMaterial.tlogEntries[0]?.logIndex;
  return {
    certificate: entity.key.$case === 'certificate' ? entity.key.certificate : undefined,
    keyHint: entity.key.$case === 'public-key' ? entity.key.hint : undefined,
    verifiedTime,
    timeSource,
    logIndex: logIndex === undefined ? undefined : String(logIndex),
  };
}
