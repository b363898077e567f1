// X.509 certificates (RFC 5280), read field by field from their DER: the
// names and key that place a certificate in a chain, its public key
// described before anything imports it (so that its size can be judged
// first), and the extensions chain validation needs (basicConstraints,
// keyUsage, the key identifiers), whose values are parsed with asn1js only
// when asked for. Nothing here checks a signature.
import { createPublicKey, hash, type KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import { EnrollgateError } from "../errors.js";
import {
  contentOf,
  decodeBer,
  encodingOf,
  EncodingError,
  isContext,
  isDefiniteForm,
  isUniversal,
  oidText,
  type BerNode,
} from "./ber.js";

export class CertificateError extends EnrollgateError<"certificate-unreadable"> {
  override readonly name = "CertificateError";

  constructor(message: string) {
    super("certificate-unreadable", message);
  }
}

export const X509_OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  p521: "1.3.132.0.35",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
} as const;

/** A public key as its SubjectPublicKeyInfo describes it, before any import. */
export type PublicKeyDescription =
  | {
      readonly type: "rsa";
      readonly bits: number;
      /** null when longer than 8 bytes */ readonly exponent: bigint | null;
      readonly pkcs1: Uint8Array;
    }
  | {
      readonly type: "ec";
      /** the namedCurve OID, or "explicit" for curve parameters spelled out */ readonly curve: string;
      readonly point: Uint8Array;
    }
  | { readonly type: "other"; readonly algorithm: string };

export interface Extension {
  readonly id: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING's contents: the extension's own DER. */
  readonly value: Uint8Array;
}

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength: number | null;
}

// The keyUsage bits (RFC 5280 4.2.1.3) chain validation asks about.
export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5 } as const;

const NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "1.2.840.113549.1.9.1": "emailAddress",
};

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function need(condition: boolean, what: string): asserts condition {
  if (!condition) throw new CertificateError(what);
}

function oidOf(bytes: Uint8Array, node: BerNode | undefined, what: string): string {
  need(isUniversal(node, 6), `${what} is not an OBJECT IDENTIFIER`);
  const text = oidText(contentOf(bytes, node));
  need(text !== null, `${what} is not a valid OBJECT IDENTIFIER`);
  return text;
}

/** An INTEGER's contents, checked to be minimally encoded. */
function integerContents(bytes: Uint8Array, node: BerNode | undefined, what: string): Uint8Array {
  need(isUniversal(node, 2), `${what} is not an INTEGER`);
  const c = contentOf(bytes, node);
  need(c.length > 0, `${what} is empty`);
  need(
    !(
      c.length > 1 &&
      ((c[0] === 0 && ((c[1] as number) & 0x80) === 0) || (c[0] === 0xff && ((c[1] as number) & 0x80) !== 0))
    ),
    `${what} is not minimally encoded`,
  );
  return c;
}

function bitStringBytes(bytes: Uint8Array, node: BerNode | undefined, what: string): Uint8Array {
  need(isUniversal(node, 3) && !node.constructed, `${what} is not a BIT STRING`);
  const c = contentOf(bytes, node);
  need(c.length >= 1 && c[0] === 0, `${what} does not hold whole bytes`);
  return c.subarray(1);
}

/** Reads a SubjectPublicKeyInfo's algorithm and key, without importing it. */
function describeKey(bytes: Uint8Array, spki: BerNode): PublicKeyDescription {
  need(isUniversal(spki, 16) && spki.children.length === 2, "the subject public key info is malformed");
  const [alg, bits] = spki.children as [BerNode, BerNode];
  need(
    isUniversal(alg, 16) && alg.children.length >= 1 && alg.children.length <= 2,
    "the public key algorithm is malformed",
  );
  const algorithm = oidOf(bytes, alg.children[0], "the public key algorithm");
  const params = alg.children[1];
  const key = bitStringBytes(bytes, bits, "the public key");
  if (algorithm === X509_OID.rsaEncryption) {
    need(
      params === undefined || (isUniversal(params, 5) && params.contentEnd === params.contentStart),
      "an RSA key has parameters other than NULL",
    );
    let inner: BerNode;
    try {
      inner = decodeBer(key);
    } catch (e) {
      throw new CertificateError(`the RSA public key is malformed (${(e as Error).message})`);
    }
    need(
      isUniversal(inner, 16) && inner.children.length === 2 && isDefiniteForm(inner),
      "the RSA public key is not a modulus and an exponent",
    );
    const modulus = integerContents(key, inner.children[0], "the RSA modulus");
    const exponent = integerContents(key, inner.children[1], "the RSA exponent");
    need(
      ((modulus[0] as number) & 0x80) === 0 && ((exponent[0] as number) & 0x80) === 0,
      "the RSA key has a negative number",
    );
    const significant = modulus[0] === 0 ? modulus.subarray(1) : modulus;
    const size =
      significant.length === 0 ? 0 : (significant.length - 1) * 8 + (32 - Math.clz32(significant[0] as number));
    return {
      type: "rsa",
      bits: size,
      exponent: exponent.length > 8 ? null : BigInt(`0x${Buffer.from(exponent).toString("hex")}`),
      pkcs1: key,
    };
  }
  if (algorithm === X509_OID.ecPublicKey) {
    const curve = isUniversal(params, 6) ? oidOf(bytes, params, "the EC curve") : "explicit";
    return { type: "ec", curve, point: key };
  }
  return { type: "other", algorithm };
}

