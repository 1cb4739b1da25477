/**
 * Fast certificate chain step. @sigstore/verify rebuilds and re-verifies the
 * whole CA chain (root self-signature included) for every bundle, comparing
 * certificates by re-encoding their DER: 88% of its time. Here each trusted
 * CA chain is verified ONCE per trust material, by the library's own
 * CertificateChainVerifier, and what the library's path checks read of it
 * (CA flags, path length constraints, validity) is kept; per bundle only the
 * leaf is checked against its already-verified issuer, by the library's
 * rules: the issuer's subject key id matches the leaf's authority key id
 * (where both exist), the issuer's key verifies the signature over the TBS
 * bytes as carried, the names chain, every certificate is valid at each
 * verified time. The issuer keys are imported once; the leaf is parsed once
 * (der.ts) and its key imported from its SubjectPublicKeyInfo (public-key.ts).
 * SCTs are verified by @sigstore/core's SCT objects over a precertificate
 * cut from the leaf's bytes (precertificate.ts) instead of a re-encoded clone.
 */
import type { KeyObject } from 'node:crypto';
import { crypto as sigstoreCrypto, type X509Certificate } from '@sigstore/core';
import { VerificationError, type TrustMaterial } from '@sigstore/verify';
// Internals of the pinned @sigstore/verify 4.1: the same checks the stock Verifier makes.
import { CertificateChainVerifier } from '@sigstore/verify/dist/key/certificate';
import { filterTLogAuthorities } from '@sigstore/verify/dist/trust/filter';
import { encodingOf } from './der';
import { precertificateTbs } from './precertificate';
import { importPublicKey } from './public-key';

type CertAuthority = TrustMaterial['certificateAuthorities'][number];

interface VerifiedIssuer {
  /** The issuer followed by its library-verified path up to the self-signed root. */
  path: X509Certificate[];
  /** The issuer's key, imported once. */
  key: KeyObject;
  /** The issuer's subject key identifier, when it has one (the library's findIssuer matches it). */
  subjectKeyId?: Buffer;
  /** sha256 of the issuer's SubjectPublicKeyInfo: the RFC 6962 issuer key hash. */
  keyHash: Buffer;
  /** Whether the library's checkPath accepts this path below a leaf: every certificate a CA, path lengths respected. */
  pathAllowsLeaf: boolean;
  /** The span every certificate of the path is valid in (latest notBefore, earliest notAfter). */
  notBefore: Date;
  notAfter: Date;
}

interface InternalChainVerifier {
  sort(): X509Certificate[];
  checkPath(path: X509Certificate[]): void;
}

function certificateError(message: string, cause?: unknown): VerificationError {
  return new VerificationError({ code: 'CERTIFICATE_ERROR', message, cause });
}

/** checkPath's CA and path length rules for [leaf, ...path], less the leaf's own (a leaf at depth 0 can exceed no path length). */
function allowsLeaf(path: X509Certificate[]): boolean {
  return path.every((certificate, index) => {
    if (!certificate.isCA) return false;
    const pathLength = certificate.extBasicConstraints?.pathLenConstraint;
    // At depth index + 1 below the leaf, as the library counts.
    return pathLength === undefined || pathLength >= index;
  });
}

function verifiedIssuer(path: X509Certificate[]): VerifiedIssuer {
  const [certificate] = path;
  return {
    path,
    key: sigstoreCrypto.createPublicKey(certificate.publicKey),
    subjectKeyId: certificate.extSubjectKeyID?.keyIdentifier,
    keyHash: sigstoreCrypto.digest('sha256', certificate.publicKey),
    pathAllowsLeaf: allowsLeaf(path),
    notBefore: new Date(Math.max(...path.map((each) => each.notBefore.getTime()))),
    notAfter: new Date(Math.min(...path.map((each) => each.notAfter.getTime()))),
  };
}

/** Verified issuers of each CA, computed on first use; null when the CA chain does not verify on its own. */
const verifiedAuthorities = new WeakMap<CertAuthority, VerifiedIssuer[] | null>();

function verifyAuthorityOnce(authority: CertAuthority): VerifiedIssuer[] | null {
  let issuers = verifiedAuthorities.get(authority);
  if (issuers !== undefined) return issuers;
  try {
    issuers = authority.certChain.map((certificate) => {
      const verifier = new CertificateChainVerifier({ trustedCerts: authority.certChain, untrustedCert: certificate, timestamp: new Date() });
      const internal = verifier as unknown as InternalChainVerifier;
      const path = internal.sort();
      internal.checkPath(path);
      return verifiedIssuer(path);
    });
  } catch {
    issuers = null;
  }
  verifiedAuthorities.set(authority, issuers);
  return issuers;
}

function validAt(authority: CertAuthority, time: Date): boolean {
  return authority.validFor.start <= time && time <= authority.validFor.end;
}

interface LeafPath {
  path: X509Certificate[];
  issuer: VerifiedIssuer;
}

