/**
 * A certificate's DER parsed into @sigstore/core's own ASN.1 tree, by the
 * library's rules (ASN1Obj.parseBuffer: short-form tags only, strict minimal
 * lengths, a nesting cap, an OCTET STRING unwrapped when its content parses
 * as DER, no trailing data) without its costs: the library allocates a Buffer
 * for every byte it reads and throws (and catches) an exception for every
 * OCTET STRING that is not nested DER, ~0.2 ms of every Fulcio leaf. The tree
 * is the library's to the byte (test/verify/der.test.ts compares them on real
 * and mutated certificates), so every getter of X509Certificate reads it the
 * same way.
 */
import { ASN1Obj, X509Certificate } from '@sigstore/core';
// Internal of the pinned @sigstore/core 4.0: the tag class ASN1Obj is built from.
import { ASN1Tag } from '@sigstore/core/dist/asn1/tag';

/** The library's MAX_DEPTH. */
const MAX_DEPTH = 100;
const OCTET_STRING = 0x04;

/** One tag object per valid tag byte (tags are never modified); null where the library's ASN1Tag throws. */
const TAGS: ReadonlyArray<ASN1Tag | null> = Array.from({ length: 256 }, (_, byte) => {
  const number = byte & 0x1f;
  if (number === 0x1f || (byte >> 6 === 0 && number === 0)) return null;
  return new ASN1Tag(byte);
});

class Reader {
  position = 0;

  constructor(readonly der: Buffer) {}

  /** One element at the current position, or undefined where the library's parseStream throws. */
  element(depth: number): ASN1Obj | undefined {
    const der = this.der;
    if (depth > MAX_DEPTH || this.position >= der.length) return undefined;
    const tagByte = der[this.position++];
    const tag = TAGS[tagByte];
    if (!tag) return undefined;
    const length = this.length();
    if (length === undefined) return undefined;
    const start = this.position;
    if (start + length > der.length) return undefined;
    const value = der.subarray(start, start + length);
    let subs: ASN1Obj[] = [];
    if (tagByte & 0x20) {
      const children = this.children(length, depth);
      if (!children) return undefined;
      subs = children;
    } else if (tagByte === OCTET_STRING) {
      // Nested DER or an opaque value: a failure here is not an error, as in the library.
      subs = this.children(length, depth) ?? [];
    }
    if (subs.length === 0) this.position = start + length;
    return new ASN1Obj(tag, value, subs);
  }

  /** The library's decodeLength: definite, minimal, at most 6 length bytes. */
  private length(): number | undefined {
    const der = this.der;
    if (this.position >= der.length) return undefined;
    const first = der[this.position++];
    if ((first & 0x80) === 0) return first;
    const count = first & 0x7f;
    if (count > 6) return undefined;
    let length = 0;
    for (let index = 0; index < count; index++) {
      if (this.position >= der.length) return undefined;
      const byte = der[this.position++];
      if (index === 0 && byte === 0) return undefined;
      length = length * 256 + byte;
    }
    return length < 128 ? undefined : length;
  }

  /** The library's collectSubs: children read up to exactly `length` bytes further. */
  private children(length: number, depth: number): ASN1Obj[] | undefined {
    const end = this.position + length;
    if (end > this.der.length) return undefined;
    const subs: ASN1Obj[] = [];
    while (this.position < end) {
      const child = this.element(depth + 1);
      if (!child) return undefined;
      subs.push(child);
    }
    return this.position === end ? subs : undefined;
  }
}

/** The ASN.1 tree of `der`, or undefined where ASN1Obj.parseBuffer would throw. */
export function parseDer(der: Buffer): ASN1Obj | undefined {
  const reader = new Reader(der);
  const root = reader.element(0);
  return root && reader.position === der.length ? root : undefined;
}

/**
 * X509Certificate.parse(der) of @sigstore/core, faster. On bytes the library
 * refuses, the library's own parser is run for its error (the message names
 * what is wrong).
 */
export function parseCertificate(der: Uint8Array): X509Certificate {
  const copy = Buffer.from(der);
  const root = parseDer(copy);
  if (!root) return X509Certificate.parse(copy as Buffer<ArrayBuffer>);
  parsedHere.add(root);
  return rememberingExtensionOids(new X509Certificate(root));
}

type ExtensionLookup = { findExtension(oid: string): ASN1Obj | undefined };

/**
 * The library's findExtension (the first extension whose OID is `oid`), with
 * each extension's OID decoded once per certificate instead of once per
 * lookup (the leaf's key id, constraints, SCTs, SAN: ~10 decodes each). The
 * OIDs are decoded in the same order, and one that does not decode throws
 * at the same lookup, as in the library.
 */
function rememberingExtensionOids(certificate: X509Certificate): X509Certificate {
  const oids: string[] = [];
  (certificate as unknown as ExtensionLookup).findExtension = (oid) => {
    const extensions = certificate.extensions;
    for (let index = 0; index < extensions.length; index++) {
      if ((oids[index] ??= extensions[index].subs[0].toOID()) === oid) return extensions[index];
    }
    return undefined;
  };
  return certificate;
}

/** Trees built by parseDer: every element's value is a view of the one parsed buffer, siblings contiguous. */
const parsedHere = new WeakSet<ASN1Obj>();

/**
 * The bytes of `parent.subs[index]` exactly as `certificate`'s DER carries
 * them: a view, where the library's toDER() re-encodes the element (0.3 ms
 * for a leaf's TBS). A tree der.ts did not build is re-encoded as before.
 */
export function encodingOf(certificate: X509Certificate, parent: ASN1Obj, index: number): Buffer {
  const child = parent.subs[index];
  if (!parsedHere.has(certificate.root)) return child.toDER();
  const previous = parent.subs[index - 1]?.value;
  // An element starts where its previous sibling's value ends, the first one where its parent's value starts.
  const start = previous ? previous.byteOffset + previous.length : parent.value.byteOffset;
  return Buffer.from(child.value.buffer, start, child.value.byteOffset + child.value.length - start);
}