function readExtensions(bytes: Uint8Array, node: BerNode): Extension[] {
  need(node.constructed && node.children.length === 1, "the extensions field is malformed");
  const list = node.children[0] as BerNode;
  need(isUniversal(list, 16) && list.children.length > 0, "the extensions field is empty or malformed");
  const seen = new Set<string>();
  return list.children.map((ext) => {
    need(isUniversal(ext, 16) && ext.children.length >= 2 && ext.children.length <= 3, "an extension is malformed");
    const id = oidOf(bytes, ext.children[0], "an extension's identifier");
    // RFC 5280 4.2: a certificate must not include more than one instance of an extension.
    need(!seen.has(id), `the extension ${id} appears twice`);
    seen.add(id);
    let critical = false;
    if (ext.children.length === 3) {
      const flag = ext.children[1];
      need(
        isUniversal(flag, 1) && flag.contentEnd - flag.contentStart === 1,
        `the extension ${id} has a malformed critical flag`,
      );
      critical = bytes[flag.contentStart] !== 0;
    }
    const value = ext.children[ext.children.length - 1];
    need(isUniversal(value, 4) && !value.constructed, `the extension ${id} has no value`);
    return { id, critical, value: contentOf(bytes, value) };
  });
}

/** The longest name text shown: a name is the sender's to make as long as a message may be. */
const NAME_TEXT_MAX = 256;

/** A readable distinguished name, "CN=..., O=...", in the order it is encoded (display only; cut at NAME_TEXT_MAX). */
function nameText(bytes: Uint8Array, name: BerNode): string {
  const parts: string[] = [];
  for (const rdn of name.children) {
    for (const atv of rdn.children) {
      const [type, value] = atv.children;
      if (type === undefined || value === undefined) continue;
      const id = oidText(contentOf(bytes, type)) ?? "?";
      const raw = Buffer.from(contentOf(bytes, value));
      // BMPString is UTF-16 big-endian; UTF8String UTF-8; the rest read as Latin-1 (display only).
      const text =
        value.tag === 30 && raw.length % 2 === 0
          ? raw.swap16().toString("utf16le")
          : value.tag === 12
            ? raw.toString("utf8")
            : raw.toString("latin1");
      parts.push(`${NAMES[id] ?? id}=${text.length > NAME_TEXT_MAX ? text.slice(0, NAME_TEXT_MAX) : text}`);
    }
  }
  const text = parts.join(", ");
  return text.length <= NAME_TEXT_MAX ? text : `${text.slice(0, NAME_TEXT_MAX - 1)}…`;
}

function parseExtensionValue(ext: Extension): asn1js.AsnType {
  let inner: BerNode;
  try {
    inner = decodeBer(ext.value);
  } catch (e) {
    if (e instanceof EncodingError) throw new CertificateError(`the extension ${ext.id} is malformed (${e.message})`);
    throw e;
  }
  need(isDefiniteForm(inner), `the extension ${ext.id} is not DER`);
  const decoded = asn1js.fromBER(ext.value);
  need(decoded.offset === ext.value.length, `the extension ${ext.id} is malformed`);
  return decoded.result;
}

