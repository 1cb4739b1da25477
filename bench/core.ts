/**
 * Core bench: real npm provenance bundles verified per second on one core,
 * against two yardsticks measured in the same run, rounds alternated so that
 * all three see the same machine load:
 *   - the ECDSA floor: only the signature verifications a bundle needs (its
 *     leaf certificate by the Fulcio CA, each embedded SCT, the Rekor SET, the
 *     checkpoint, the DSSE envelope), with every key already imported and
 *     every signed message already built; nothing can verify a bundle faster;
 *   - @sigstore/verify used as npm uses it (pacote / `sigstore.verify`:
 *     bundleFromJSON + toSignedEntity + a new Verifier per bundle).
 * Cold: nothing is cached between bundles except the trust material. Times
 * are the process's CPU time (user + system), which a loaded machine inflates
 * less than wall time; within a round the three take turns pass by pass (each
 * pass timed alone); each figure is the median of the rounds, each ratio the
 * median of the per-round ratios.
 */
import { createHash, createPublicKey, verify as cryptoVerify, X509Certificate as NativeX509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { dsse, json, X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createTrustContext, embeddedTrustMaterial } from '../src/trust';
import { PREDICATE_NPM_PUBLISH_V01, verifyBundleForPackage, type PackageSubject } from '../src/verify';
import { precertificateTbs } from '../src/verify/precertificate';

const FIXTURES = join(__dirname, '..', 'fixtures', 'npm-attestations');

interface Sample {
  bundle: unknown;
  subject: PackageSubject;
}

function loadSamples(): Sample[] {
  const manifest: Array<{ dir: string; name: string; version: string }> = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'));
  return manifest.flatMap(({ dir, name, version }) => {
    const sha512Hex = createHash('sha512').update(readFileSync(join(FIXTURES, dir, 'package.tgz'))).digest('hex');
    const document = JSON.parse(readFileSync(join(FIXTURES, dir, 'attestations.json'), 'utf8'));
    return document.attestations
      .filter((entry: { predicateType: string }) => entry.predicateType !== PREDICATE_NPM_PUBLISH_V01)
      .map((entry: { bundle: unknown }) => ({ bundle: entry.bundle, subject: { name, version, sha512Hex } }));
  });
}

/** One signature check of the floor: everything prepared but the verification itself. */
interface SignatureCheck {
  algorithm: string;
  data: Buffer;
  key: KeyObject;
  signature: Buffer;
}

const spkiKey = (bytes: Uint8Array) => createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' });

/** The signature checks one bundle needs, in the order a verifier makes them; throws when one does not verify. */
function signatureChecksOf(serialized: unknown, trustedRoot: TrustedRoot): SignatureCheck[] {
  const bundle = bundleFromJSON(serialized);
  const material = bundle.verificationMaterial.content;
  const leafBytes = Buffer.from(material.$case === 'x509CertificateChain' ? material.x509CertificateChain.certificates[0].rawBytes : material.$case === 'certificate' ? material.certificate.rawBytes : []);
  const leaf = X509Certificate.parse(leafBytes as Buffer<ArrayBuffer>);
  const leafNative = new NativeX509Certificate(leafBytes);
  const checks: SignatureCheck[] = [];
  // The leaf, by the CA certificate that issued it.
  const issuer = trustedRoot.certificateAuthorities
    .flatMap((ca) => ca.certChain?.certificates ?? [])
    .map((certificate) => new NativeX509Certificate(Buffer.from(certificate.rawBytes)))
    .find((candidate) => leafNative.checkIssued(candidate) && leafNative.verify(candidate.publicKey));
  if (!issuer) throw new Error('floor: no trusted issuer for the leaf');
  checks.push({ algorithm: leaf.signatureAlgorithm, data: leaf.tbsCertificate.toDER(), key: issuer.publicKey, signature: leaf.signatureValue });
  // Each embedded SCT, over the RFC 6962 precertificate entry.
  const tbs = precertificateTbs(leafBytes)!;
  const issuerKeyHash = createHash('sha256').update(issuer.publicKey.export({ format: 'der', type: 'spki' })).digest();
  const length = Buffer.from([(tbs.length >> 16) & 0xff, (tbs.length >> 8) & 0xff, tbs.length & 0xff]);
  for (const sct of leaf.extSCT?.signedCertificateTimestamps ?? []) {
    const log = trustedRoot.ctlogs.find((ctlog) => Buffer.from(ctlog.logId!.keyId).equals(sct.logID))!;
    const extensionsLength = Buffer.from([sct.extensions.length >> 8, sct.extensions.length & 0xff]);
    const data = Buffer.concat([Buffer.from([sct.version, 0]), sct.timestamp, Buffer.from([0, 1]), issuerKeyHash, length, tbs, extensionsLength, sct.extensions]);
    checks.push({ algorithm: sct.algorithm, data, key: spkiKey(log.publicKey!.rawBytes!), signature: sct.signature });
  }
  // Each Rekor entry: its SET and its checkpoint.
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const log = trustedRoot.tlogs.find((tlog) => Buffer.from(tlog.logId!.keyId).equals(entry.logId.keyId))!;
    const rekorKey = spkiKey(log.publicKey!.rawBytes!);
    if (entry.inclusionPromise) {
      const payload = { body: entry.canonicalizedBody.toString('base64'), integratedTime: Number(entry.integratedTime), logIndex: Number(entry.logIndex), logID: entry.logId.keyId.toString('hex') };
      checks.push({ algorithm: 'sha256', data: Buffer.from(json.canonicalize(payload)), key: rekorKey, signature: entry.inclusionPromise.signedEntryTimestamp });
    }
    if (entry.inclusionProof?.checkpoint) {
      const [note, signatures] = entry.inclusionProof.checkpoint.envelope.split('\n\n');
      const signature = Buffer.from(signatures.split(' ')[2], 'base64').subarray(4);
      checks.push({ algorithm: 'sha256', data: Buffer.from(`${note}\n`), key: rekorKey, signature });
    }
  }
  // The DSSE envelope, by the leaf's key.
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('floor: not a DSSE bundle');
  const envelope = bundle.content.dsseEnvelope;
  checks.push({ algorithm: 'sha256', data: dsse.preAuthEncoding(envelope.payloadType, envelope.payload), key: leafNative.publicKey, signature: envelope.signatures[0].sig });
  for (const check of checks) if (!cryptoVerify(check.algorithm, check.data, check.key, check.signature)) throw new Error('floor: a signature check does not verify');
  return checks;
}

