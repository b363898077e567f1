// A PKI of Apple's real shape, built with the `openssl` command line in a
// temporary directory (once per test file): a root (RSA-2048, self-signed),
// an "iPhone CA" intermediate, a "Device CA" intermediate with an RSA-1024
// key and SHA-1 signatures whose validity ended years ago, and a device
// identity (RSA-1024, SHA-1, expired too), like Apple's chain. MachineInfo is
// signed with `openssl cms -sign`, as DER or streamed BER, with or without
// signed attributes, with SHA-1 or SHA-256. Hostile certificates are issued
// the same way, or crafted byte by byte where openssl would take too long.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BerNode, decodeBer } from "enrollgate/apple";
import { tlv } from "../../support/der.js";
export { rsaSpki, tlv, unsignedInteger } from "../../support/der.js";
import { tempDir } from "./tmp.js";

export interface PkiCert {
  readonly name: string;
  /** The subject, as openssl's -subj takes it. */
  readonly subject: string;
  readonly pem: string;
  readonly der: Uint8Array;
  readonly certPath: string;
  /** null for crafted certificates (no private key). */
  readonly keyPath: string | null;
}

export interface IssueOptions {
  readonly issuer: PkiCert | "self";
  readonly subject: string;
  /**
   * A section of the config's extensions ("intermediate", "device", ...), or null for a version 1 certificate without
   * extensions.
   */
  readonly extensions: string | null;
  readonly key?:
    | { readonly type: "rsa"; readonly bits: number }
    | { readonly type: "ec"; readonly curve: "P-256" | "P-384" | "P-521" };
  readonly md?: "sha1" | "sha256";
  readonly start?: string;
  readonly end?: string;
}

export interface SignOptions {
  readonly signer?: PkiCert;
  /** Certificates besides the signer's, in this order. */
  readonly certs?: ReadonlyArray<PkiCert>;
  readonly hash?: "sha1" | "sha256";
  /** -noattr: no signed attributes (macOS signs that way). */
  readonly noattr?: boolean;
  /** -stream: BER with indefinite lengths, as iOS sends. */
  readonly stream?: boolean;
}

export interface OpensslPki {
  readonly dir: string;
  readonly root: PkiCert;
  readonly iphoneCa: PkiCert;
  readonly deviceCa: PkiCert;
  readonly device: PkiCert;
  issue(name: string, options: IssueOptions): PkiCert;
  /** CMS SignedData around `content`, as `openssl cms -sign -binary -nodetach -outform DER` writes it. */
  sign(content: string, options?: SignOptions): Uint8Array;
  /** A copy of `base` with its SubjectPublicKeyInfo replaced (and its signature no longer valid). */
  craft(name: string, base: PkiCert, spki: Uint8Array): PkiCert;
  /** A copy of `base` with fields of its tbsCertificate replaced (by name), its signature left as it was. */
  alter(
    name: string,
    base: PkiCert,
    fields: { readonly serial?: Uint8Array; readonly subject?: Uint8Array; readonly spki?: Uint8Array },
  ): PkiCert;
}

const CONFIG = `
[ca]
default_ca = CA_default
[CA_default]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
policy = policy_any
email_in_dn = no
unique_subject = no
copy_extensions = none
preserve = yes
[policy_any]
commonName = optional
organizationName = optional
organizationalUnitName = optional
countryName = optional
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[intermediate]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_pathlen0]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_pathlen1]
basicConstraints = critical,CA:TRUE,pathlen:1
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_no_certsign]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_unknown_critical]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.2.3.4.5 = critical,ASN1:NULL
[ca_no_aki]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
[device]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[device_no_aki]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
subjectKeyIdentifier = hash
`;

function openssl(dir: string, args: string[], input?: string): Buffer {
  return execFileSync("/usr/bin/openssl", args, { cwd: dir, input, stdio: ["pipe", "pipe", "pipe"] });
}