/** One certificate's fields; the extensions are read on first use. */
export class Certificate {
  /** SHA-256 of the certificate's DER, hex: its identity in caches and trust stores. */
  readonly sha256: string;
  /** 1, 2 or 3. */
  readonly version: number;
  /** The serialNumber INTEGER, whole (as CMS names a signer). */
  readonly serial: Uint8Array;
  /** The issuer Name's DER. */
  readonly issuer: Uint8Array;
  /** The subject Name's DER. */
  readonly subject: Uint8Array;
  /** The bytes the certificate's signature covers. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  /** The SubjectPublicKeyInfo's DER. */
  readonly spki: Uint8Array;
  readonly key: PublicKeyDescription;
  /** null when the certificate has no extensions field at all (version 1 and 2 certificates). */
  readonly extensions: ReadonlyArray<Extension> | null;
  private readonly subjectNode: BerNode;
  private readonly issuerNode: BerNode;
  private readonly keyBits: Uint8Array;
  private memo = new Map<string, unknown>();

  private constructor(
    readonly der: Uint8Array,
    root: BerNode,
  ) {
    this.sha256 = hash("sha256", der, "hex");
    need(isUniversal(root, 16) && root.children.length === 3, "a certificate is a SEQUENCE of three fields");
    need(isDefiniteForm(root), "the certificate is not DER (indefinite lengths or constructed strings)");
    const [tbsNode, outerAlg, signature] = root.children as [BerNode, BerNode, BerNode];
    need(isUniversal(tbsNode, 16), "the certificate has no tbsCertificate");
    const f = tbsNode.children;
    let i = 0;
    let version = 1;
    if (isContext(f[0], 0)) {
      const v = f[i++] as BerNode;
      need(v.constructed && v.children.length === 1, "the certificate version is malformed");
      const n = integerContents(der, v.children[0], "the certificate version");
      need(n.length === 1 && (n[0] as number) <= 2, "the certificate version is not 1, 2 or 3");
      version = (n[0] as number) + 1;
    }
    integerContents(der, f[i], "the certificate serial number");
    this.serial = encodingOf(der, f[i++] as BerNode);
    const innerAlg = f[i++];
    need(
      isUniversal(innerAlg, 16) && innerAlg.children.length >= 1,
      "the certificate signature algorithm is malformed",
    );
    // The outer algorithm is outside the signature: it must repeat the signed one exactly (RFC 5280 4.1.1.2).
    need(
      isUniversal(outerAlg, 16) && equalBytes(encodingOf(der, outerAlg), encodingOf(der, innerAlg)),
      "the certificate's outer signature algorithm differs from the signed one",
    );
    this.signatureAlgorithm = oidOf(der, innerAlg.children[0], "the certificate signature algorithm");
    const issuer = f[i++];
    need(isUniversal(issuer, 16), "the certificate issuer is malformed");
    need(isUniversal(f[i++], 16), "the certificate validity is malformed");
    const subject = f[i++];
    need(isUniversal(subject, 16), "the certificate subject is malformed");
    const spki = f[i++];
    need(isUniversal(spki, 16), "the certificate has no public key");
    this.key = describeKey(der, spki);
    this.keyBits = bitStringBytes(der, spki.children[1], "the public key");
    for (const tag of [1, 2]) {
      if (isContext(f[i], tag)) {
        need(version >= 2, "a version 1 certificate has a unique identifier");
        i++;
      }
    }
    let extensions: Extension[] | null = null;
    if (isContext(f[i], 3)) {
      need(version === 3, "a certificate below version 3 has extensions");
      extensions = readExtensions(der, f[i++] as BerNode);
    }
    need(i === f.length, "the tbsCertificate has extra fields");
    this.version = version;
    this.issuerNode = issuer;
    this.subjectNode = subject;
    this.issuer = encodingOf(der, issuer);
    this.subject = encodingOf(der, subject);
    this.spki = encodingOf(der, spki);
    this.tbs = encodingOf(der, tbsNode);
    this.signature = bitStringBytes(der, signature, "the certificate signature");
    this.extensions = extensions;
  }

  /** Parses a certificate's DER (copied: the certificate may outlive the message it came in). */
  static parse(der: Uint8Array): Certificate {
    const own = Uint8Array.from(der);
    let root: BerNode;
    try {
      root = decodeBer(own);
    } catch (e) {
      if (e instanceof EncodingError) throw new CertificateError(`the certificate is not valid DER (${e.message})`);
      throw e;
    }
    return new Certificate(own, root);
  }

  private once<T>(key: string, compute: () => T): T {
    if (this.memo.has(key)) return this.memo.get(key) as T;
    const value = compute();
    this.memo.set(key, value);
    return value;
  }

