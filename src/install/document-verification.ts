/**
 * One attestation document verified for one package, where it is parsed:
 * on a verification worker (verify-worker.ts), or in-process where there is
 * none. The document arrives as the bytes it was served as and is parsed
 * here, once, under the size and nesting caps and with the errors every
 * source gives (src/sources/http.ts). Throws coded errors.
 */
import { parseJsonBody } from '../sources/http';
import type { TrustContext } from '../trust';
import { claimedSha512 } from '../verify/statement';
import type { PackageSubject, PackageVerification } from '../verify/types';

export interface DocumentRequest {
  /** The body as served (parsed here), or a document parsed already (tests). */
  document: unknown;
  /** Where it was served from, for errors. */
  url: string;
  maxBytes: number;
  name: string;
  version: string;
  /** The tarball's sha512; absent: the one the document claims (verifying early, before the tarball is there). */
  sha512Hex?: string;
}

export interface DocumentAnswer {
  /** The tarball digest it was verified for; absent when the document claims none for this package (nothing verified). */
  sha512Hex?: string;
  result?: PackageVerification;
  /** `signatures` at the top of the document (a bundle directory's, an attestation registry's), if any. */
  signatures?: unknown;
}

/** Verifies a parsed document for a subject (src/verify's verifyPackageAttestations: passed in, so that the main thread loads the core only when it verifies). */
export type VerifyAttestations = (document: unknown, subject: PackageSubject, trust: TrustContext) => PackageVerification;

export function verifyDocument(request: DocumentRequest, trust: TrustContext, verify: VerifyAttestations): DocumentAnswer {
  const { name, version } = request;
  const document = request.document instanceof Uint8Array ? parseJsonBody(request.document, request.maxBytes, `${name}@${version}`, request.url) : request.document;
  const signatures = signaturesOf(document);
  const sha512Hex = request.sha512Hex ?? claimedSha512(document, name, version);
  if (sha512Hex === undefined) return { signatures };
  return { sha512Hex, result: verify(document, { name, version, sha512Hex }, trust), signatures };
}

/** `signatures` at the top of a parsed attestations document, if any. */
export function signaturesOf(document: unknown): unknown {
  return (document as { signatures?: unknown } | null)?.signatures ?? undefined;
}
