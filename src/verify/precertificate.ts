/**
 * The RFC 6962 precertificate TBS of a leaf: its TBSCertificate with the SCT
 * extension removed. Cut out of the leaf's own DER bytes (three enclosing
 * lengths rewritten) instead of re-encoding the whole parsed tree, which is
 * what makes @sigstore/verify's verifySCTs slow. Any surprise in the encoding
 * throws: the SCT check then fails closed.
 */
const SEQUENCE = 0x30;
const EXTENSIONS_TAG = 0xa3; // [3] EXPLICIT in TBSCertificate
// OID 1.3.6.1.4.1.11129.2.4.2 (embedded SCT list), DER-encoded with its tag and length.
const SCT_EXTENSION_OID = Buffer.from('060a2b06010401d679020402', 'hex');

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error('truncated DER');
  const tag = der[offset];
  let length = der[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > limit) throw new Error('unsupported DER length');
    length = 0;
    for (let index = 0; index < count; index++) length = length * 256 + der[contentStart + index];
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error('DER length past its container');
  return { tag, start: offset, contentStart, end };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const result: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; offset = result[result.length - 1].end) result.push(readTlv(der, offset, parent.end));
  return result;
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function header(tag: number, length: number): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(length)]);
}

/** The precertificate TBS, or undefined when the leaf carries no SCT extension. */
export function precertificateTbs(leafDer: Uint8Array): Buffer | undefined {
  const der = Buffer.from(leafDer.buffer, leafDer.byteOffset, leafDer.byteLength);
  const certificate = readTlv(der, 0, der.length);
  const tbs = children(der, certificate)[0];
  if (certificate.tag !== SEQUENCE || tbs?.tag !== SEQUENCE) throw new Error('not an X.509 certificate');
  const explicit = children(der, tbs).find((field) => field.tag === EXTENSIONS_TAG);
  if (!explicit) return undefined;
  const extensions = children(der, explicit)[0];
  if (extensions?.tag !== SEQUENCE) throw new Error('malformed extensions');
  const sct = children(der, extensions).find((extension) => {
    const oid = children(der, extension)[0];
    return oid && der.subarray(oid.start, oid.end).equals(SCT_EXTENSION_OID);
  });
  if (!sct) return undefined;
  const removed = sct.end - sct.start;
  const extensionsLength = extensions.end - extensions.contentStart - removed;
  const extensionsHeader = header(SEQUENCE, extensionsLength);
  const explicitLength = extensionsHeader.length + extensionsLength;
  const explicitHeader = header(EXTENSIONS_TAG, explicitLength);
  const tbsLength = tbs.end - tbs.contentStart - (explicit.end - explicit.start) + explicitHeader.length + explicitLength;
  return Buffer.concat([
    header(SEQUENCE, tbsLength),
    der.subarray(tbs.contentStart, explicit.start),
    explicitHeader,
    extensionsHeader,
    der.subarray(extensions.contentStart, sct.start),
    der.subarray(sct.end, extensions.end),
    der.subarray(explicit.end, tbs.end),
  ]);
}
