// Throwaway PKI for tests and benchmarks: a device CA, device identities, and
// MachineInfo signed as CMS SignedData the way devices send it. Certificates
// are valid 2010-2014, like Apple's device CA: verification must ignore dates.
import { webcrypto } from "node:crypto";

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { build as buildPlist } from "plist";

pkijs.setEngine(
  "node",
  new pkijs.CryptoEngine({
    crypto: webcrypto,
    name: "node",
  }),
);
const subtle = webcrypto.subtle;

export type KeyKind = "rsa" | "ecdsa";
export type HashName = "SHA-1" | "SHA-256";

export interface Identity {
  readonly cert: pkijs.Certificate;
  readonly keys: CryptoKeyPair;
  readonly pem: string;
  readonly der: Uint8Array;
}

const ALGORITHMS: Record<KeyKind, webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams> = {
  rsa: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  ecdsa: { name: "ECDSA", namedCurve: "P-256" },
};

function name(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({
        type: "2.5.4.10",
        value: new asn1js.Utf8String({ value: "enrollgate tests" }),
      }),
      new pkijs.AttributeTypeAndValue({ type: "2.5.4.3", value: new asn1js.Utf8String({ value: cn }) }),
    ],
  });
}

let serial = 1000;

/** PEM armour: 64-character lines, never an empty one. */
function pem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export interface IssueOptions {
  /** Default 2010-2014, expired like Apple's device CA; TLS needs a current window. */
  readonly valid?: { readonly from: Date; readonly to: Date };
  /** DNS names and IP addresses, for TLS server certificates. */
  readonly altNames?: ReadonlyArray<string>;
  /** RSA modulus length (default 2048; Apple's Device CA and device identities have 1024). */
  readonly bits?: number;
  /** The hash the issuer signs the certificate with (default SHA-256; Apple's chain uses SHA-1). */
  readonly hash?: HashName;
}

function altName(value: string): pkijs.GeneralName {
  const ip = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(value);
  if (ip === null) return new pkijs.GeneralName({ type: 2, value });
  return new pkijs.GeneralName({
    type: 7,
    value: new asn1js.OctetString({ valueHex: new Uint8Array(ip.slice(1).map(Number)) }),
  });
}

async function issue(
  subject: string,
  keys: CryptoKeyPair,
  issuer: { name: string; keys: CryptoKeyPair },
  ca: boolean,
  options: IssueOptions = {},
): Promise<Identity> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ value: serial++ });
  cert.subject = name(subject);
  cert.issuer = name(issuer.name);
  cert.notBefore.value = options.valid?.from ?? new Date("2010-01-01T00:00:00Z");
  cert.notAfter.value = options.valid?.to ?? new Date("2014-01-01T00:00:00Z");
  const constraints = new pkijs.BasicConstraints({ cA: ca });
  cert.extensions = [
    new pkijs.Extension({
      extnID: "2.5.29.19",
      critical: true,
      extnValue: constraints.toSchema().toBER(false),
      parsedValue: constraints,
    }),
  ];
  if (options.altNames !== undefined) {
    const names = new pkijs.AltName({ altNames: options.altNames.map(altName) });
    cert.extensions.push(
      new pkijs.Extension({
        extnID: "2.5.29.17",
        critical: false,
        extnValue: names.toSchema().toBER(false),
        parsedValue: names,
      }),
    );
  }
  await cert.subjectPublicKeyInfo.importKey(keys.publicKey);
  // Key identifiers as Apple's certificates have them (RFC 5280 method 1).
  const ski = new asn1js.OctetString({ valueHex: await keyIdentifier(keys.publicKey) });
  const aki = new pkijs.AuthorityKeyIdentifier({
    keyIdentifier: new asn1js.OctetString({ valueHex: await keyIdentifier(issuer.keys.publicKey) }),
  });
  cert.extensions.push(
    new pkijs.Extension({ extnID: "2.5.29.14", critical: false, extnValue: ski.toBER(false), parsedValue: ski }),
    new pkijs.Extension({
      extnID: "2.5.29.35",
      critical: false,
      extnValue: aki.toSchema().toBER(false),
      parsedValue: aki,
    }),
  );
  const hash = options.hash ?? "SHA-256";
  await cert.sign(await signingKey(issuer.keys.privateKey, hash), hash);
  const der = new Uint8Array(cert.toSchema(true).toBER(false));
  return { cert, keys, der, pem: pem("CERTIFICATE", der) };
}

/** SHA-1 of the subjectPublicKey bits. */
async function keyIdentifier(publicKey: webcrypto.CryptoKey): Promise<ArrayBuffer> {
  const spki = pkijs.PublicKeyInfo.fromBER(await subtle.exportKey("spki", publicKey));
  return subtle.digest("SHA-1", spki.subjectPublicKey.valueBlock.valueHexView);
}

