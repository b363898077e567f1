// CMS SignedData (RFC 5652), as Apple devices sign MachineInfo, read from the
// strict BER walk's tree (ber.ts). Strict about everything the signature
// does not cover: the encoding itself, the versions, the algorithm
// identifiers, and the optional fields a signer may leave out and nothing
// signs (revocation lists, unsigned attributes, other certificate formats,
// extra digest algorithms, repeated certificates), which are refused, so
// that no value in a message can change and nothing can be added without
// the message being refused. Verification is in cms-verify.ts.
import { EnrollgateError } from "../errors.js";
import {
  contentOf,
  decodeBer,
  encodingOf,
  EncodingError,
  isContext,
  isUniversal,
  oidText,
  type BerNode,
} from "./ber.js";
import type { VerificationCode } from "./verification-codes.js";

/** A message that is not the CMS SignedData MachineInfo is; its code says why (verification-codes.ts). */
export class CmsError extends EnrollgateError<VerificationCode> {
  override readonly name = "CmsError";
  constructor(message: string, code: VerificationCode = "malformed") {
    super(code, message);
  }
}

export const OID = {
  signedData: "1.2.840.113549.1.7.2",
  data: "1.2.840.113549.1.7.1",
  contentTypeAttr: "1.2.840.113549.1.9.3",
  messageDigestAttr: "1.2.840.113549.1.9.4",
  subjectKeyIdentifier: "2.5.29.14",
} as const;

/** More certificates than this in one message is not MachineInfo (devices send two or three). */
export const MAX_CERTIFICATES = 10;

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

export interface SignedData {
  readonly contentType: string;
  /** The encapsulated content: MachineInfo's XML plist. */
  readonly content: Uint8Array;
  /** The digest algorithms SignedData announces. */
  readonly digestAlgorithms: ReadonlyArray<string>;
  /** Each certificate's DER, as carried (distinct; X.509 only). */
  readonly certificates: ReadonlyArray<Uint8Array>;
  readonly signers: ReadonlyArray<SignerInfo>;
}

const SEQUENCE = 16;
const SET = 17;

class Reader {
  constructor(readonly bytes: Uint8Array) {}

  children(node: BerNode | undefined, what: string): ReadonlyArray<BerNode> {
    if (node === undefined || !node.constructed) throw new CmsError(`${what} is not a constructed ASN.1 value`);
    return node.children;
  }

  expect(node: BerNode | undefined, tag: number, what: string): BerNode {
    if (!isUniversal(node, tag)) throw new CmsError(`${what} is missing or has the wrong type`);
    return node;
  }

  oid(node: BerNode | undefined, what: string): string {
    const text = oidText(contentOf(this.bytes, this.expect(node, 6, what)));
    if (text === null) throw new CmsError(`${what} is not a valid OBJECT IDENTIFIER`);
    return text;
  }

  /** A small INTEGER, minimally encoded (a padded one is another encoding of the same value). */
  integer(node: BerNode | undefined, what: string): number {
    const c = contentOf(this.bytes, this.expect(node, 2, what));
    if (c.length === 0 || c.length > 4) throw new CmsError(`${what} is out of range`);
    if (c.length > 1 && c[0] === 0 && ((c[1] as number) & 0x80) === 0)
      throw new CmsError(`${what} is not minimally encoded`);
    if (((c[0] as number) & 0x80) !== 0) throw new CmsError(`${what} is negative`);
    return c.reduce((n, b) => n * 256 + b, 0);
  }

  /** An OCTET STRING's bytes, joining the chunks of a constructed (BER) one. */
  octets(node: BerNode | undefined, what: string): Uint8Array {
    const n = this.expect(node, 4, what);
    if (!n.constructed) return contentOf(this.bytes, n);
    return Buffer.concat(n.children.map((c) => this.octets(c, what)));
  }

  /**
   * An AlgorithmIdentifier's OID. Its parameters are outside every signature:
   * the hash and signature algorithms MachineInfo uses take none, or NULL.
   */
  algorithm(node: BerNode | undefined, what: string): string {
    const parts = this.children(this.expect(node, SEQUENCE, what), what);
    const params = parts[1];
    if (
      parts.length > 2 ||
      (params !== undefined && (!isUniversal(params, 5) || params.contentEnd !== params.contentStart))
    ) {
      throw new CmsError(`${what} has parameters; expected none or NULL`);
    }
    return this.oid(parts[0], `${what} identifier`);
  }
}

