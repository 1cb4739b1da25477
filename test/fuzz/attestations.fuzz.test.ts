/**
 * Bounded mutation fuzzing of attestation-document parsing and bundle
 * verification, fed the REAL npm attestations of the fixture packages.
 *
 * Every case must end in a verified result or a SigstorePluginError with a
 * known code other than INTERNAL (which would mean a library exception the
 * verification steps do not recognise). A mutated document that is ACCEPTED must be semantically
 * neutral. How we tell: each attestation of the mutated document, parsed and
 * re-serialized by @sigstore/bundle (the protobuf form the verifier reads),
 * with its registry label, must equal one of the original's attestations,
 * except at paths that are not verification input by design (NEUTRAL_PATHS).
 * So whitespace, key order, number-vs-string, fields the bundle format does
 * not have, lines after a checkpoint's signature lines (neither signed nor
 * read), an empty timestamp list written differently, and a document listing fewer or repeated genuine attestations
 * (what is then required is the policy's call) are neutral; any other
 * accepted change is a finding and fails the test.
 *
 * SIGSTORE_FUZZ_CASES=200000 runs more; SIGSTORE_FUZZ_SEED replays a run.
 */
import { createHash } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SigstorePluginError } from '../../src/errors';
import { verifyDocument } from '../../src/install/document-verification';
import { createTrustContext } from '../../src/trust';
import { verifyPackageAttestations, type PackageSubject } from '../../src/verify';
import { loadFixturePackages, productionNpmKeys, productionTrustedRoot } from '../../testkit/fixtures';
import { FUZZ_SEED, caseCount, int, mutateJson, mutateText, pick, prng } from '../../testkit/mutate';

const CASES = caseCount(14_000, 0.7);
const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));
const trust = createTrustContext({ trustedRoot: productionTrustedRoot(), npmKeys: productionNpmKeys(), origin: 'production' } as never);

interface Seed {
  label: string;
  subject: PackageSubject;
  document: any;
  text: string;
  projection: Projection;
}

/**
 * Bundle fields that are not verification input: the chain certificates after
 * the leaf (the trusted root supplies the CA chain) and the DSSE `keyid`, an
 * unsigned hint (the key comes from the certificate or the bundle's key hint).
 */
const NEUTRAL_PATHS = [/^verificationMaterial\.x509CertificateChain\.certificates\.[1-9]\d*(\.|$)/, /^dsseEnvelope\.signatures\.\d+\.keyid$/];

type Projection = [label: unknown, bundle: unknown][];

/** A checkpoint note as signed and read: its text and its well-formed signature lines (trailing junk is neither). */
function signedNote(envelope: string): string {
  const [text, signatures = ''] = envelope.split('\n\n');
  return [text, ...signatures.split('\n').filter((line) => /^\u2014 \S+ [A-Za-z0-9+/]+={0,2}$/.test(line))].join('\n');
}

/** What the verifier reads of a document: predicate labels and each bundle in its protobuf form. */
function projection(document: any): Projection | undefined {
  try {
    return document.attestations.map((entry: any) => {
      const bundle = bundleToJSON(bundleFromJSON(entry.bundle)) as any;
      // No RFC 3161 timestamps: an empty, absent or null timestampVerificationData says the same.
      if (!bundle.verificationMaterial?.timestampVerificationData?.rfc3161Timestamps?.length) delete bundle.verificationMaterial?.timestampVerificationData;
      for (const entry of bundle.verificationMaterial?.tlogEntries ?? []) {
        if (typeof entry.inclusionProof?.checkpoint?.envelope === 'string') entry.inclusionProof.checkpoint.envelope = signedNote(entry.inclusionProof.checkpoint.envelope);
      }
      return [entry.predicateType, bundle];
    });
  } catch {
    return undefined;
  }
}

/** Paths (dot-joined) where two JSON values differ. */
const INTEGER = /^\s*-?\d+\s*$/;

/** Same value: identical, or the same integer written with surrounding whitespace (how the log fields are parsed). */
function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'string' && typeof b === 'string' && INTEGER.test(a) && INTEGER.test(b) && BigInt(a.trim()) === BigInt(b.trim()));
}

function differences(a: any, b: any, prefix = ''): string[] {
  if (sameScalar(a, b)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return [prefix];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) => differences(a[key], b[key], prefix ? `${prefix}.${key}` : key));
}

