// CMS SignedData (RFC 5652), as Apple devices sign MachineInfo: parsed with
// asn1js by walking the decoded tree with explicit checks, and verified with
// Node's native crypto. Verification demands exactly one signer, its
// certificate in the message, matching contentType and messageDigest signed
// attributes, and a signature-only chain walk to a trust anchor that ignores
// validity dates (Apple's device CA expired in 2014 and still issues).
import { createHash, verify as verifySignature, X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";

export class CmsError extends Error {
  override readonly name = "CmsError";
}

type Asn = asn1js.AsnType;

const OID = {
  signedData: "1.2.840.113549.1.7.2",
  data: "1.2.840.113549.1.7.1",
  contentTypeAttr: "1.2.840.113549.1.9.3",
  messageDigestAttr: "1.2.840.113549.1.9.4",
  subjectKeyIdentifier: "2.5.29.14",
} as const;

const HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

// Signature algorithm → [key type, hash or null (use the digest algorithm)].
const SIGNATURES: Record<string, readonly ["rsa" | "ec", string | null]> = {
  "1.2.840.113549.1.1.1": ["rsa", null],
  "1.2.840.113549.1.1.5": ["rsa", "sha1"],
  "1.2.840.113549.1.1.11": ["rsa", "sha256"],
  "1.2.840.113549.1.1.12": ["rsa", "sha384"],
  "1.2.840.113549.1.1.13": ["rsa", "sha512"],
  "1.2.840.10045.2.1": ["ec", null],
  "1.2.840.10045.4.1": ["ec", "sha1"],
  "1.2.840.10045.4.3.2": ["ec", "sha256"],
  "1.2.840.10045.4.3.3": ["ec", "sha384"],
  "1.2.840.10045.4.3.4": ["ec", "sha512"],
};

/** More certificates than this in one message is not MachineInfo. */
export const MAX_CERTIFICATES = 16;
const MAX_CHAIN = 8;

export interface SignerInfo {
  /** IssuerAndSerialNumber as DER bytes, or a subject key identifier. */
  readonly sid: { readonly issuer: Uint8Array; readonly serial: Uint8Array } | { readonly keyId: Uint8Array };
  readonly digestAlgorithm: string;
  /** The signed attributes re-tagged as SET OF (what the signature covers), or null. */
  readonly signedAttributes: Uint8Array | null;
  readonly attributes: ReadonlyMap<string, ReadonlyArray<Asn>>;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

export interface SignedData {
  readonly contentType: string;
  /** The encapsulated content: MachineInfo's XML plist. */
  readonly content: Uint8Array;
  readonly certificates: ReadonlyArray<{ readonly der: Uint8Array; readonly node: Asn }>;
  readonly signers: ReadonlyArray<SignerInfo>;
}

function children(node: Asn, what: string): Asn[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  if (!Array.isArray(value)) throw new CmsError(`${what} is not a constructed ASN.1 value`);
  return value as Asn[];
}

function isTag(node: Asn | undefined, tagClass: number, tagNumber: number): boolean {
  return node !== undefined && node.idBlock.tagClass === tagClass && node.idBlock.tagNumber === tagNumber;
}
const UNIVERSAL = 1;
const CONTEXT = 3;

function expect(node: Asn | undefined, tagNumber: number, what: string): Asn {
  if (!isTag(node, UNIVERSAL, tagNumber)) throw new CmsError(`${what} is missing or has the wrong type`);
  return node as Asn;
}

function oid(node: Asn | undefined, what: string): string {
  return (expect(node, 6, what) as asn1js.ObjectIdentifier).valueBlock.toString();
}

/** An OCTET STRING's bytes, joining the chunks of a constructed (BER) one. */
function octets(node: Asn | undefined, what: string): Uint8Array {
  const n = expect(node, 4, what);
  if (!n.idBlock.isConstructed) return new Uint8Array((n as asn1js.OctetString).valueBlock.valueHexView);
  const parts = children(n, what).map((c) => octets(c, what));
  return Buffer.concat(parts);
}

function raw(node: Asn): Uint8Array {
  return new Uint8Array(node.valueBeforeDecodeView);
}

function algorithm(node: Asn | undefined, what: string): string {
  return oid(children(expect(node, 16, what), what)[0], `${what} identifier`);
}

function parseSigner(node: Asn): SignerInfo {
  const parts = children(expect(node, 16, "SignerInfo"), "SignerInfo");
  let i = 1; // skip version
  const sidNode = parts[i++];
  let sid: SignerInfo["sid"];
  if (isTag(sidNode, UNIVERSAL, 16)) {
    const [issuer, serial] = children(sidNode as Asn, "IssuerAndSerialNumber");
    sid = { issuer: raw(expect(issuer, 16, "signer issuer")), serial: raw(expect(serial, 2, "signer serial number")) };
  } else if (isTag(sidNode, CONTEXT, 0)) {
    sid = { keyId: new Uint8Array((sidNode as asn1js.Primitive).valueBlock.valueHexView) };
  } else {
    throw new CmsError("SignerInfo has no signer identifier");
  }
  const digestAlgorithm = algorithm(parts[i++], "digest algorithm");
  let signedAttributes: Uint8Array | null = null;
  const attributes = new Map<string, Asn[]>();
  if (isTag(parts[i], CONTEXT, 0)) {
    const attrsNode = parts[i++] as Asn;
    const bytes = Buffer.from(raw(attrsNode));
    bytes[0] = 0x31; // the signature covers the attributes as a SET OF, not as [0] IMPLICIT
    signedAttributes = bytes;
    for (const attr of children(attrsNode, "signed attributes")) {
      const [type, values] = children(expect(attr, 16, "attribute"), "attribute");
      const id = oid(type, "attribute type");
      if (attributes.has(id)) throw new CmsError(`signed attribute ${id} appears twice`);
      attributes.set(id, children(expect(values, 17, "attribute values"), "attribute values"));
    }
  }
  const signatureAlgorithm = algorithm(parts[i++], "signature algorithm");
  const signature = octets(parts[i++], "signature");
  return { sid, digestAlgorithm, signedAttributes, attributes, signatureAlgorithm, signature };
}

/** Parses a CMS ContentInfo holding SignedData; throws CmsError naming what is wrong. */
export function parseSignedData(der: Uint8Array): SignedData {
  if (der.length === 0) throw new CmsError("the message is empty");
  const decoded = asn1js.fromBER(der);
  if (decoded.offset === -1) throw new CmsError(`the message is not valid DER (${decoded.result.error || "malformed"})`);
  if (decoded.offset !== der.length) throw new CmsError(`the message has ${der.length - decoded.offset} bytes of trailing data`);
  const contentInfo = children(expect(decoded.result, 16, "ContentInfo"), "ContentInfo");
  const type = oid(contentInfo[0], "content type");
  if (type !== OID.signedData) throw new CmsError(`the message is ${type}, not CMS SignedData`);
  const explicit = contentInfo[1];
  if (!isTag(explicit, CONTEXT, 0)) throw new CmsError("the message has no SignedData content");
  const sd = children(expect(children(explicit as Asn, "content")[0], 16, "SignedData"), "SignedData");
  const encap = children(expect(sd[2], 16, "encapsulated content"), "encapsulated content");
  const contentType = oid(encap[0], "encapsulated content type");
  if (!isTag(encap[1], CONTEXT, 0)) throw new CmsError("the message is detached: it carries no content");
  const content = octets(children(encap[1] as Asn, "content")[0], "content");
  let i = 3;
  const certificates: Array<{ der: Uint8Array; node: Asn }> = [];
  if (isTag(sd[i], CONTEXT, 0)) {
    for (const c of children(sd[i++] as Asn, "certificates")) {
      if (!isTag(c, UNIVERSAL, 16)) continue; // attribute certificates and the like play no part
      certificates.push({ der: raw(c), node: c });
    }
    if (certificates.length > MAX_CERTIFICATES) throw new CmsError(`the message carries ${certificates.length} certificates; at most ${MAX_CERTIFICATES} are accepted`);
  }
  if (isTag(sd[i], CONTEXT, 1)) i++; // CRLs
  const signers = children(expect(sd[i], 17, "signer infos"), "signer infos").map(parseSigner);
  return { contentType, content, certificates, signers };
}

/** tbsCertificate fields of a certificate node: serial (DER), issuer (DER), and extensions. */
function certificateFields(node: Asn): { serial: Uint8Array; issuer: Uint8Array; keyId: Uint8Array | null } {
  const tbs = children(expect(children(node, "certificate")[0], 16, "tbsCertificate"), "tbsCertificate");
  let i = isTag(tbs[0], CONTEXT, 0) ? 1 : 0; // explicit version
  const serial = raw(expect(tbs[i++], 2, "certificate serial number"));
  i++; // signature algorithm
  const issuer = raw(expect(tbs[i++], 16, "certificate issuer"));
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

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Trust anchors, parsed once. */
export class TrustStore {
  private readonly fingerprints: Set<string>;
  constructor(readonly anchors: ReadonlyArray<X509Certificate>) {
    this.fingerprints = new Set(anchors.map((a) => a.fingerprint256));
  }
  has(cert: X509Certificate): boolean {
    return this.fingerprints.has(cert.fingerprint256);
  }
  get size(): number {
    return this.anchors.length;
  }
}

/** Every certificate in PEM text (a bundle may hold several). */
export function parsePemCertificates(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CmsError(`${source} holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new CmsError(`${source}: certificate ${i + 1} cannot be read (${(e as Error).message})`);
    }
  });
}

export type Verification =
  | { readonly verified: true; readonly signer: X509Certificate }
  | { readonly verified: false; readonly problem: string };

function fail(problem: string): Verification {
  return { verified: false, problem };
}

function chainToAnchor(signer: X509Certificate, others: ReadonlyArray<X509Certificate>, trust: TrustStore): string | null {
  let current = signer;
  const seen = new Set<string>();
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (trust.has(current)) return null;
    for (const anchor of trust.anchors) {
      if (current.checkIssued(anchor) && current.verify(anchor.publicKey)) return null;
    }
    seen.add(current.fingerprint256);
    const issuer = others.find((c) => !seen.has(c.fingerprint256) && current.checkIssued(c) && current.verify(c.publicKey));
    if (issuer === undefined) return `no chain from the signer to a trust anchor (stuck at issuer "${current.issuer.replace(/\n/g, ", ")}")`;
    current = issuer;
  }
  return `the certificate chain is longer than ${MAX_CHAIN}`;
}

/** Verifies a parsed message's one signer, its signed attributes, and its chain to the trust store. */
export function verifySignedData(message: SignedData, trust: TrustStore): Verification {
  if (message.signers.length !== 1) return fail(`the message has ${message.signers.length} signers; MachineInfo has exactly one`);
  const signer = message.signers[0] as SignerInfo;
  const fields = message.certificates.map((c) => {
    try {
      return certificateFields(c.node);
    } catch {
      return null;
    }
  });
  const index = fields.findIndex((f) => {
    if (f === null) return false;
    return "keyId" in signer.sid ? f.keyId !== null && equalBytes(f.keyId, signer.sid.keyId) : equalBytes(f.serial, signer.sid.serial) && equalBytes(f.issuer, signer.sid.issuer);
  });
  if (index === -1) return fail("the signer's certificate is not in the message");
  let certs: X509Certificate[];
  try {
    certs = message.certificates.map((c) => new X509Certificate(Buffer.from(c.der)));
  } catch (e) {
    return fail(`a certificate in the message cannot be read (${(e as Error).message})`);
  }
  const cert = certs[index] as X509Certificate;
  const digestName = HASHES[signer.digestAlgorithm];
  if (digestName === undefined) return fail(`unsupported digest algorithm ${signer.digestAlgorithm}`);
  const scheme = SIGNATURES[signer.signatureAlgorithm];
  if (scheme === undefined) return fail(`unsupported signature algorithm ${signer.signatureAlgorithm}`);
  const [keyType, schemeHash] = scheme;
  if (cert.publicKey.asymmetricKeyType !== keyType) return fail(`the signature algorithm needs an ${keyType.toUpperCase()} key, the certificate has ${cert.publicKey.asymmetricKeyType ?? "another"}`);

  let signedBytes: Uint8Array = message.content;
  if (signer.signedAttributes !== null) {
    const contentType = signer.attributes.get(OID.contentTypeAttr);
    if (contentType?.length !== 1 || oid(contentType[0], "contentType attribute") !== message.contentType) {
      return fail("the contentType signed attribute is missing or does not match the content");
    }
    const digest = signer.attributes.get(OID.messageDigestAttr);
    if (digest?.length !== 1) return fail("the messageDigest signed attribute is missing");
    const expected = createHash(digestName).update(message.content).digest();
    if (!equalBytes(octets(digest[0], "messageDigest attribute"), expected)) return fail("the content does not match the signed messageDigest");
    signedBytes = signer.signedAttributes;
  }
  let valid: boolean;
  try {
    valid = verifySignature(schemeHash ?? digestName, signedBytes, cert.publicKey, signer.signature);
  } catch (e) {
    return fail(`the signature cannot be checked (${(e as Error).message})`);
  }
  if (!valid) return fail("the signature does not match");
  const chain = chainToAnchor(cert, certs.filter((_c, i) => i !== index), trust);
  if (chain !== null) return fail(chain);
  return { verified: true, signer: cert };
}
