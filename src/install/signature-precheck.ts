/**
 * A package's npm registry signature checked on the packument worker as its
 * packument is read: for the integrity the packument claims, at its publish
 * time, with the install's npm keys, off Yarn's main thread (~0.1 ms an
 * ECDSA verify per package). registry-signals.ts takes that answer only for
 * a tarball of exactly that digest, checked at that very time with those
 * very keys: verifyRegistrySignatures is a function of these and of the
 * signatures and URL of the same facts, so the answer is the one it would
 * compute. Anything else is checked again on the main thread. Knows nothing
 * of Yarn.
 */
import type { PackageLookup, PackumentFacts } from '../sources/types';
import { parseNpmKeys, type NpmKey } from '../trust/npm-keys';
import { checkRegistrySignatures, type RegistrySignatureCheck } from '../verify/registry-signature';

/** The key validity time's source when it is the packument's publish time (as registry-signals.ts words it). */
export const PACKUMENT_PUBLISH_TIME = 'its publish time in the packument (unsigned, as npm audit signatures uses it)';

/** The install's npm keys as the worker gets them: the digest of the trust material, and its `npmKeys` (sent once per worker). */
export interface RegistryKeys {
  digest: string;
  npmKeys?: unknown;
}

/** The sha512 an SRI integrity claims, as hex; undefined when it claims none. */
function claimedSha512Hex(integrity: string | undefined): string | undefined {
  const sri = integrity?.split(/\s+/).find((part) => part.startsWith('sha512-'));
  const bytes = sri === undefined ? undefined : Buffer.from(sri.slice('sha512-'.length), 'base64');
  return bytes?.length === 64 ? bytes.toString('hex') : undefined;
}

const keysByDigest = new Map<string, NpmKey[]>();

/** The facts with their signatures checked ahead when they can be (signatures, publish time, a sha512 claimed, keys known); never a failure of its own. */
export function precheckSignature(facts: PackumentFacts, pkg: PackageLookup, keys: RegistryKeys): PackumentFacts {
  const sha512Hex = claimedSha512Hex(facts.integrity);
  if (facts.signatures === undefined || facts.publishedAt === undefined || sha512Hex === undefined) return facts;
  try {
    let parsed = keysByDigest.get(keys.digest);
    if (!parsed && keys.npmKeys !== undefined) keysByDigest.set(keys.digest, (parsed = parseNpmKeys(keys.npmKeys, 'of the install')));
    if (!parsed) return facts;
    const time = facts.publishedAt;
    const check = checkRegistrySignatures({ name: pkg.name, version: pkg.version, sha512Hex, signatures: facts.signatures, keys: parsed, time, timeSource: PACKUMENT_PUBLISH_TIME, source: facts.url });
    return { ...facts, signatureCheck: { sha512Hex, timeMs: time.getTime(), keysDigest: keys.digest, check } };
  } catch {
    // The main thread checks it as if nothing had been checked here.
    return facts;
  }
}

/** The check made ahead when it is the one to make now: signatures of these facts, this digest, this time from the publish time, these keys. */
export function precheckedFor(facts: PackumentFacts | undefined, sha512Hex: string, time: Date, timeSource: string, keysDigest: string): RegistrySignatureCheck | undefined {
  const ahead = facts?.signatureCheck;
  if (!ahead || timeSource !== PACKUMENT_PUBLISH_TIME) return undefined;
  return ahead.sha512Hex === sha512Hex && ahead.timeMs === time.getTime() && ahead.keysDigest === keysDigest ? ahead.check : undefined;
}
