/**
 * Core bench: real npm provenance bundles verified per second on one core,
 * our core vs @sigstore/verify used as npm uses it (pacote / `sigstore.verify`:
 * bundleFromJSON + toSignedEntity + a new Verifier per bundle), same bundles,
 * same run. Cold: nothing is cached between bundles except the trust material.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createTrustContext, embeddedTrustMaterial } from '../src/trust';
import { PREDICATE_NPM_PUBLISH_V01, verifyBundleForPackage, type PackageSubject } from '../src/verify';

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

/** Runs `verifyOne` over the samples round-robin for about `seconds`; returns bundles per second. */
function measure(samples: Sample[], verifyOne: (sample: Sample) => void, seconds: number): number {
  for (const sample of samples) verifyOne(sample); // warm the JIT, and fail loudly if anything does not verify
  let count = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (const sample of samples) verifyOne(sample);
    count += samples.length;
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

export interface CoreBenchResult {
  bundles: number;
  oursPerSecond: number;
  referencePerSecond: number;
  ratio: number;
}

export function runCoreBench(seconds = Number(process.env.BENCH_SECONDS ?? 3)): CoreBenchResult {
  const samples = loadSamples();
  const material = embeddedTrustMaterial();
  const trust = createTrustContext(material);
  const referenceTrust = toTrustMaterial(TrustedRoot.fromJSON(material.trustedRoot));

  const ours = (sample: Sample) => {
    verifyBundleForPackage(sample.bundle, sample.subject, trust);
  };
  const reference = (sample: Sample) => {
    new Verifier(referenceTrust).verify(toSignedEntity(bundleFromJSON(sample.bundle)));
  };
  // Interleave so that both see the same machine load.
  const half = seconds / 2;
  const referencePerSecond = (measure(samples, reference, half) + measure(samples, reference, half)) / 2;
  const oursPerSecond = (measure(samples, ours, half) + measure(samples, ours, half)) / 2;
  return { bundles: samples.length, oursPerSecond, referencePerSecond, ratio: oursPerSecond / referencePerSecond };
}

export function main(): void {
  const result = runCoreBench();
  console.log(`core: ${result.bundles} real npm provenance bundles, one core, cold (no result cache)`);
  console.log(`  @sigstore/verify as npm uses it: ${result.referencePerSecond.toFixed(0)} bundles/s`);
  console.log(`  yarn-plugin-sigstore core:       ${result.oursPerSecond.toFixed(0)} bundles/s`);
  console.log(`  ratio: ${result.ratio.toFixed(2)}x`);
}