/** The paths at which a mutated document changed what is verified; empty when the change is neutral. */
function changedPaths(original: Projection, mutated: Projection | undefined): string[] {
  if (!mutated || mutated.length === 0) return ['attestations'];
  return mutated.flatMap(([label, bundle], index) => {
    const candidates = original
      .filter(([originalLabel]) => originalLabel === label)
      .map(([, originalBundle]) => differences(originalBundle, bundle).filter((path) => !NEUTRAL_PATHS.some((neutral) => neutral.test(path))));
    if (candidates.length === 0) return [`attestations.${index}.predicateType`];
    const valueAt = (path: string) => JSON.stringify(path.split('.').reduce((node: any, key) => node?.[key], bundle))?.slice(0, 40);
    return candidates.reduce((best, paths) => (paths.length < best.length ? paths : best)).map((path) => `attestations.${index}.bundle.${path} (now ${valueAt(path)})`);
  });
}

function seeds(): Seed[] {
  return loadFixturePackages().map((fixture) => {
    const subject = { name: fixture.name, version: fixture.version, sha512Hex: createHash('sha512').update(fixture.tarball).digest('hex') };
    const text = fixture.attestationsBytes.toString('utf8');
    return { label: `${fixture.name}@${fixture.version}`, subject, document: JSON.parse(text), text, projection: projection(JSON.parse(text))! };
  });
}

type Outcome = { accepted: true } | { accepted: false; code: string; message: string } | { crash: unknown };

/** Text goes the way a served document goes: parsed under the size and nesting caps, then verified. */
function run(input: unknown, subject: PackageSubject): Outcome {
  try {
    if (typeof input === 'string') verifyDocument({ document: Buffer.from(input), url: 'https://registry.example/-/npm/v1/attestations/fuzz', maxBytes: 10_000_000, ...subject }, trust, verifyPackageAttestations);
    else verifyPackageAttestations(input, subject, trust);
    return { accepted: true };
  } catch (error) {
    if (error instanceof SigstorePluginError && KNOWN_CODES.has(error.code)) return { accepted: false, code: error.code, message: error.message };
    return { crash: error };
  }
}

describe('fuzz: attestation documents and bundles (real npm fixtures)', () => {
  const all = seeds();

  it('every seed verifies unmutated, and neutral re-serializations still verify', () => {
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const seed of all) {
      expect(run(seed.text, seed.subject), seed.label).toEqual({ accepted: true });
      expect(run(JSON.stringify(seed.document, null, 7), seed.subject), seed.label).toEqual({ accepted: true });
      const reordered = { attestations: seed.document.attestations.map((entry: any) => ({ bundle: entry.bundle, predicateType: entry.predicateType })) };
      expect(run(reordered, seed.subject), seed.label).toEqual({ accepted: true });
    }
  });

  it(`${CASES} seeded mutations: coded errors only, no changed bundle accepted`, () => {
    const random = prng(FUZZ_SEED);
    const crashes: string[] = [];
    const acceptedChanges: string[] = [];
    // INTERNAL means a bug, not hostile input: every hostile input must get the code that says what is wrong.
    const internal: string[] = [];
    const codes = new Map<string, number>();
    let neutral = 0;
    for (let index = 0; index < CASES; index++) {
      const seed = pick(random, all);
      let input: unknown;
      let description: string;
      let document: unknown;
      if (random() < 0.15) {
        input = mutateText(random, seed.text);
        description = 'raw text';
        try {
          document = JSON.parse(input as string);
        } catch {
          document = undefined;
        }
      } else {
        // One to three mutations stacked on the document tree.
        let tree = seed.document;
        const steps: string[] = [];
        for (let step = 1 + int(random, 3); step > 0; step--) {
          const { mutated, description: what } = mutateJson(random, tree);
          tree = mutated;
          steps.push(what);
        }
        input = tree;
        document = tree;
        description = steps.join(' + ');
      }
      const outcome = run(input, seed.subject);
      const where = `case ${index} (seed ${FUZZ_SEED}) ${seed.label}: ${description}`;
      if ('crash' in outcome) crashes.push(`${where}: ${(outcome.crash as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(outcome.crash)}`);
      else if (outcome.accepted) {
        const changed = changedPaths(seed.projection, document === undefined ? undefined : projection(document));
        if (changed.length === 0) neutral++;
        else acceptedChanges.push(`${where}: accepted with ${changed.join(', ')} changed`);
      } else {
        codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
        if (outcome.code === ErrorCodes.INTERNAL) internal.push(`${where}: ${outcome.message}`);
      }
    }
    const summary = [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([code, count]) => `${code} ${count}`).join(', ');
    // The count and what the run found, for SECURITY.md (`npx vitest run test/fuzz`).
    console.log(`fuzz attestations: ${CASES} cases, seed ${FUZZ_SEED}: ${neutral} neutral accepted, ${acceptedChanges.length} changed accepted, ${crashes.length} uncoded errors; refusals: ${summary}`);
    expect(crashes.slice(0, 10)).toEqual([]);
    expect(acceptedChanges.slice(0, 10)).toEqual([]);
    expect(internal.slice(0, 10)).toEqual([]);
  });
});
