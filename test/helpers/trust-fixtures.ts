// Chains and messages for the trust tests, on top of an openssl PKI of
// Apple's shape (openssl-pki.ts): the genuine messages devices send, and the
// hostile ones an attacker would: certificates that are not CAs issuing
// devices, violated path lengths, decoy issuers with giant keys, and bytes
// inserted where no signature reaches.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { type BerNode, Certificate, decodeBer } from "enrollgate/apple";
import { machineInfoPlist } from "../../support/signing.js";
import { editSignerInfo, readValue, withCertificates } from "./cms-edit.js";
import { buildOpensslPki, rsaSpki, tlv, type OpensslPki, type PkiCert } from "./openssl-pki.js";
import { sharedPath } from "./shared.js";

export interface TrustFixtures {
  readonly pki: OpensslPki;
  /** A device below the example minimum (the tests' rules block iOS below 26.6.1). */
  readonly blocked: string;
  /** A "device" issued by the real device certificate, which is not a CA. */
  readonly forged: PkiCert;
  /** Root → iPhone CA (pathlen:0) → Device CA → device: one CA too many below the iPhone CA. */
  readonly pathLen0: { readonly iphoneCa: PkiCert; readonly deviceCa: PkiCert; readonly device: PkiCert };
  /** The same with pathlen:1: within the constraint. */
  readonly pathLen1: { readonly iphoneCa: PkiCert; readonly deviceCa: PkiCert; readonly device: PkiCert };
  /** A Device CA whose keyUsage lacks keyCertSign, and a device it issued. */
  readonly noCertSign: { readonly deviceCa: PkiCert; readonly device: PkiCert };
  /** A version 1 Device CA (no extensions at all), and a device it issued. */
  readonly v1: { readonly deviceCa: PkiCert; readonly device: PkiCert };
  /** A Device CA with a critical extension nothing processes, and a device it issued. */
  readonly unknownCritical: { readonly deviceCa: PkiCert; readonly device: PkiCert };
  /** A device with an EC key on P-521, issued by the Device CA. */
  readonly p521Device: PkiCert;
  /** The Device CA with a 16,384-bit modulus in place of its key. */
  readonly giantDecoy: PkiCert;
  /** The Device CA with an exponent of 2^4096 + 1. */
  readonly hugeExponentDecoy: PkiCert;
  /** The Device CA with an even exponent. */
  readonly evenExponentDecoy: PkiCert;
  /** The Device CA with an RSA-512 key. */
  readonly smallDecoy: PkiCert;
  /** Copies of the Device CA's name with RSA keys (4096 bits unless asked) and exponent 2^32-1: within every limit. */
  decoys(count: number, bits?: number): PkiCert[];
  /**
   * What Apple's root also issues: a sibling of the iPhone CA under the root
   * (as Apple Worldwide Developer Relations is) and a developer certificate
   * it issued (RSA-2048, SHA-256), whose key its holder has.
   */
  readonly developer: { readonly ca: PkiCert; readonly leaf: PkiCert };
  /** A leaf the iPhone CA issued directly, not through the Device CA. */
  readonly underIphoneCa: PkiCert;
  /**
   * A "developer relations" CA that names the real Apple Root CA as its
   * issuer (signed by a test key of that name, without an authority key
   * identifier), and a developer certificate under it.
   */
  readonly appleDeveloper: { readonly ca: PkiCert; readonly leaf: PkiCert };
  /** The real device identity certificate in ../shared/apple/certs (no private key). */
  readonly realDevice: Uint8Array;
  /** A message whose signer is named as the real device, with its certificate, and a signature by a test key. */
  realDeviceMessage(): Uint8Array;
}

/** An odd modulus of `bits` bits (not a real RSA modulus: only its size matters here). */
function modulus(bits: number): Uint8Array {
  const m = randomBytes(bits / 8);
  m[0] = (m[0] as number) | 0x80;
  m[m.length - 1] = (m[m.length - 1] as number) | 1;
  return m;
}

