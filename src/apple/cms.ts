// CMS SignedData (RFC 5652), as Apple devices sign MachineInfo: parsed with
// asn1js by walking the decoded tree with explicit checks. Parsing is strict
// about everything the signature does not cover (the encoding itself, the
// versions, the algorithm identifiers), so that no bit of a message can change
// without the message being refused. Verification is in cms-verify.ts.
import * as asn1js from "asn1js";
import { encodingProblem } from "./ber.js";

export class CmsError extends Error {
  override readonly name = "CmsError";
}

type Asn = asn1js.AsnType;

export const OID = {
  signedData: "1.2.840.113549.1.7.2",
  data: "1.2.840.113549.1.7.1",
  contentTypeAttr: "1.2.840.113549.1.9.3",
  messageDigestAttr: "1.2.840.113549.1.9.4",
  subjectKeyIdentifier: "2.5.29.14",
} as const;

/** More certificates than this in one message is not MachineInfo. */
export const MAX_CERTIFICATES = 16;

export interface SignerInfo {
  /** IssuerAndSerialNumber as DER bytes, or a subject key identifier. */
  readonly sid: { readonly issuer: Uint8Array; readonly serial: Uint8Array } | { readonly keyId: Uint8Array };
  readonly digestAlgorithm: string;
  /** The signed attributes re-tagged as SET OF (what the signature covers), or null. */
  readonly signedAttributes: Uint8Array | null;
  /** The contentType signed attribute's value, when there are signed attributes. */
  readonly contentTypeAttribute: string | null;
  /** The messageDigest signed attribute's value, when there are signed attributes. */
  readonly messageDigest: Uint8Array | null;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

export interface CertificateEntry {
  readonly der: Uint8Array;
  /** The fields that name the certificate, or null when they cannot be read. */
  readonly fields: CertificateFields | null;
}

export interface CertificateFields {
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly keyId: Uint8Array | null;
}

export interface SignedData {
  readonly contentType: string;
  /** The encapsulated content: MachineInfo's XML plist. */
  readonly content: Uint8Array;
  /** The digest algorithms SignedData announces. */
  readonly digestAlgorithms: ReadonlyArray<string>;
  readonly certificates: ReadonlyArray<CertificateEntry>;
  readonly signers: ReadonlyArray<SignerInfo>;
}

const UNIVERSAL = 1;
const CONTEXT = 3;

function isTag(node: Asn | undefined, tagClass: number, tagNumber: number): boolean {
  return node !== undefined && node.idBlock.tagClass === tagClass && node.idBlock.tagNumber === tagNumber;
}

function children(node: Asn, what: string): Asn[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  if (!node.idBlock.isConstructed || !Array.isArray(value)) throw new CmsError(`${what} is not a constructed ASN.1 value`);
  return value as Asn[];
}

function expectTag(node: Asn | undefined, tagNumber: number, what: string): Asn {
  if (!isTag(node, UNIVERSAL, tagNumber)) throw new CmsError(`${what} is missing or has the wrong type`);
  return node as Asn;
}

function oid(node: Asn | undefined, what: string): string {
  return (expectTag(node, 6, what) as asn1js.ObjectIdentifier).valueBlock.toString();
}

function integer(node: Asn | undefined, what: string): number {
  const n = expectTag(node, 2, what) as asn1js.Integer;
  if (n.valueBlock.valueHexView.length > 4) throw new CmsError(`${what} is out of range`);
  return n.valueBlock.valueDec;
}

/** An OCTET STRING's bytes, joining the chunks of a constructed (BER) one. */
function octets(node: Asn | undefined, what: string): Uint8Array {
  const n = expectTag(node, 4, what);
  if (!n.idBlock.isConstructed) return new Uint8Array((n as asn1js.OctetString).valueBlock.valueHexView);
  return Buffer.concat(children(n, what).map((c) => octets(c, what)));
}

function raw(node: Asn): Uint8Array {
  return new Uint8Array(node.valueBeforeDecodeView);
}

/**
 * An AlgorithmIdentifier's OID. Its parameters are outside every signature:
 * the hash and signature algorithms MachineInfo uses take none, or NULL.
 */
function algorithm(node: Asn | undefined, what: string): string {
  const parts = children(expectTag(node, 16, what), what);
  const params = parts[1];
  if (parts.length > 2 || (params !== undefined && (!isTag(params, UNIVERSAL, 5) || params.idBlock.isConstructed || raw(params).length !== 2))) {
    throw new CmsError(`${what} has parameters; expected none or NULL`);
  }
  return oid(parts[0], `${what} identifier`);
}

/** One signed attribute's single value. */
function single(attributes: Map<string, Asn[]>, id: string, what: string): Asn | null {
  const values = attributes.get(id);
  if (values === undefined) return null;
  if (values.length !== 1) throw new CmsError(`the ${what} signed attribute has ${values.length} values`);
  return values[0] as Asn;
}

function parseSigner(node: Asn): SignerInfo {
  const parts = children(expectTag(node, 16, "SignerInfo"), "SignerInfo");
  const version = integer(parts[0], "SignerInfo version");
  const sidNode = parts[1];
  let sid: SignerInfo["sid"];
  // RFC 5652 5.3: version 1 names the signer by issuer and serial, version 3 by key identifier.
  if (isTag(sidNode, UNIVERSAL, 16) && version === 1) {
    const [issuer, serial, ...rest] = children(sidNode as Asn, "IssuerAndSerialNumber");
    if (rest.length > 0) throw new CmsError("IssuerAndSerialNumber has extra fields");
    sid = { issuer: raw(expectTag(issuer, 16, "signer issuer")), serial: raw(expectTag(serial, 2, "signer serial number")) };
  } else if (isTag(sidNode, CONTEXT, 0) && !(sidNode as Asn).idBlock.isConstructed && version === 3) {
    sid = { keyId: new Uint8Array((sidNode as asn1js.Primitive).valueBlock.valueHexView) };
  } else {
    throw new CmsError(`SignerInfo version ${version} does not match its signer identifier`);
  }
  let i = 2;
  const digestAlgorithm = algorithm(parts[i++], "digest algorithm");
  let signedAttributes: Uint8Array | null = null;
  let contentTypeAttribute: string | null = null;
  let messageDigest: Uint8Array | null = null;
  if (isTag(parts[i], CONTEXT, 0)) {
    const attrsNode = parts[i++] as Asn;
    const bytes = Buffer.from(raw(attrsNode));
    bytes[0] = 0x31; // the signature covers the attributes as a SET OF, not as [0] IMPLICIT
    signedAttributes = bytes;
    const attributes = new Map<string, Asn[]>();
    for (const attr of children(attrsNode, "signed attributes")) {
      const [type, values] = children(expectTag(attr, 16, "attribute"), "attribute");
      const id = oid(type, "attribute type");
      if (attributes.has(id)) throw new CmsError(`signed attribute ${id} appears twice`);
      attributes.set(id, children(expectTag(values, 17, "attribute values"), "attribute values"));
    }
    const ct = single(attributes, OID.contentTypeAttr, "contentType");
    contentTypeAttribute = ct === null ? null : oid(ct, "contentType attribute");
    const md = single(attributes, OID.messageDigestAttr, "messageDigest");
    messageDigest = md === null ? null : octets(md, "messageDigest attribute");
  }
  const signatureAlgorithm = algorithm(parts[i++], "signature algorithm");
  const signature = octets(parts[i++], "signature");
  if (isTag(parts[i], CONTEXT, 1)) i++; // unsigned attributes: MachineInfo has none, and they change nothing
  if (i !== parts.length) throw new CmsError("SignerInfo has extra fields");
  return { sid, digestAlgorithm, signedAttributes, contentTypeAttribute, messageDigest, signatureAlgorithm, signature };
}

/** tbsCertificate fields that name a certificate: serial (DER), issuer (DER), subject key identifier. */
function certificateFields(node: Asn): CertificateFields {
  const tbs = children(expectTag(children(node, "certificate")[0], 16, "tbsCertificate"), "tbsCertificate");
  let i = isTag(tbs[0], CONTEXT, 0) ? 1 : 0; // explicit version
  const serial = raw(expectTag(tbs[i++], 2, "certificate serial number"));
  i++; // signature algorithm
  const issuer = raw(expectTag(tbs[i++], 16, "certificate issuer"));
  let keyId: Uint8Array | null = null;
  const extensions = tbs.find((t) => isTag(t, CONTEXT, 3));
  if (extensions !== undefined) {
    for (const ext of children(children(extensions, "extensions")[0] as Asn, "extensions")) {
      const fields = children(ext, "extension");
      if (oid(fields[0], "extension id") === OID.subjectKeyIdentifier) {
        const inner = asn1js.fromBER(octets(fields[fields.length - 1], "extension value"));
        if (inner.offset !== -1) keyId = octets(inner.result, "subject key identifier");
      }
    }
  }
  return { serial, issuer, keyId };
}

function readFields(node: Asn): CertificateFields | null {
  try {
    return certificateFields(node);
  } catch {
    return null; // verification reports the certificate it cannot use
  }
}

/** Parses a CMS ContentInfo holding SignedData; throws CmsError naming what is wrong. */
export function parseSignedData(der: Uint8Array): SignedData {
  try {
    return parseStructure(der);
  } catch (e) {
    // Hostile bytes can trip the ASN.1 library in ways no check foresaw:
    // still malformed input, never a crash.
    if (e instanceof CmsError) throw e;
    throw new CmsError(`the message is malformed (${e instanceof Error ? e.message : String(e)})`);
  }
}

function parseStructure(der: Uint8Array): SignedData {
  if (der.length === 0) throw new CmsError("the message is empty");
  // asn1js tolerates lengths and forms that do not describe the bytes exactly
  // (a flipped bit in a length or a tag, say): the strict walk refuses them first.
  const problem = encodingProblem(der);
  if (problem !== null) {
    const trailing = /^trailing data: (\d+) bytes$/.exec(problem);
    throw new CmsError(trailing !== null ? `the message has ${trailing[1]} bytes of trailing data` : `the message is not valid DER (${problem})`);
  }
  const decoded = asn1js.fromBER(der);
  if (decoded.offset === -1) throw new CmsError(`the message is not valid DER (${decoded.result.error || "malformed"})`);
  if (decoded.offset !== der.length) throw new CmsError(`the message has ${der.length - decoded.offset} bytes of trailing data`);
  const contentInfo = children(expectTag(decoded.result, 16, "ContentInfo"), "ContentInfo");
  const type = oid(contentInfo[0], "content type");
  if (type !== OID.signedData) throw new CmsError(`the message is ${type}, not CMS SignedData`);
  const explicit = contentInfo[1];
  if (!isTag(explicit, CONTEXT, 0) || contentInfo.length !== 2) throw new CmsError("the message has no SignedData content");
  const wrapped = children(explicit as Asn, "content");
  if (wrapped.length !== 1) throw new CmsError("the message's content holds more than SignedData");
  const sd = children(expectTag(wrapped[0], 16, "SignedData"), "SignedData");
  const version = integer(sd[0], "SignedData version");
  const digestAlgorithms = children(expectTag(sd[1], 17, "digest algorithms"), "digest algorithms").map((a) => algorithm(a, "digest algorithm"));
  const encap = children(expectTag(sd[2], 16, "encapsulated content"), "encapsulated content");
  const contentType = oid(encap[0], "encapsulated content type");
  if (!isTag(encap[1], CONTEXT, 0)) throw new CmsError("the message is detached: it carries no content");
  if (encap.length !== 2) throw new CmsError("the encapsulated content has extra fields");
  const content = octets(children(encap[1] as Asn, "content")[0], "content");
  let i = 3;
  const certificates: CertificateEntry[] = [];
  if (isTag(sd[i], CONTEXT, 0)) {
    const list = children(sd[i++] as Asn, "certificates");
    if (list.length > MAX_CERTIFICATES) throw new CmsError(`the message carries ${list.length} certificates; at most ${MAX_CERTIFICATES} are accepted`);
    for (const c of list) {
      if (!isTag(c, UNIVERSAL, 16)) throw new CmsError("the message carries a certificate that is not X.509");
      certificates.push({ der: raw(c), fields: readFields(c) });
    }
  }
  if (isTag(sd[i], CONTEXT, 1)) i++; // CRLs: revocation plays no part (Apple's device CA has none to check)
  const signers = children(expectTag(sd[i++], 17, "signer infos"), "signer infos").map(parseSigner);
  if (i !== sd.length) throw new CmsError("SignedData has extra fields");
  // RFC 5652 5.1: with X.509 certificates only, version 3 when any signer is
  // named by key identifier or the content is not id-data, else version 1.
  const expected = contentType !== OID.data || signers.some((s) => "keyId" in s.sid) ? 3 : 1;
  if (version !== expected) throw new CmsError(`SignedData version is ${version}; this message must be version ${expected}`);
  return { contentType, content, digestAlgorithms, certificates, signers };
}