/** One signed attribute's single value. */
function single(attributes: Map<string, ReadonlyArray<BerNode>>, id: string, what: string): BerNode | null {
  const values = attributes.get(id);
  if (values === undefined) return null;
  if (values.length !== 1) throw new CmsError(`the ${what} signed attribute has ${values.length} values`);
  return values[0] as BerNode;
}

function parseSigner(r: Reader, node: BerNode): SignerInfo {
  const parts = r.children(r.expect(node, SEQUENCE, "SignerInfo"), "SignerInfo");
  const version = r.integer(parts[0], "SignerInfo version");
  const sidNode = parts[1];
  let sid: SignerInfo["sid"];
  // RFC 5652 5.3: version 1 names the signer by issuer and serial, version 3 by key identifier.
  if (isUniversal(sidNode, SEQUENCE) && version === 1) {
    const [issuer, serial, ...rest] = sidNode.children;
    if (rest.length > 0) throw new CmsError("IssuerAndSerialNumber has extra fields");
    sid = {
      issuer: encodingOf(r.bytes, r.expect(issuer, SEQUENCE, "signer issuer")),
      serial: encodingOf(r.bytes, r.expect(serial, 2, "signer serial number")),
    };
  } else if (isContext(sidNode, 0) && !sidNode.constructed && version === 3) {
    sid = { keyId: contentOf(r.bytes, sidNode) };
  } else {
    throw new CmsError(`SignerInfo version ${version} does not match its signer identifier`);
  }
  let i = 2;
  const digestAlgorithm = r.algorithm(parts[i++], "digest algorithm");
  let signedAttributes: Uint8Array | null = null;
  let contentTypeAttribute: string | null = null;
  let messageDigest: Uint8Array | null = null;
  if (isContext(parts[i], 0)) {
    const attrsNode = parts[i++] as BerNode;
    const bytes = Buffer.from(encodingOf(r.bytes, attrsNode));
    bytes[0] = 0x31; // the signature covers the attributes as a SET OF, not as [0] IMPLICIT
    signedAttributes = bytes;
    const attributes = new Map<string, ReadonlyArray<BerNode>>();
    for (const attr of r.children(attrsNode, "signed attributes")) {
      const [type, values, ...rest] = r.children(r.expect(attr, SEQUENCE, "attribute"), "attribute");
      if (rest.length > 0) throw new CmsError("a signed attribute has extra fields");
      const id = r.oid(type, "attribute type");
      if (attributes.has(id)) throw new CmsError(`signed attribute ${id} appears twice`);
      attributes.set(id, r.children(r.expect(values, SET, "attribute values"), "attribute values"));
    }
    const ct = single(attributes, OID.contentTypeAttr, "contentType");
    contentTypeAttribute = ct === null ? null : r.oid(ct, "contentType attribute");
    const md = single(attributes, OID.messageDigestAttr, "messageDigest");
    messageDigest = md === null ? null : r.octets(md, "messageDigest attribute");
  }
  const signatureAlgorithm = r.algorithm(parts[i++], "signature algorithm");
  const signature = r.octets(parts[i++], "signature");
  if (isContext(parts[i], 1)) {
    throw new CmsError(
      "the signer has unsigned attributes; no signature covers them, and MachineInfo carries none",
      "uncovered-field",
    );
  }
  if (i !== parts.length) throw new CmsError("SignerInfo has extra fields");
  return { sid, digestAlgorithm, signedAttributes, contentTypeAttribute, messageDigest, signatureAlgorithm, signature };
}

/** The certificates field: X.509 certificates only, each once. */
function parseCertificates(r: Reader, node: BerNode): Uint8Array[] {
  const list = r.children(node, "certificates");
  if (list.length > MAX_CERTIFICATES)
    throw new CmsError(
      `the message carries ${list.length} certificates; at most ${MAX_CERTIFICATES} are accepted`,
      "too-many-certificates",
    );
  const certificates: Uint8Array[] = [];
  for (const c of list) {
    // CertificateChoices: [0] extended, [1] [2] attribute certificates, [3] other formats.
    if (!isUniversal(c, SEQUENCE)) {
      const { tag } = c as BerNode;
      throw new CmsError(
        `the message carries a certificate that is not X.509 (tag [${tag}]); MachineInfo carries X.509 certificates only`,
        "uncovered-field",
      );
    }
    const der = encodingOf(r.bytes, c);
    if (certificates.some((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).equals(der))) {
      throw new CmsError(
        "the message carries the same certificate twice; no signature covers the copy",
        "uncovered-field",
      );
    }
    certificates.push(der);
  }
  return certificates;
}