async function keyPair(kind: KeyKind, bits?: number): Promise<CryptoKeyPair> {
  const algorithm =
    kind === "rsa" && bits !== undefined ? { ...ALGORITHMS.rsa, modulusLength: bits } : ALGORITHMS[kind];
  return subtle.generateKey(algorithm, true, ["sign", "verify"]);
}

/** A self-signed CA. */
export async function createCA(
  commonName = "Test Device CA",
  kind: KeyKind = "rsa",
  options: IssueOptions = {},
): Promise<Identity> {
  const keys = await keyPair(kind, options.bits);
  return issue(commonName, keys, { name: commonName, keys }, true, options);
}

/** A certificate issued by `issuer`: a device identity, or an intermediate CA with `ca: true`. */
export async function createIdentity(
  issuer: Identity,
  options: { kind?: KeyKind; commonName?: string; ca?: boolean } & IssueOptions = {},
): Promise<Identity> {
  const keys = await keyPair(options.kind ?? "rsa", options.bits);
  const issuerName =
    issuer.cert.subject.typesAndValues.find((t) => t.type === "2.5.4.3")?.value.valueBlock.value ?? "issuer";
  return issue(
    options.commonName ?? "Apple iPhone Device",
    keys,
    { name: issuerName, keys: issuer.keys },
    options.ca ?? false,
    options,
  );
}

/** The identity's private key as PKCS#8 PEM, for a TLS server. */
export async function privateKeyPem(identity: Identity): Promise<string> {
  return pem("PRIVATE KEY", new Uint8Array(await subtle.exportKey("pkcs8", identity.keys.privateKey)));
}

export interface SignOptions {
  readonly hash?: HashName;
  /** Put the signer's certificate in the message (default true). */
  readonly includeCertificate?: boolean;
  /** More certificates (intermediates, or noise). */
  readonly certificates?: ReadonlyArray<Identity>;
  /** More signers beside the first. */
  readonly coSigners?: ReadonlyArray<Identity>;
  /** Sign contentType and messageDigest attributes (default true). */
  readonly signedAttributes?: boolean;
}

function signerInfo(identity: Identity, digest: ArrayBuffer | null): pkijs.SignerInfo {
  const info = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: identity.cert.issuer, serialNumber: identity.cert.serialNumber }),
  });
  if (digest !== null) {
    info.signedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 0,
      attributes: [
        new pkijs.Attribute({
          type: "1.2.840.113549.1.9.3",
          values: [new asn1js.ObjectIdentifier({ value: "1.2.840.113549.1.7.1" })],
        }),
        new pkijs.Attribute({ type: "1.2.840.113549.1.9.4", values: [new asn1js.OctetString({ valueHex: digest })] }),
      ],
    });
  }
  return info;
}

/** An RSA key signs with the hash it was imported for: re-import it for the one asked for. */
async function signingKey(key: webcrypto.CryptoKey, hash: HashName): Promise<webcrypto.CryptoKey> {
  if (key.algorithm.name !== "RSASSA-PKCS1-v1_5") return key;
  const pkcs8 = await subtle.exportKey("pkcs8", key);
  return subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["sign"]);
}

/** CMS SignedData DER around `content`, signed by `signer`. */
export async function signCms(
  content: Uint8Array | string,
  signer: Identity,
  options: SignOptions = {},
): Promise<Uint8Array> {
  const data = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const hash = options.hash ?? "SHA-256";
  const withAttributes = options.signedAttributes ?? true;
  const digest = withAttributes ? await subtle.digest(hash, data) : null;
  const signers = [signer, ...(options.coSigners ?? [])];
  const certificates = [
    ...(options.includeCertificate === false ? [] : [signer]),
    ...(options.coSigners ?? []),
    ...(options.certificates ?? []),
  ];
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: "1.2.840.113549.1.7.1",
      eContent: new asn1js.OctetString({ valueHex: data }),
    }),
    signerInfos: signers.map((s) => signerInfo(s, digest)),
    certificates: certificates.map((c) => c.cert),
  });
  for (let i = 0; i < signers.length; i++)
    await signed.sign(await signingKey((signers[i] as Identity).keys.privateKey, hash), i, hash);
  const info = new pkijs.ContentInfo({ contentType: "1.2.840.113549.1.7.2", content: signed.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
}

/** A MachineInfo plist as a device on iOS 17 or later sends it. */
export function machineInfoPlist(fields: Record<string, string | boolean> = {}): string {
  return buildPlist({
    UDID: "00008120-001A2B3C4D5E6F70",
    SERIAL: "G7QK21P0XY3D",
    PRODUCT: "iPhone17,3",
    VERSION: "23F77",
    OS_VERSION: "26.5",
    LANGUAGE: "en",
    MDM_CAN_REQUEST_SOFTWARE_UPDATE: true,
    SOFTWARE_UPDATE_DEVICE_ID: "iPhone17,3",
    ...fields,
  });
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}
