/**
 * The in-toto statement inside a VERIFIED DSSE envelope, and its binding to
 * the exact package bytes: one subject must carry both the npm purl (byte for
 * byte) and the tarball's sha512.
 */
import type { Bundle } from '@sigstore/bundle';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { PackageSubject } from './types';

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  predicateType: string;
  subject: InTotoSubject[];
}

function malformed(subject: string, why: string): never {
  throw new SigstorePluginError(ErrorCodes.STATEMENT_MALFORMED, `${subject}: the signed in-toto statement ${why}`, { subject });
}

/** Call only after the envelope's signature verified. */
export function readStatement(bundle: Bundle, subject: string): InTotoStatement {
  if (bundle.content.$case !== 'dsseEnvelope') malformed(subject, 'is missing: the bundle signs a bare message, not a DSSE envelope');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) malformed(subject, `has payload type ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  let statement: { predicateType?: unknown; subject?: unknown };
  try {
    statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
  } catch {
    malformed(subject, 'is not JSON');
  }
  if (typeof statement !== 'object' || statement === null) malformed(subject, 'is not a JSON object');
  if (typeof statement.predicateType !== 'string') malformed(subject, 'has no predicateType');
  if (!Array.isArray(statement.subject)) malformed(subject, 'has no subject list');
  const subjects = statement.subject.map((entry: unknown): InTotoSubject => {
    const { name, digest } = (entry ?? {}) as { name?: unknown; digest?: unknown };
    if (typeof name !== 'string' || typeof digest !== 'object' || digest === null) malformed(subject, 'has a subject without name or digest');
    return { name, digest: digest as Record<string, string> };
  });
  return { predicateType: statement.predicateType, subject: subjects };
}

/** The purl npm writes into its attestations: `pkg:npm/%40scope/name@1.2.3`, no qualifiers. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/**
 * The sha512 an attestations document CLAIMS for the package, read from its
 * first statement naming the package's purl, before anything is verified: a
 * guess that lets verification start before the tarball arrives, never a
 * fact. The result counts only for a tarball with this very digest (the
 * verification binds it); for any other tarball it is verified again.
 */
export function claimedSha512(document: unknown, name: string, version: string): string | undefined {
  const purl = npmPurl(name, version);
  const entries = (document as { attestations?: unknown } | null)?.attestations;
  if (!Array.isArray(entries)) return undefined;
  for (const entry of entries) {
    try {
      const payload = (entry as { bundle?: { dsseEnvelope?: { payload?: unknown } } })?.bundle?.dsseEnvelope?.payload;
      if (typeof payload !== 'string') continue;
      const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { subject?: unknown };
      const named = Array.isArray(statement?.subject) ? statement.subject.find((subject: { name?: unknown }) => subject?.name === purl) : undefined;
      const sha512 = named?.digest?.sha512;
      if (typeof sha512 === 'string' && /^[0-9a-fA-F]{128}$/.test(sha512)) return sha512.toLowerCase();
    } catch {
      // Not readable: no guess from this entry.
    }
  }
  return undefined;
}

export function describeSubject(subject: PackageSubject): string {
  return `${subject.name}@${subject.version}`;
}

export function bindSubject(statement: InTotoStatement, subject: PackageSubject): void {
  const label = describeSubject(subject);
  const purl = npmPurl(subject.name, subject.version);
  const named = statement.subject.filter((entry) => entry.name === purl);
  if (named.length === 0) {
    const seen = statement.subject.map((entry) => entry.name).join(', ') || '(none)';
    throw new SigstorePluginError(ErrorCodes.SUBJECT_NAME_MISMATCH, `${label}: the attestation is not about ${purl} (its subjects: ${seen})`, { subject: label });
  }
  const expected = subject.sha512Hex.toLowerCase();
  if (!named.some((entry) => typeof entry.digest.sha512 === 'string' && entry.digest.sha512.toLowerCase() === expected)) {
    throw new SigstorePluginError(ErrorCodes.SUBJECT_DIGEST_MISMATCH, `${label}: the attested sha512 is not the tarball's (${expected.slice(0, 16)}...)`, {
      subject: label,
      details: { expected, attested: named.map((entry) => entry.digest.sha512) },
    });
  }
}