function pemOf(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

const slice = (bytes: Uint8Array, node: BerNode): Uint8Array => bytes.subarray(node.start, node.end);

export async function buildOpensslPki(): Promise<OpensslPki> {
  const dir = await tempDir({ "ca.cnf": CONFIG, "index.txt": "", serial: "1000\n" });
  const certs = new Map<string, PkiCert>();

  const issue = (name: string, o: IssueOptions): PkiCert => {
    const keyPath = join(dir, `${name}.key`);
    const key = o.key ?? { type: "rsa", bits: 2048 };
    const pair =
      key.type === "rsa"
        ? generateKeyPairSync("rsa", { modulusLength: key.bits })
        : generateKeyPairSync("ec", { namedCurve: key.curve });
    writeFileSync(keyPath, pair.privateKey.export({ type: "pkcs8", format: "pem" }));
    openssl(dir, ["req", "-new", "-key", keyPath, "-subj", o.subject, "-out", `${name}.csr`]);
    const certPath = join(dir, `${name}.pem`);
    const signer =
      o.issuer === "self"
        ? ["-selfsign", "-keyfile", keyPath]
        : ["-cert", o.issuer.certPath, "-keyfile", o.issuer.keyPath ?? ""];
    openssl(dir, [
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-notext",
      "-preserveDN",
      ...signer,
      "-in",
      `${name}.csr`,
      "-out",
      certPath,
      "-md",
      o.md ?? "sha256",
      "-startdate",
      o.start ?? "20100101000000Z",
      "-enddate",
      o.end ?? "20300101000000Z",
      ...(o.extensions === null ? [] : ["-extensions", o.extensions]),
    ]);
    const pem = readFileSync(certPath, "utf8");
    const cert = {
      name,
      subject: o.subject,
      pem,
      der: new Uint8Array(new X509Certificate(pem).raw),
      certPath,
      keyPath,
    };
    certs.set(name, cert);
    return cert;
  };

  const root = issue("root", {
    issuer: "self",
    subject: "/C=US/O=Test Apple Inc./OU=Test Certification Authority/CN=Test Apple Root CA",
    extensions: "root",
    md: "sha1",
    start: "20060425214036Z",
    end: "20350209214036Z",
  });
  const iphoneCa = issue("iphone-ca", {
    issuer: root,
    subject: "/C=US/O=Test Apple Inc./OU=Test Certification Authority/CN=Test Apple iPhone Certification Authority",
    extensions: "intermediate",
    md: "sha1",
    start: "20070412174328Z",
    end: "20220412174328Z",
  });
  const deviceCa = issue("device-ca", {
    issuer: iphoneCa,
    subject: "/C=US/O=Test Apple Inc./OU=Test Apple iPhone/CN=Test Apple iPhone Device CA",
    extensions: "intermediate",
    key: { type: "rsa", bits: 1024 },
    md: "sha1",
    start: "20070416225446Z",
    end: "20140416225446Z",
  });
  const device = issue("device", {
    issuer: deviceCa,
    subject: "/CN=160D3FA1-C7D5-4F85-8448-000000000001/C=US/ST=CA/L=Cupertino/O=Test Apple Inc./OU=iPhone",
    extensions: "device",
    key: { type: "rsa", bits: 1024 },
    md: "sha1",
    start: "20211011184731Z",
    end: "20241011184731Z",
  });

  let signed = 0;
  return {
    dir,
    root,
    iphoneCa,
    deviceCa,
    device,
    issue,
    sign(content, o = {}) {
      const n = signed++;
      const signer = o.signer ?? device;
      writeFileSync(join(dir, `content-${n}.plist`), content);
      const extra = o.certs ?? [];
      if (extra.length > 0) writeFileSync(join(dir, `certs-${n}.pem`), extra.map((c) => c.pem).join(""));
      openssl(dir, [
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-outform",
        "DER",
        "-in",
        `content-${n}.plist`,
        "-signer",
        signer.certPath,
        "-inkey",
        signer.keyPath ?? "",
        "-md",
        o.hash ?? "sha256",
        "-out",
        `message-${n}.der`,
        ...(extra.length > 0 ? ["-certfile", `certs-${n}.pem`] : []),
        ...(o.noattr === true ? ["-noattr"] : []),
        ...(o.stream === true ? ["-stream"] : []),
      ]);
      return new Uint8Array(readFileSync(join(dir, `message-${n}.der`)));
    },
    craft: (name, base, spki) => alter(name, base, { spki }),
    alter: (name, base, replace) => alter(name, base, replace),
  };

  function alter(
    name: string,
    base: PkiCert,
    replace: { readonly serial?: Uint8Array; readonly subject?: Uint8Array; readonly spki?: Uint8Array },
  ): PkiCert {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }.
    const tree = decodeBer(base.der);
    const [tbs, alg, signature] = tree.children as [BerNode, BerNode, BerNode];
    const fields = tbs.children.map((f) => slice(base.der, f));
    // version, then serial, signature, issuer, validity, subject, key
    const first = tbs.children[0]?.tagClass === 2 ? 1 : 0;
    if (replace.serial !== undefined) fields[first] = replace.serial;
    if (replace.subject !== undefined) fields[first + 4] = replace.subject;
    if (replace.spki !== undefined) fields[first + 5] = replace.spki;
    const der = tlv(0x30, tlv(0x30, ...fields), slice(base.der, alg), slice(base.der, signature));
    const pem = pemOf("CERTIFICATE", der);
    const certPath = join(dir, `${name}.pem`);
    writeFileSync(certPath, pem);
    return { name, subject: base.subject, pem, der, certPath, keyPath: null };
  }
}