const curveOf = (key: KeyObject) => (key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? '?').replace('prime256v1', 'P-256').replace('secp384r1', 'P-384');

/** "1 P-384 + 4 P-256" for every bundle, or each count with the number of bundles needing it. */
function describeChecks(perBundle: SignatureCheck[][]): string {
  const shapes = perBundle.map((checks) => {
    const counts = new Map<string, number>();
    for (const check of checks) counts.set(curveOf(check.key), (counts.get(curveOf(check.key)) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => b.localeCompare(a)).map(([curve, count]) => `${count} ${curve}`).join(' + ');
  });
  const tally = new Map<string, number>();
  for (const shape of shapes) tally.set(shape, (tally.get(shape) ?? 0) + 1);
  return [...tally].map(([shape, bundles]) => (tally.size === 1 ? shape : `${shape} (${bundles} bundles)`)).join(', ');
}

const cpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

interface Contestant {
  /** One pass: every sample verified once; returns the number of bundles. */
  pass: () => number;
  micros: number;
  bundles: number;
}

/**
 * One round of about `seconds` of CPU: the contestants take turns pass by
 * pass, each pass timed on its own, so that every contestant sees the same
 * machine load (a round per contestant let a loaded machine's swings land on
 * one of them: per-round ratios spread 0.39-0.70). Returns bundles per CPU
 * second for each contestant.
 */
function measureRound(passes: Array<() => number>, seconds: number): number[] {
  const contestants: Contestant[] = passes.map((pass) => ({ pass, micros: 0, bundles: 0 }));
  const start = cpuMicros();
  while (cpuMicros() - start < seconds * 1e6) {
    for (const contestant of contestants) {
      const before = cpuMicros();
      contestant.bundles += contestant.pass();
      contestant.micros += cpuMicros() - before;
    }
  }
  return contestants.map(({ bundles, micros }) => bundles / (micros / 1e6));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

export interface CoreBenchResult {
  bundles: number;
  rounds: number;
  /** The floor's signature checks per bundle, e.g. "1 P-384 + 4 P-256". */
  checksPerBundle: string;
  floorPerSecond: number;
  oursPerSecond: number;
  referencePerSecond: number;
  /** Ours as a share of the floor: median of the per-round ratios, with their range. */
  floorRatio: { median: number; min: number; max: number };
  /** Ours against the library: median of the per-round ratios. */
  referenceRatio: number;
}

export function runCoreBench(seconds = Number(process.env.BENCH_SECONDS ?? 3), rounds = Number(process.env.BENCH_CORE_ROUNDS ?? 5)): CoreBenchResult {
  // As in the verification worker: @sigstore/core's ASN.1 parser throws and catches errors, and stack traces are off there.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const samples = loadSamples();
    const material = embeddedTrustMaterial();
    const trust = createTrustContext(material);
    const trustedRoot = TrustedRoot.fromJSON(material.trustedRoot);
    const referenceTrust = toTrustMaterial(trustedRoot);
    const floorChecks = samples.map((sample) => signatureChecksOf(sample.bundle, trustedRoot));

    const floor = (checks: SignatureCheck[]) => {
      for (const check of checks) if (!cryptoVerify(check.algorithm, check.data, check.key, check.signature)) throw new Error('floor: signature check failed');
    };
    const ours = (sample: Sample) => {
      verifyBundleForPackage(sample.bundle, sample.subject, trust);
    };
    const reference = (sample: Sample) => {
      new Verifier(referenceTrust).verify(toSignedEntity(bundleFromJSON(sample.bundle)));
    };
    // Warm the JIT, and fail loudly if anything does not verify.
    for (let pass = 0; pass < 3; pass++) for (const sample of samples) ours(sample);
    for (const sample of samples) reference(sample);
    const pass =
      <T>(items: T[], verifyOne: (item: T) => void) =>
      () => {
        for (const item of items) verifyOne(item);
        return items.length;
      };
    const perRound = { floor: [] as number[], ours: [] as number[], reference: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const [floorRate, oursRate, referenceRate] = measureRound([pass(floorChecks, floor), pass(samples, ours), pass(samples, reference)], seconds / rounds);
      perRound.floor.push(floorRate);
      perRound.ours.push(oursRate);
      perRound.reference.push(referenceRate);
    }
    const floorRatios = perRound.ours.map((value, index) => value / perRound.floor[index]);
    return {
      bundles: samples.length,
      rounds,
      checksPerBundle: describeChecks(floorChecks),
      floorPerSecond: median(perRound.floor),
      oursPerSecond: median(perRound.ours),
      referencePerSecond: median(perRound.reference),
      floorRatio: { median: median(floorRatios), min: Math.min(...floorRatios), max: Math.max(...floorRatios) },
      referenceRatio: median(perRound.ours.map((value, index) => value / perRound.reference[index])),
    };
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export function main(): void {
  const result = runCoreBench();
  console.log(`core: ${result.bundles} real npm provenance bundles, one core, cold (no result cache), CPU time, median of ${result.rounds} alternated rounds`);
  console.log(`  ECDSA floor (${result.checksPerBundle} verifies per bundle, keys imported): ${result.floorPerSecond.toFixed(0)} bundles/s`);
  console.log(`  yarn-plugin-sigstore core:       ${result.oursPerSecond.toFixed(0)} bundles/s = ${result.floorRatio.median.toFixed(2)} of the floor (rounds ${result.floorRatio.min.toFixed(2)}-${result.floorRatio.max.toFixed(2)})`);
  console.log(`  @sigstore/verify as npm uses it: ${result.referencePerSecond.toFixed(0)} bundles/s (ours ${result.referenceRatio.toFixed(2)}x)`);
}
