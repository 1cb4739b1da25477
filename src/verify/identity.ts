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

/** Reads every Fulcio claim the (already verified) signing certificate carries. */
export function signerIdentity(certificate: X509Certificate): SignerIdentity {
  const identity: SignerIdentity = readSan(certificate);
  for (const [arc, claim] of V1_CLAIMS) {
    const extension = certificate.extension(`${FULCIO}.${arc}`);
    if (extension) identity[claim] = extension.value.toString('utf8');
  }
  for (const [arc, claim] of V2_CLAIMS) {
    const oid = `${FULCIO}.${arc}`;
    const extension = certificate.extension(oid);
    if (extension) identity[claim] = readUtf8String(extension.value, oid);
  }
  return identity;
}