  extension(id: string): Extension | null {
    return this.extensions?.find((e) => e.id === id) ?? null;
  }

  /** Issued by itself: subject and issuer are the same name. */
  get selfIssued(): boolean {
    return equalBytes(this.subject, this.issuer);
  }

  get subjectName(): string {
    return this.once("subjectName", () => nameText(this.der, this.subjectNode));
  }

  get issuerName(): string {
    return this.once("issuerName", () => nameText(this.der, this.issuerNode));
  }

  /**
   * SHA-256 of the SubjectPublicKeyInfo, hex: a signature check depends on the key, not on the rest of its certificate.
   */
  get keyHash(): string {
    return this.once("keyHash", () => hash("sha256", this.spki, "hex"));
  }

  /** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (Apple's key identifiers are made this way). */
  get keyIdentifier(): Uint8Array {
    return this.once("keyIdentifier", () => new Uint8Array(hash("sha1", this.keyBits, "buffer")));
  }

  get basicConstraints(): BasicConstraints | null {
    return this.once("basicConstraints", () => {
      const ext = this.extension(X509_OID.basicConstraints);
      if (ext === null) return null;
      const seq = parseExtensionValue(ext);
      need(seq instanceof asn1js.Sequence, "basicConstraints is not a SEQUENCE");
      const items = seq.valueBlock.value;
      let at = 0;
      let ca = false;
      if (items[at] instanceof asn1js.Boolean) ca = (items[at++] as asn1js.Boolean).getValue();
      let pathLength: number | null = null;
      if (items[at] instanceof asn1js.Integer) {
        const n = items[at++] as asn1js.Integer;
        need(
          n.valueBlock.valueHexView.length <= 4 && n.valueBlock.valueDec >= 0,
          "basicConstraints has an unusable pathLenConstraint",
        );
        pathLength = n.valueBlock.valueDec;
      }
      need(at === items.length, "basicConstraints has extra fields");
      return { ca, pathLength };
    });
  }

  /** The keyUsage bits that are set, or null without the extension. */
  get keyUsage(): ReadonlySet<number> | null {
    return this.once("keyUsage", () => {
      const ext = this.extension(X509_OID.keyUsage);
      if (ext === null) return null;
      const bits = parseExtensionValue(ext);
      need(bits instanceof asn1js.BitString, "keyUsage is not a BIT STRING");
      const view = bits.valueBlock.valueHexView;
      const set = new Set<number>();
      for (let i = 0; i < view.length * 8 - bits.valueBlock.unusedBits; i++)
        if (((view[i >> 3] as number) & (0x80 >> (i & 7))) !== 0) set.add(i);
      return set;
    });
  }

  get subjectKeyId(): Uint8Array | null {
    return this.once("subjectKeyId", () => {
      const ext = this.extension(X509_OID.subjectKeyIdentifier);
      if (ext === null) return null;
      const id = parseExtensionValue(ext);
      need(
        id instanceof asn1js.OctetString && !id.idBlock.isConstructed,
        "subjectKeyIdentifier is not an OCTET STRING",
      );
      return new Uint8Array(id.valueBlock.valueHexView);
    });
  }

  /** The authorityKeyIdentifier's keyIdentifier, or null. */
  get authorityKeyId(): Uint8Array | null {
    return this.once("authorityKeyId", () => {
      const ext = this.extension(X509_OID.authorityKeyIdentifier);
      if (ext === null) return null;
      const seq = parseExtensionValue(ext);
      need(seq instanceof asn1js.Sequence, "authorityKeyIdentifier is not a SEQUENCE");
      const first = seq.valueBlock.value[0];
      if (first === undefined || first.idBlock.tagClass !== 3 || first.idBlock.tagNumber !== 0) return null;
      need(!first.idBlock.isConstructed, "authorityKeyIdentifier's keyIdentifier is malformed");
      return new Uint8Array((first as asn1js.Primitive).valueBlock.valueHexView);
    });
  }

  /** The key, imported on first use (after its size has been judged). */
  publicKey(): KeyObject {
    return this.once("publicKey", () => {
      const k = this.key;
      // RSAPublicKey (PKCS #1) imports some 30 times faster than the SubjectPublicKeyInfo around it.
      if (k.type === "rsa") return createPublicKey({ key: Buffer.from(k.pkcs1), format: "der", type: "pkcs1" });
      return createPublicKey({ key: Buffer.from(this.spki), format: "der", type: "spki" });
    });
  }
}

export function sameName(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}
