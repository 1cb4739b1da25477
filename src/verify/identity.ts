/**
 * Fulcio certificate claims -> SignerIdentity. Old certificates carry only the
 * v1 extensions (OIDs .1-.6, raw bytes); newer ones the v2 extensions (.8-.23,
 * a DER UTF8String each). Where both exist the v2 value wins. A claim the
 * certificate does not carry stays absent.
 */
import { ASN1Obj, type X509Certificate } from '@sigstore/core';
import { ErrorCodes, SigstorePluginError } from '../errors';
import type { SignerIdentity } from './types';

const FULCIO = '1.3.6.1.4.1.57264.1';
const FULCIO_PREFIX = `${FULCIO}.`;
const UTF8_STRING_TAG = 0x0c;

type Claim = Exclude<keyof SignerIdentity, 'san' | 'sanType'>;

/** v2 extensions: DER-encoded UTF8String values. */
const V2_CLAIMS: ReadonlyArray<[number, Claim]> = [
  [8, 'issuer'],
  [9, 'buildSignerUri'],
  [10, 'buildSignerDigest'],
  [11, 'runnerEnvironment'],
  [12, 'sourceRepositoryUri'],
  [13, 'sourceRepositoryDigest'],
  [14, 'sourceRepositoryRef'],
  [15, 'sourceRepositoryIdentifier'],
  [16, 'sourceRepositoryOwnerUri'],
  [17, 'sourceRepositoryOwnerIdentifier'],
  [18, 'buildConfigUri'],
  [19, 'buildConfigDigest'],
  [20, 'buildTrigger'],
  [21, 'runInvocationUri'],
  [22, 'sourceRepositoryVisibility'],
  [23, 'deploymentEnvironment'],
];

/** v1 extensions (deprecated by Fulcio): raw string values. */
const V1_CLAIMS: ReadonlyArray<[number, Claim]> = [
  [1, 'issuer'],
  [2, 'buildTrigger'],
  [3, 'sourceRepositoryDigest'],
  [4, 'githubWorkflowName'],
  [5, 'githubWorkflowRepository'],
  [6, 'sourceRepositoryRef'],
];

function malformed(oid: string, cause?: unknown): never {
  throw new SigstorePluginError(ErrorCodes.CERTIFICATE_CHAIN, `signing certificate extension ${oid} is not a DER UTF8String`, { cause });
}

function readUtf8String(der: Buffer, oid: string): string {
  let value: ASN1Obj;
  try {
    value = ASN1Obj.parseBuffer(der as Buffer<ArrayBuffer>);
  } catch (cause) {
    malformed(oid, cause);
  }
  if (!value.tag.isUniversal() || value.tag.number !== UTF8_STRING_TAG) malformed(oid);
  return value.value.toString('utf8');
}

function readSan(certificate: X509Certificate): Pick<SignerIdentity, 'san' | 'sanType'> {
  const extension = certificate.extSubjectAltName;
  const uri = extension?.uri;
  if (uri) return { san: uri, sanType: 'uri' };
  const email = extension?.rfc822Name;
  if (email) return { san: email, sanType: 'email' };
  throw new SigstorePluginError(ErrorCodes.CERTIFICATE_CHAIN, 'signing certificate has no URI or e-mail subject alternative name');
}

/** The DER content of the Fulcio arc's OID, 1.3.6.1.4.1.57264.1. */
const FULCIO_OID_BYTES = Buffer.from('2b0601040183bf3001', 'hex');

/** Whether no arc of an OID's DER content starts with 0x80 (non-minimal): then equal OIDs have equal bytes. */
function minimalOid(value: Buffer): boolean {
  let arcStart = true;
  for (const byte of value) {
    if (arcStart && byte === 0x80) return false;
    arcStart = (byte & 0x80) === 0;
  }
  return true;
}

/** The Fulcio arc an extension's OID names (1.3.6.1.4.1.57264.1.<arc>), if it names one. */
function fulcioArc(oid: ASN1Obj): number | undefined {
  const value = oid.value;
  if (!oid.tag.isOID() || !minimalOid(value)) {
    // toOID() throws for a non-OID, as the library's lookups do; a non-minimal encoding is read as the library reads it.
    const text = oid.toOID();
    if (!text.startsWith(FULCIO_PREFIX)) return undefined;
    const arc = Number(text.slice(FULCIO_PREFIX.length));
    return Number.isInteger(arc) ? arc : undefined;
  }
  // Minimal DER: the prefix's bytes and one arc byte below 0x80 (arcs 0-127; a longer OID is a deeper arc).
  if (value.length !== FULCIO_OID_BYTES.length + 1 || value[FULCIO_OID_BYTES.length] >= 0x80) return undefined;
  return value.subarray(0, FULCIO_OID_BYTES.length).equals(FULCIO_OID_BYTES) ? value[FULCIO_OID_BYTES.length] : undefined;
}

/**
 * The Fulcio extensions' values by arc, in one pass over the extensions (a
 * lookup per claim re-decoded every extension's OID: ~0.2 ms a certificate),
 * their OIDs compared as bytes. Where an extension repeats, the first counts,
 * as in X509Certificate.extension().
 */
function fulcioExtensions(certificate: X509Certificate): Map<number, Buffer> {
  const values = new Map<number, Buffer>();
  for (const extension of certificate.extensions) {
    const arc = fulcioArc(extension.subs[0]);
    // extnValue is the extension's last element (after the optional critical flag), as X509Extension reads it.
    if (arc !== undefined && !values.has(arc)) values.set(arc, extension.subs[extension.subs.length - 1].value);
  }
  return values;
}

/** Reads every Fulcio claim the (already verified) signing certificate carries. */
export function signerIdentity(certificate: X509Certificate): SignerIdentity {
  const identity: SignerIdentity = readSan(certificate);
  const extensions = fulcioExtensions(certificate);
  for (const [arc, claim] of V1_CLAIMS) {
    const value = extensions.get(arc);
    if (value) identity[claim] = value.toString('utf8');
  }
  for (const [arc, claim] of V2_CLAIMS) {
    const value = extensions.get(arc);
    if (value) identity[claim] = readUtf8String(value, `${FULCIO}.${arc}`);
  }
  return identity;
}