/** Parses a CMS ContentInfo holding SignedData; throws CmsError naming what is wrong. */
export function parseSignedData(der: Uint8Array): SignedData {
  try {
    return parseStructure(der);
  } catch (e) {
    // Hostile bytes can trip a check in ways no message foresaw: still
    // malformed input, never a crash.
    if (e instanceof CmsError) throw e;
    throw new CmsError(`the message is malformed (${e instanceof Error ? e.message : String(e)})`);
  }
}

function parseStructure(der: Uint8Array): SignedData {
  if (der.length === 0) throw new CmsError("the message is empty");
  let root: BerNode;
  try {
    root = decodeBer(der);
  } catch (e) {
    if (!(e instanceof EncodingError)) throw e;
    const trailing = /^trailing data: (\d+) bytes$/.exec(e.message);
    throw new CmsError(
      trailing !== null
        ? `the message has ${trailing[1]} bytes of trailing data`
        : `the message is not valid DER (${e.message})`,
    );
  }
  const r = new Reader(der);
  const contentInfo = r.children(r.expect(root, SEQUENCE, "ContentInfo"), "ContentInfo");
  const type = r.oid(contentInfo[0], "content type");
  if (type !== OID.signedData) throw new CmsError(`the message is ${type}, not CMS SignedData`);
  const explicit = contentInfo[1];
  if (!isContext(explicit, 0) || contentInfo.length !== 2) throw new CmsError("the message has no SignedData content");
  const wrapped = r.children(explicit, "content");
  if (wrapped.length !== 1) throw new CmsError("the message's content holds more than SignedData");
  const sd = r.children(r.expect(wrapped[0], SEQUENCE, "SignedData"), "SignedData");
  const version = r.integer(sd[0], "SignedData version");
  const digestAlgorithms = r
    .children(r.expect(sd[1], SET, "digest algorithms"), "digest algorithms")
    .map((a) => r.algorithm(a, "digest algorithm"));
  const encap = r.children(r.expect(sd[2], SEQUENCE, "encapsulated content"), "encapsulated content");
  const contentType = r.oid(encap[0], "encapsulated content type");
  // Without signed attributes nothing covers the content type (RFC 5652 5.3
  // then requires id-data); MachineInfo is id-data either way.
  if (contentType !== OID.data)
    throw new CmsError(`the encapsulated content is ${contentType}; MachineInfo is id-data`);
  if (!isContext(encap[1], 0)) throw new CmsError("the message is detached: it carries no content");
  if (encap.length !== 2) throw new CmsError("the encapsulated content has extra fields");
  const inner = r.children(encap[1], "content");
  if (inner.length !== 1) throw new CmsError("the encapsulated content holds more than one value");
  const content = r.octets(inner[0], "content");
  let i = 3;
  let certificates: Uint8Array[] = [];
  if (isContext(sd[i], 0)) certificates = parseCertificates(r, sd[i++] as BerNode);
  if (isContext(sd[i], 1)) {
    throw new CmsError(
      "the message carries revocation lists (crls); no signature covers them, and MachineInfo carries none",
      "uncovered-field",
    );
  }
  const signers = r.children(r.expect(sd[i++], SET, "signer infos"), "signer infos").map((s) => parseSigner(r, s));
  if (i !== sd.length) throw new CmsError("SignedData has extra fields");
  // RFC 5652 5.1: with X.509 certificates only, version 3 when any signer is
  // named by key identifier, else version 1.
  const expected = signers.some((s) => "keyId" in s.sid) ? 3 : 1;
  if (version !== expected)
    throw new CmsError(`SignedData version is ${version}; this message must be version ${expected}`);
  return { contentType, content, digestAlgorithms, certificates, signers };
}