export async function buildTrustFixtures(): Promise<TrustFixtures> {
  const pki = await buildOpensslPki();
  const { root, iphoneCa, deviceCa, device } = pki;
  const small = { type: "rsa", bits: 1024 } as const;
  const devCaSubject = (tag: string) => `/C=US/O=Test Apple Inc./OU=Test Apple iPhone/CN=Test Device CA ${tag}`;
  const deviceSubject = (tag: string) => `/CN=TEST-DEVICE-${tag}/C=US/O=Test Apple Inc./OU=iPhone`;
  const issueDevice = (name: string, issuer: PkiCert, extensions = "device") =>
    pki.issue(name, { issuer, subject: deviceSubject(name), extensions, key: small, md: "sha1" });

  const forged = pki.issue("forged", {
    issuer: device,
    subject: deviceSubject("forged"),
    extensions: "device",
    key: small,
    md: "sha1",
  });
  const chainWith = (tag: string, iphoneExtensions: string) => {
    const ica = pki.issue(`iphone-ca-${tag}`, {
      issuer: root,
      subject: `/C=US/O=Test Apple Inc./OU=Test Certification Authority/CN=Test iPhone CA ${tag}`,
      extensions: iphoneExtensions,
      key: small,
      md: "sha1",
    });
    const dca = pki.issue(`device-ca-${tag}`, {
      issuer: ica,
      subject: devCaSubject(tag),
      extensions: "intermediate",
      key: small,
      md: "sha1",
    });
    return { iphoneCa: ica, deviceCa: dca, device: issueDevice(`device-${tag}`, dca) };
  };
  const caUnder = (tag: string, extensions: string | null) => {
    const dca = pki.issue(`device-ca-${tag}`, {
      issuer: iphoneCa,
      subject: devCaSubject(tag),
      extensions,
      key: small,
      md: "sha1",
    });
    // An issuer without a subject key identifier cannot be named by one.
    return {
      deviceCa: dca,
      device: issueDevice(`device-${tag}`, dca, extensions === null ? "device_no_aki" : "device"),
    };
  };
  const devCaKey = Certificate.parse(deviceCa.der).key;
  if (devCaKey.type !== "rsa") throw new Error("the Device CA has an RSA key");
  const modulusNode = decodeBer(devCaKey.pkcs1).children[0] as BerNode;
  // without the sign byte
  const devCaModulus = devCaKey.pkcs1.subarray(modulusNode.contentStart + 1, modulusNode.contentEnd);
  const e65537 = Uint8Array.of(1, 0, 1);
  let decoyCount = 0;

  const developerCa = pki.issue("developer-ca", {
    issuer: root,
    subject: "/C=US/O=Test Apple Inc./OU=Test Certification Authority/CN=Test Worldwide Developer Relations CA",
    extensions: "intermediate",
  });
  const developerLeaf = pki.issue("developer", {
    issuer: developerCa,
    subject: "/CN=Apple Development: Anyone (TEAM000001)/O=Anyone/C=US",
    extensions: "device",
  });
  const underIphoneCa = issueDevice("under-iphone-ca", iphoneCa);
  // A CA named as Apple's root (a test key), to sign a sibling CA that names the real root as its issuer.
  const testKeyRoot = pki.issue("fake-apple-root", {
    issuer: "self",
    subject: "/CN=Test key for Apple Root CA's name",
    extensions: "root",
  });
  const appleRootSubject = Certificate.parse(
    new Uint8Array(
      Buffer.from(
        readFileSync(sharedPath("apple", "certs", "apple-root-ca.pem"), "utf8").replace(/-----[^-]+-----|\s/g, ""),
        "base64",
      ),
    ),
  ).subject;
  // Its subject is the real root's, byte for byte, so that the CA it signs names the real root as issuer.
  const fakeAppleRoot = {
    ...pki.alter("fake-apple-root-renamed", testKeyRoot, { subject: appleRootSubject }),
    keyPath: testKeyRoot.keyPath,
  };
  const appleDeveloperCa = pki.issue("apple-developer-ca", {
    issuer: fakeAppleRoot,
    subject: "/C=US/O=Apple Inc./OU=G3/CN=Apple Worldwide Developer Relations Certification Authority",
    extensions: "ca_no_aki",
  });
  const appleDeveloperLeaf = pki.issue("apple-developer", {
    issuer: appleDeveloperCa,
    subject: "/CN=Apple Development: Anyone (TEAM000001)/O=Anyone/C=US",
    extensions: "device",
  });
  const realDevice = new Uint8Array(
    Buffer.from(
      readFileSync(sharedPath("apple", "certs", "real-iphone-device-identity.pem"), "utf8").replace(
        /-----[^-]+-----|\s/g,
        "",
      ),
      "base64",
    ),
  );
  const fixtures: TrustFixtures = {
    pki,
    blocked: machineInfoPlist({ OS_VERSION: "26.5", VERSION: "23F77" }),
    forged,
    pathLen0: chainWith("pathlen0", "ca_pathlen0"),
    pathLen1: chainWith("pathlen1", "ca_pathlen1"),
    noCertSign: caUnder("no-certsign", "ca_no_certsign"),
    v1: caUnder("v1", null),
    unknownCritical: caUnder("unknown-critical", "ca_unknown_critical"),
    p521Device: pki.issue("device-p521", {
      issuer: deviceCa,
      subject: deviceSubject("p521"),
      extensions: "device",
      key: { type: "ec", curve: "P-521" },
      md: "sha1",
    }),
    giantDecoy: pki.craft("decoy-16384", deviceCa, rsaSpki(modulus(16384), e65537)),
    hugeExponentDecoy: pki.craft(
      "decoy-huge-exponent",
      deviceCa,
      rsaSpki(devCaModulus, Uint8Array.of(1, ...new Array<number>(511).fill(0), 1)),
    ),
    evenExponentDecoy: pki.craft("decoy-even-exponent", deviceCa, rsaSpki(devCaModulus, Uint8Array.of(1, 0, 0))),
    smallDecoy: pki.craft("decoy-512", deviceCa, rsaSpki(modulus(512), e65537)),
    decoys: (count, bits = 4096) =>
      Array.from({ length: count }, () =>
        pki.craft(`decoy-${decoyCount++}`, deviceCa, rsaSpki(modulus(bits), Uint8Array.of(0xff, 0xff, 0xff, 0xff))),
      ),
    developer: { ca: developerCa, leaf: developerLeaf },
    underIphoneCa,
    appleDeveloper: { ca: appleDeveloperCa, leaf: appleDeveloperLeaf },
    realDevice,
    realDeviceMessage() {
      // The signer named by issuer and serial: the real certificate's.
      const real = Certificate.parse(realDevice);
      const signed = pki.sign(machineInfoPlist({ OS_VERSION: "26.5" }), { noattr: true, hash: "sha1" });
      const renamed = editSignerInfo(signed, (fields) => {
        fields[1] = readValue(tlv(0x30, real.issuer, real.serial));
      });
      return withCertificates(renamed, [realDevice]);
    },
  };
  return fixtures;
}