/** Whether each candidate issuer issued and signed the leaf, asked once per leaf (a P-384 verify is ~0.9 ms) whatever the number of verified times. */
type IssuedBy = (issuer: VerifiedIssuer) => boolean;

/** The library's findIssuer for one candidate: key identifiers where both exist, then the signature over the TBS. */
function issuedBy(leaf: X509Certificate): IssuedBy {
  const answers = new Map<VerifiedIssuer, boolean>();
  let signed: { tbs: Buffer; signature: Buffer; algorithm: string } | undefined;
  return (issuer) => {
    let answer = answers.get(issuer);
    if (answer === undefined) {
      const authorityKeyId = leaf.extAuthorityKeyID?.keyIdentifier;
      if (authorityKeyId && issuer.subjectKeyId && !authorityKeyId.equals(issuer.subjectKeyId)) {
        answer = false;
      } else {
        signed ??= { tbs: encodingOf(leaf, leaf.root, 0), signature: leaf.signatureValue, algorithm: leaf.signatureAlgorithm };
        answer = sigstoreCrypto.verify(signed.tbs, issuer.key, signed.signature, signed.algorithm);
      }
      answers.set(issuer, answer);
    }
    return answer;
  };
}

/**
 * The library's checkPath on [leaf, ...issuer.path], with the issuer path's
 * part read once: the names chain from the leaf, and the leaf's own basic
 * constraints decode (a malformed extension throws there in the library too).
 */
function checkLeafPath(leaf: X509Certificate, issuer: VerifiedIssuer): void {
  if (!issuer.pathAllowsLeaf) throw certificateError('intermediate certificate is not a CA, or a path length constraint is exceeded');
  void leaf.extBasicConstraints?.isCA;
  if (!leaf.issuer.equals(issuer.path[0].subject)) throw certificateError('incorrect certificate name chaining');
}

/** The verified path [leaf, issuer, ..., root] at `time`, or a CERTIFICATE_ERROR like the library's. */
function pathAt(leaf: X509Certificate, issued: IssuedBy, time: Date, authorities: CertAuthority[]): LeafPath {
  let lastError: unknown;
  for (const authority of authorities) {
    if (!validAt(authority, time)) continue;
    for (const issuer of verifyAuthorityOnce(authority) ?? []) {
      if (!issued(issuer)) continue;
      try {
        checkLeafPath(leaf, issuer);
      } catch (error) {
        lastError = error;
        continue;
      }
      if (!(leaf.validForDate(time) && issuer.notBefore <= time && time <= issuer.notAfter)) {
        lastError = certificateError('certificate is not valid or expired at the specified date');
        continue;
      }
      return { path: [leaf, ...issuer.path], issuer };
    }
  }
  throw certificateError('Failed to verify certificate chain', lastError);
}

function uint24(value: number): Buffer {
  return Buffer.from([(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);
}

/** The same checks as the library's verifySCTs: every embedded SCT must verify with a CT log valid at its time. */
function verifyScts(leaf: X509Certificate, leafDer: Uint8Array, issuer: VerifiedIssuer, ctlogs: TrustMaterial['ctlogs']): Buffer[] {
  const scts = leaf.extSCT?.signedCertificateTimestamps ?? [];
  if (scts.length === 0) return [];
  let tbs: Buffer | undefined;
  try {
    tbs = precertificateTbs(leafDer);
  } catch (cause) {
    throw certificateError('SCT verification failed: the precertificate cannot be derived', cause);
  }
  if (!tbs) throw certificateError('SCT verification failed: no SCT extension in the leaf bytes');
  const preCert = Buffer.concat([issuer.keyHash, uint24(tbs.length), tbs]);
  return scts.map((sct) => {
    const logs = filterTLogAuthorities(ctlogs, { logID: sct.logID, targetDate: sct.datetime });
    if (!logs.some((log) => sct.verify(preCert, log.publicKey))) throw certificateError('SCT verification failed');
    return sct.logID;
  });
}

/**
 * Drop-in for the library's verifyCertificate(): the chain at every verified
 * time, then the SCTs. `leafDer` are the leaf's bytes exactly as in the bundle.
 */
export function verifyLeafCertificate(
  leaf: X509Certificate,
  leafDer: Uint8Array,
  timestamps: Date[],
  material: TrustMaterial,
): { path: X509Certificate[]; scts: Buffer[]; leafKey: KeyObject } {
  try {
    const issued = issuedBy(leaf);
    let verified: LeafPath | undefined;
    for (const time of timestamps) verified = pathAt(leaf, issued, time, material.certificateAuthorities);
    if (!verified) throw certificateError('no trusted certificate path found');
    const scts = verifyScts(leaf, leafDer, verified.issuer, material.ctlogs);
    // The SubjectPublicKeyInfo as signed: element 6 of the TBS, as the library reads it.
    return { path: verified.path, scts, leafKey: importPublicKey(encodingOf(leaf, leaf.tbsCertificate, 6)) };
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    // DER that parses but is no certificate (a field missing, a key that does not import): the library's getters throw bare errors.
    throw certificateError('the signing certificate cannot be read', error);
  }
}
