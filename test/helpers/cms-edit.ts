// Editing a signed CMS message where no signature reaches: the certificate
// set, the revocation lists, unsigned attributes, the digest algorithm set.
// The message is read into a tree of values, changed, and written back with
// every enclosing length fixed (indefinite lengths stay indefinite).
import { type BerNode, decodeBer } from "enrollgate/apple";
import { tlv } from "./openssl-pki.js";

export interface Value {
  /** The identifier octets. */
  identifier: Uint8Array;
  indefinite: boolean;
  /** Children of a constructed value, or null for a primitive one. */
  children: Value[] | null;
  /** Contents of a primitive value. */
  contents: Uint8Array;
}

function toValue(bytes: Uint8Array, node: BerNode): Value {
  let end = node.start + 1;
  if (((bytes[node.start] as number) & 0x1f) === 0x1f) {
    while (((bytes[end] as number) & 0x80) !== 0) end++;
    end++; // the last byte of a long tag number
  }
  return {
    identifier: bytes.slice(node.start, end),
    indefinite: node.indefinite,
    children: node.constructed ? node.children.map((c) => toValue(bytes, c)) : null,
    contents: node.constructed ? new Uint8Array(0) : bytes.slice(node.contentStart, node.contentEnd),
  };
}

export function readValue(bytes: Uint8Array): Value {
  return toValue(bytes, decodeBer(bytes));
}

export function writeValue(v: Value): Uint8Array {
  if (v.children === null) return tlv([...v.identifier], v.contents);
  const inner = v.children.map(writeValue);
  if (v.indefinite) return Buffer.concat([v.identifier, Buffer.from([0x80]), ...inner, Buffer.from([0, 0])]);
  return tlv([...v.identifier], ...inner);
}

/** ContentInfo → [0] → SignedData. */
export function signedDataOf(root: Value): Value {
  return root.children?.[1]?.children?.[0] as Value;
}

const isTag = (v: Value | undefined, id: number) => v !== undefined && v.identifier[0] === id;

/** The message with its SignedData's fields edited in place. */
export function editSignedData(der: Uint8Array, edit: (fields: Value[]) => void): Uint8Array {
  const root = readValue(der);
  edit(signedDataOf(root).children as Value[]);
  return writeValue(root);
}

/** The SignedData children index of the certificates [0] field, or -1. */
export function certificatesIndex(fields: Value[]): number {
  return fields.findIndex((f, i) => i >= 3 && isTag(f, 0xa0));
}

/** The message carrying exactly these certificates (DER), in this order. */
export function withCertificates(der: Uint8Array, certificates: ReadonlyArray<Uint8Array>): Uint8Array {
  return editSignedData(der, (fields) => {
    const set: Value = {
      identifier: Uint8Array.of(0xa0),
      indefinite: false,
      children: certificates.map((c) => readValue(c)),
      contents: new Uint8Array(0),
    };
    const at = certificatesIndex(fields);
    if (at === -1) fields.splice(3, 0, set);
    else fields[at] = set;
  });
}

/** The message's SignerInfo (the first). */
export function editSignerInfo(der: Uint8Array, edit: (fields: Value[]) => void): Uint8Array {
  return editSignedData(der, (fields) => {
    const signerInfos = fields[fields.length - 1] as Value;
    edit((signerInfos.children as Value[])[0]?.children as Value[]);
  });
}
