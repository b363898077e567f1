// Whom MachineInfo verification trusts, and at what cost: certificate paths
// validated as RFC 5280 says (dates aside) to any configured anchor, Apple's
// anchors built in, bounded work for hostile messages, and the fields no
// signature covers refused. Every message is signed in the test by the
// openssl command line with chains of Apple's shape (test/helpers/openssl-pki.ts).
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  APPLE_ISSUER_PINS,
  appleTrustAnchors,
  BandedSchema,
  bundledAppleSchema,
  Certificate,
  CmsError,
  parsePemCertificates,
  parseSignedData,
  readMachineInfo,
  TrustStore,
  validateChain,
  type VerifierCaches,
  verifySignedData,
} from "enrollgate/apple";
import { CertificateCache, ingestMachineInfo } from "enrollgate/gate";
import { machineInfoPlist } from "../../support/signing.js";
import {
  certificatesIndex,
  editSignedData,
  editSignerInfo,
  readValue,
  withCertificates,
  type Value,
} from "../helpers/cms-edit.js";
import { tlv, type PkiCert } from "../helpers/openssl-pki.js";
import { readProject } from "../helpers/project.js";
import { sharedPath } from "../helpers/shared.js";
import { buildTrustFixtures, type TrustFixtures } from "../helpers/trust-fixtures.js";

let f: TrustFixtures;
const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");

beforeAll(async () => {
  f = await buildTrustFixtures();
}, 60_000);

const store = (...certs: ReadonlyArray<{ readonly pem: string }>) =>
  new TrustStore(certs.flatMap((c) => parsePemCertificates(c.pem, "anchor")));
const check = (der: Uint8Array, trust: TrustStore, caches?: VerifierCaches) =>
  verifySignedData(parseSignedData(der), trust, caches);

/** Link caches that record what they are asked: a `has` is asked before every certificate signature check. */
function recording(inner?: CertificateCache) {
  const asked: string[] = [];
  const added: string[] = [];
  const caches: VerifierCaches = {
    ...(inner !== undefined ? { certificates: inner.certificates } : {}),
    links: {
      has: (key) => {
        asked.push(key);
        return inner?.links.has(key) ?? false;
      },
      add: (key) => {
        added.push(key);
        inner?.links.add(key);
      },
    },
  };
  return { caches, asked, added };
}

type Anchors = "Device CA" | "Device CA, root" | "Device CA, iPhone CA, root";
type Carried = "device, Device CA" | "device, Device CA, iPhone CA" | "device, Device CA, iPhone CA, root";
const anchorsOf = (a: Anchors) =>
  a === "Device CA"
    ? store(f.pki.deviceCa)
    : a === "Device CA, root"
      ? store(f.pki.deviceCa, f.pki.root)
      : store(f.pki.deviceCa, f.pki.iphoneCa, f.pki.root);
const carriedOf = (c: Carried): PkiCert[] =>
  c === "device, Device CA"
    ? [f.pki.deviceCa]
    : c === "device, Device CA, iPhone CA"
      ? [f.pki.deviceCa, f.pki.iphoneCa]
      : [f.pki.deviceCa, f.pki.iphoneCa, f.pki.root];

const ENCODINGS = {
  "SHA-1 with signed attributes, streamed BER (as iOS)": { hash: "sha1", stream: true },
  "SHA-1 without signed attributes (as macOS)": { hash: "sha1", noattr: true },
  "SHA-256 with signed attributes, DER": { hash: "sha256" },
  "SHA-256 without signed attributes, streamed BER": { hash: "sha256", noattr: true, stream: true },
} as const;

const ANCHORS: Anchors[] = ["Device CA", "Device CA, root", "Device CA, iPhone CA, root"];
const CARRIED: Carried[] = ["device, Device CA", "device, Device CA, iPhone CA", "device, Device CA, iPhone CA, root"];

describe("anchors and the certificates a message carries", () => {
  it.each(ANCHORS.flatMap((a) => CARRIED.map((c) => [a, c] as const)))(
    "anchors {%s}, message carrying {%s}: verifies in every encoding devices use",
    (anchors, carried) => {
      for (const [name, encoding] of Object.entries(ENCODINGS)) {
        const der = f.pki.sign(f.blocked, { certs: carriedOf(carried), ...encoding });
        const v = check(der, anchorsOf(anchors));
        expect(v.ok ? "verified" : v.detail, name).toBe("verified");
        expect(readMachineInfo(der, { mode: "enforce", trust: anchorsOf(anchors), schema }), name).toMatchObject({
          ok: true,
          verification: { status: "verified" },
        });
      }
    },
  );

  it("refuses a carried certificate on no path from the signer, whatever the anchors", () => {
    const stray = f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pathLen1.deviceCa] });
    for (const anchors of ANCHORS) {
      expect(check(stray, anchorsOf(anchors)), anchors).toEqual({
        ok: false,
        code: "uncovered-field",
        detail: `the message carries a certificate that is not on the signer's chain ("C=US, O=Test Apple Inc., OU=Test Apple iPhone, CN=Test Device CA pathlen1"); no signature covers it`,
      });
    }
    // The root without the iPhone CA between: an anchor's copy, but on no path from this signer.
    expect(check(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.root] }), anchorsOf("Device CA"))).toMatchObject(
      { ok: false, code: "uncovered-field" },
    );
  });

  it("takes as the anchor's issuer only a certificate with the key the anchor names", () => {
    // The iPhone CA's name with another key: never used, and refused as on no path.
    const impostor = f.pki.craft("impostor-iphone-ca", f.pki.iphoneCa, Certificate.parse(f.pki.root.der).spki);
    const r = recording();
    const der = withCertificates(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa] }), [
      f.pki.device.der,
      f.pki.deviceCa.der,
      impostor.der,
    ]);
    expect(check(der, anchorsOf("Device CA"), r.caches)).toMatchObject({
      ok: false,
      code: "uncovered-field",
      detail: expect.stringContaining("Test Apple iPhone Certification Authority"),
    });
    expect(r.asked.some((k) => k.endsWith(Certificate.parse(impostor.der).keyHash))).toBe(false);
  });

  it("never verifies a device issued by a device certificate, under any anchors", () => {
    const der = f.pki.sign(f.blocked, {
      signer: f.forged,
      certs: [f.pki.device, f.pki.deviceCa, f.pki.iphoneCa, f.pki.root],
    });
    for (const anchors of ANCHORS) {
      expect(check(der, anchorsOf(anchors)), anchors).toEqual({
        ok: false,
        code: "ca-constraint",
        detail: `"CN=160D3FA1-C7D5-4F85-8448-000000000001, C=US, ST=CA, L=Cupertino, O=Test Apple Inc., OU=iPhone" is not a CA (basicConstraints CA:FALSE), so it cannot issue "CN=TEST-DEVICE-forged, C=US, O=Test Apple Inc., OU=iPhone"`,
      });
    }
    expect(check(der, store(f.pki.device, f.pki.deviceCa))).toMatchObject({ ok: false, code: "ca-constraint" }); // even with the device itself an anchor
  });

  it("checks a carried certificate above the anchor by its name and key only when nothing carried or configured signs it", () => {
    // Anchors {Device CA}, message {device, Device CA, iPhone CA}: the iPhone
    // CA's issuer (the root) is neither carried nor an anchor, so only its
    // name and its key (through its signature on the Device CA) are checked.
    const serial = f.pki.alter("iphone-ca-other-serial", f.pki.iphoneCa, {
      serial: tlv(0x02, Uint8Array.of(0x7f, 0x7f)),
    });
    const renamed = f.pki.alter("iphone-ca-other-name", f.pki.iphoneCa, {
      subject: Certificate.parse(f.pki.root.der).subject,
    });
    const rekeyed = f.pki.craft("iphone-ca-other-key", f.pki.iphoneCa, Certificate.parse(f.pki.root.der).spki);
    const message = (iphoneCa: PkiCert) =>
      withCertificates(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa] }), [
        f.pki.device.der,
        f.pki.deviceCa.der,
        iphoneCa.der,
      ]);
    expect(check(message(serial), anchorsOf("Device CA")).ok).toBe(true); // the bytes no signature covers, documented in SECURITY.md
    expect(check(message(renamed), anchorsOf("Device CA"))).toMatchObject({ ok: false, code: "uncovered-field" });
    expect(check(message(rekeyed), anchorsOf("Device CA"))).toMatchObject({ ok: false, code: "uncovered-field" });
    // With the root configured, the root's signature covers all of it.
    expect(check(message(serial), anchorsOf("Device CA, root"))).toMatchObject({
      ok: false,
      code: "issuer-signature-mismatch",
    });
    expect(check(message(serial), anchorsOf("Device CA, iPhone CA, root"))).toMatchObject({
      ok: false,
      code: "issuer-signature-mismatch",
    });
    // And an altered root, carried above the anchors: refused, whichever of its bytes changed.
    const rootSerial = f.pki.alter("root-other-serial", f.pki.root, { serial: tlv(0x02, Uint8Array.of(0x33)) });
    const withRoot = withCertificates(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa] }), [
      f.pki.device.der,
      f.pki.deviceCa.der,
      f.pki.iphoneCa.der,
      rootSerial.der,
    ]);
    for (const anchors of ANCHORS) expect(check(withRoot, anchorsOf(anchors)).ok, anchors).toBe(false);
  });
});

describe("CA constraints along the path (RFC 5280 6.1)", () => {
  const root = () => store(f.pki.root);

  it("refuses pathLenConstraint 0 with a CA below it, and accepts pathLenConstraint 1", () => {
    const { iphoneCa, deviceCa, device } = f.pathLen0;
    const der = f.pki.sign(f.blocked, { signer: device, certs: [deviceCa, iphoneCa], hash: "sha1" });
    expect(check(der, root())).toEqual({
      ok: false,
      code: "path-length",
      detail: `"C=US, O=Test Apple Inc., OU=Test Certification Authority, CN=Test iPhone CA pathlen0" allows 0 CA certificates below it (pathLenConstraint); this chain has 1`,
    });
    const ok = f.pathLen1;
    expect(
      check(f.pki.sign(f.blocked, { signer: ok.device, certs: [ok.deviceCa, ok.iphoneCa], hash: "sha1" }), root()).ok,
    ).toBe(true);
  });

  it("refuses an issuer whose keyUsage lacks keyCertSign", () => {
    const { deviceCa, device } = f.noCertSign;
    expect(check(f.pki.sign(f.blocked, { signer: device, certs: [deviceCa, f.pki.iphoneCa] }), root())).toMatchObject({
      ok: false,
      code: "ca-constraint",
      detail: expect.stringMatching(
        /^"C=US, O=Test Apple Inc., OU=Test Apple iPhone, CN=Test Device CA no-certsign" may not sign certificates \(its keyUsage lacks keyCertSign\)/,
      ),
    });
  });

  it("lets a certificate without extensions issue only when it is itself a trust anchor", () => {
    const { deviceCa, device } = f.v1;
    expect(Certificate.parse(deviceCa.der)).toMatchObject({ version: 1, extensions: null });
    const der = f.pki.sign(f.blocked, { signer: device, certs: [deviceCa, f.pki.iphoneCa] });
    expect(check(der, root())).toMatchObject({
      ok: false,
      code: "ca-constraint",
      detail: expect.stringContaining("is a version 1 certificate without extensions and not a trust anchor"),
    });
    expect(check(f.pki.sign(f.blocked, { signer: device, certs: [deviceCa] }), store(deviceCa)).ok).toBe(true);
  });

  it("refuses an intermediate with a critical extension it does not process", () => {
    const { deviceCa, device } = f.unknownCritical;
    expect(check(f.pki.sign(f.blocked, { signer: device, certs: [deviceCa, f.pki.iphoneCa] }), root())).toMatchObject({
      ok: false,
      code: "ca-constraint",
      detail: expect.stringContaining("has a critical extension 1.2.3.4.5 the gate does not process"),
    });
  });
});

describe("Apple's anchors, built in", () => {
  const fingerprint = (der: Uint8Array) => createHash("sha256").update(der).digest("hex");
  const shared = (name: string) => new X509Certificate(readFileSync(sharedPath("apple", "certs", name)));

  it("anchors/apple.pem holds exactly Apple's three CA certificates from ../shared/apple/certs, each with its subject and fingerprint", () => {
    const expected = [
      "apple-root-ca.pem",
      "apple-iphone-certification-authority.pem",
      "apple-iphone-device-ca.pem",
    ].map((n) => shared(n));
    expect(appleTrustAnchors().map((a) => fingerprint(a.raw))).toEqual(expected.map((c) => fingerprint(c.raw)));
    const comments = readProject("anchors", "apple.pem").match(/^# SHA-256: .*$/gm) ?? [];
    expect(comments.map((c) => c.slice("# SHA-256: ".length))).toEqual(expected.map((c) => c.fingerprint256));
    expect(readProject("anchors", "apple.pem").match(/^# Subject: .*$/gm)).toHaveLength(3);
  });

  it("the real device identity chains to the bundled anchors by signature, with SHA-1 and RSA-1024", () => {
    const real = Certificate.parse(f.realDevice);
    expect(real).toMatchObject({
      signatureAlgorithm: "1.2.840.113549.1.1.5",
      key: { type: "rsa", bits: 1024, exponent: 65537n },
    });
    const apple = new TrustStore(appleTrustAnchors());
    const r = recording();
    const chain = validateChain(real, [], apple, r.caches.links);
    expect(chain).toMatchObject({
      ok: true,
      anchor: { subjectName: "C=US, O=Apple Inc., OU=Apple iPhone, CN=Apple iPhone Device CA", key: { bits: 1024 } },
    });
    expect(r.added).toEqual([`${real.sha256}>${(chain.ok ? chain.anchor : real).keyHash}`]); // one signature, checked and good
    // From the root down, through the certificates a device carries: every link SHA-1, checked by signature.
    const [rootCa, iphoneCa, deviceCa] = [
      "apple-root-ca.pem",
      "apple-iphone-certification-authority.pem",
      "apple-iphone-device-ca.pem",
    ].map((n) => Certificate.parse(shared(n).raw)) as [Certificate, Certificate, Certificate];
    const onlyRoot = new TrustStore([shared("apple-root-ca.pem")]);
    expect(validateChain(real, [deviceCa, iphoneCa], onlyRoot)).toMatchObject({
      ok: true,
      path: [real, deviceCa, iphoneCa, { sha256: rootCa.sha256 }],
    });
    // One bit of its signature changed, it no longer chains.
    const damaged = Uint8Array.from(f.realDevice);
    damaged[damaged.length - 5] = (damaged[damaged.length - 5] as number) ^ 1;
    expect(validateChain(Certificate.parse(damaged), [], apple)).toMatchObject({
      ok: false,
      code: "issuer-signature-mismatch",
    });
  });

  it("a message naming the real device fails only at its content signature (made here with a test key)", () => {
    const v = check(f.realDeviceMessage(), new TrustStore(appleTrustAnchors()));
    expect(v).toEqual({ ok: false, code: "signature-mismatch", detail: "the signature does not match" });
  });

  it("a message from a test chain is not anchored in Apple's", () => {
    expect(
      check(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa] }), new TrustStore(appleTrustAnchors())),
    ).toMatchObject({
      ok: false,
      code: "chain-unanchored",
      detail:
        'no chain from the signer to a trust anchor (stuck at issuer "C=US, O=Test Apple Inc., OU=Test Certification Authority, CN=Test Apple Root CA")',
    });
  });
});

describe("Apple's root vouches for devices only through the Device CA", () => {
  // Apple Root CA also issues the developer CAs (Worldwide Developer
  // Relations, Developer ID), whose certificates anyone with an Apple
  // developer account holds with their keys. The test PKI's root, pinned
  // the way Apple's is, stands in for it.
  const key = (c: PkiCert) => Certificate.parse(c.der).keyHash;
  const pinned = (...anchors: PkiCert[]) =>
    new TrustStore(
      anchors.flatMap((c) => parsePemCertificates(c.pem, "anchor")),
      {
        issuerPins: [f.pki.root, f.pki.iphoneCa].map((a) => ({
          anchorKey: key(a),
          issuerKey: key(f.pki.deviceCa),
          issuerName: "Test Apple iPhone Device CA",
        })),
      },
    );
  const developerMessage = () =>
    f.pki.sign(machineInfoPlist({ OS_VERSION: "26.6.1", SERIAL: "ANYDEVICE01" }), {
      signer: f.developer.leaf,
      certs: [f.developer.ca],
    });

  it("a root without a pin vouches for anything under it (RFC 5280): a developer certificate's MachineInfo verifies", () => {
    // What Apple's root did for an Apple Development certificate before it was pinned.
    expect(check(developerMessage(), store(f.pki.root)).ok).toBe(true);
  });

  it("refuses a developer certificate under the pinned root before any signature is checked", () => {
    const r = recording();
    expect(check(developerMessage(), pinned(f.pki.root), r.caches)).toEqual({
      ok: false,
      code: "issuing-ca",
      detail: `"CN=Apple Development: Anyone (TEAM000001), O=Anyone, C=US" is issued by "C=US, O=Test Apple Inc., OU=Test Certification Authority, CN=Test Worldwide Developer Relations CA"; the trust anchor "C=US, O=Test Apple Inc., OU=Test Certification Authority, CN=Test Apple Root CA" vouches for a signer only when its issuer is "Test Apple iPhone Device CA"`,
    });
    expect(r.asked).toEqual([]);
    // Whatever else is configured beside the root.
    for (const anchors of [pinned(f.pki.deviceCa, f.pki.root), pinned(f.pki.deviceCa, f.pki.iphoneCa, f.pki.root)])
      expect(check(developerMessage(), anchors)).toMatchObject({ ok: false, code: "issuing-ca" });
  });

  it("refuses a leaf the pinned iPhone CA issued directly", () => {
    const der = f.pki.sign(f.blocked, { signer: f.underIphoneCa, certs: [f.pki.iphoneCa] });
    expect(check(der, pinned(f.pki.iphoneCa, f.pki.root))).toMatchObject({ ok: false, code: "issuing-ca" });
    expect(check(der, pinned(f.pki.root))).toMatchObject({ ok: false, code: "issuing-ca" });
  });

  it("still verifies every chain devices send, under every anchor set, and under the root alone", () => {
    const sets = [
      pinned(f.pki.deviceCa),
      pinned(f.pki.deviceCa, f.pki.root),
      pinned(f.pki.deviceCa, f.pki.iphoneCa, f.pki.root),
    ];
    for (const trust of sets) {
      for (const carried of CARRIED) {
        for (const [name, encoding] of Object.entries(ENCODINGS))
          expect(
            check(f.pki.sign(f.blocked, { certs: carriedOf(carried), ...encoding }), trust).ok,
            `${carried}, ${name}`,
          ).toBe(true);
      }
    }
    expect(check(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa] }), pinned(f.pki.root)).ok).toBe(true);
  });

  it("Apple's pins name the keys of the bundled root, iPhone CA and Device CA", () => {
    const [rootCa, iphoneCa, deviceCa] = appleTrustAnchors().map((a) => Certificate.parse(a.raw)) as [
      Certificate,
      Certificate,
      Certificate,
    ];
    expect(APPLE_ISSUER_PINS.map((p) => [p.anchorKey, p.issuerKey])).toEqual([
      [rootCa.keyHash, deviceCa.keyHash],
      [iphoneCa.keyHash, deviceCa.keyHash],
    ]);
  });

  it("with Apple's anchors (built in, or the root from a file), a CA under Apple Root CA other than the Device CA is refused before any signature is checked", () => {
    const der = f.pki.sign(machineInfoPlist({ OS_VERSION: "26.6.1" }), {
      signer: f.appleDeveloper.leaf,
      certs: [f.appleDeveloper.ca],
    });
    const rootFromFile = new TrustStore(
      parsePemCertificates(
        readFileSync(sharedPath("apple", "certs", "apple-root-ca.pem"), "utf8"),
        "apple-root-ca.pem",
      ),
    );
    for (const trust of [new TrustStore(appleTrustAnchors()), rootFromFile]) {
      const r = recording();
      expect(check(der, trust, r.caches)).toMatchObject({
        ok: false,
        code: "issuing-ca",
        detail: expect.stringContaining('vouches for a signer only when its issuer is "Apple iPhone Device CA"'),
      });
      expect(r.asked).toEqual([]);
    }
  });
});

describe("verification cost an attacker controls", () => {
  const apple = () => anchorsOf("Device CA, iPhone CA, root");
  const genuine = () => f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa] });

  it("refuses more than 10 certificates before reading any of them", () => {
    const eleven = withCertificates(genuine(), [
      f.pki.device.der,
      f.pki.deviceCa.der,
      f.pki.iphoneCa.der,
      f.pki.root.der,
      ...f.decoys(7).map((d) => d.der),
    ]);
    expect(() => parseSignedData(eleven)).toThrow(
      new CmsError("the message carries 11 certificates; at most 10 are accepted", "too-many-certificates"),
    );
    expect(ingestMachineInfo(eleven, { mode: "enforce", trust: apple(), schema })).toMatchObject({
      ok: false,
      status: 400,
      code: "bad-cms",
      failure: "too-many-certificates",
    });
  });

  it.each([
    [
      "a 16,384-bit RSA key",
      () => f.giantDecoy,
      "key-too-large",
      "an RSA key of 16384 bits; at most 4096 are accepted",
    ],
    [
      "an RSA exponent of 2^4096 + 1",
      () => f.hugeExponentDecoy,
      "key-exponent",
      "an RSA public exponent longer than 64 bits; an odd exponent from 3 to 2^32-1 is accepted",
    ],
    [
      "an even RSA exponent",
      () => f.evenExponentDecoy,
      "key-exponent",
      "an RSA public exponent 65536; an odd exponent from 3 to 2^32-1 is accepted",
    ],
    ["an RSA-512 key", () => f.smallDecoy, "key-too-small", "an RSA key of 512 bits; at least 1024 are accepted"],
    [
      "an EC key on P-521",
      () => f.p521Device,
      "key-unsupported",
      "an EC key on P-521; only P-256 and P-384 are accepted",
    ],
  ] as const)(
    "refuses a carried certificate with %s before any signature is checked",
    (_what, decoy, code, message) => {
      const r = recording();
      const der = withCertificates(genuine(), [f.pki.device.der, f.pki.deviceCa.der, decoy().der]);
      expect(check(der, apple(), r.caches)).toEqual({ ok: false, code, detail: expect.stringContaining(message) });
      expect(r.asked).toEqual([]);
    },
  );

  it("refuses a signer with a P-521 key", () => {
    expect(check(f.pki.sign(f.blocked, { signer: f.p521Device, certs: [f.pki.deviceCa] }), apple())).toMatchObject({
      ok: false,
      code: "key-unsupported",
    });
  });

  it("refuses decoy issuers named like the signer's, up to the certificate limit, before any signature is checked", () => {
    for (const anchors of ANCHORS) {
      const r = recording();
      const der = withCertificates(genuine(), [f.pki.device.der, f.pki.deviceCa.der, ...f.decoys(8).map((d) => d.der)]);
      expect(check(der, anchorsOf(anchors), r.caches), anchors).toMatchObject({
        ok: false,
        code: "ambiguous-issuer",
        detail: expect.stringMatching(
          /^the message carries 8 certificates named "C=US, O=Test Apple Inc., OU=Test Apple iPhone, CN=Test Apple iPhone Device CA"/,
        ),
      });
      expect(r.asked, anchors).toEqual([]);
    }
  });

  it("checks each certificate signature at most once per message", () => {
    const r = recording();
    const der = f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa, f.pki.root] });
    expect(check(der, apple(), r.caches).ok).toBe(true);
    expect(new Set(r.asked).size).toBe(r.asked.length);
    // device by Device CA, Device CA by iPhone CA, iPhone CA by root, the root by itself
    expect(r.asked).toHaveLength(4);
  });

  it("remembers verified certificate links across messages: a new device costs one certificate check", () => {
    const cache = new CertificateCache();
    const first = recording(cache);
    expect(check(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa] }), apple(), first.caches).ok).toBe(
      true,
    );
    // device by the Device CA; above that anchor, the Device CA by the iPhone CA, and the iPhone CA by the root
    expect(first.added).toHaveLength(3);
    const other = f.pki.issue("another-device", {
      issuer: f.pki.deviceCa,
      subject: "/CN=TEST-DEVICE-another/C=US/O=Test Apple Inc./OU=iPhone",
      extensions: "device",
      key: { type: "rsa", bits: 1024 },
      md: "sha1",
    });
    const second = recording(cache);
    expect(
      check(f.pki.sign(f.blocked, { signer: other, certs: [f.pki.deviceCa, f.pki.iphoneCa] }), apple(), second.caches)
        .ok,
    ).toBe(true);
    expect(second.added).toEqual([
      `${Certificate.parse(other.der).sha256}>${Certificate.parse(f.pki.deviceCa.der).keyHash}`,
    ]);
  });
});

describe("fields no signature covers", () => {
  const read = (der: Uint8Array) =>
    ingestMachineInfo(der, { mode: "enforce", trust: anchorsOf("Device CA, iPhone CA, root"), schema });
  const messages = () => ({
    "DER with signed attributes": f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa], hash: "sha1" }),
    "streamed BER without signed attributes": f.pki.sign(f.blocked, {
      certs: [f.pki.deviceCa, f.pki.iphoneCa],
      noattr: true,
      stream: true,
    }),
  });
  const crl = tlv(0x30, tlv(0x30, tlv(0x02, Uint8Array.of(1))), tlv(0x04, Buffer.from("arbitrary contents")));
  const attribute = tlv(
    0x30,
    tlv(0x06, Uint8Array.of(0x2a, 0x03)),
    tlv(0x31, tlv(0x04, Buffer.from("anything at all"))),
  );

  it.each([
    [
      "revocation lists (crls)",
      (der: Uint8Array) =>
        editSignedData(der, (fields) => fields.splice(certificatesIndex(fields) + 1, 0, readValue(tlv(0xa1, crl)))),
      "uncovered-field",
      "the message carries revocation lists (crls); no signature covers them, and MachineInfo carries none",
    ],
    [
      "unsigned attributes",
      (der: Uint8Array) => editSignerInfo(der, (fields) => fields.push(readValue(tlv(0xa1, attribute)))),
      "uncovered-field",
      "the signer has unsigned attributes; no signature covers them, and MachineInfo carries none",
    ],
    [
      "an attribute certificate",
      (der: Uint8Array) =>
        editSignedData(der, (fields) =>
          fields[certificatesIndex(fields)]?.children?.push(
            readValue(tlv(0xa2, tlv(0x30, tlv(0x04, Buffer.from("v2AttrCert"))))),
          ),
        ),
      "uncovered-field",
      "the message carries a certificate that is not X.509 (tag [2]); MachineInfo carries X.509 certificates only",
    ],
    [
      "a certificate in another format",
      (der: Uint8Array) =>
        editSignedData(der, (fields) =>
          fields[certificatesIndex(fields)]?.children?.push(
            readValue(tlv(0xa3, tlv(0x06, Uint8Array.of(0x2a)), tlv(0x04, Buffer.from("other")))),
          ),
        ),
      "uncovered-field",
      "the message carries a certificate that is not X.509 (tag [3]); MachineInfo carries X.509 certificates only",
    ],
    [
      "the same certificate twice",
      (der: Uint8Array) =>
        withCertificates(der, [f.pki.device.der, f.pki.deviceCa.der, f.pki.iphoneCa.der, f.pki.deviceCa.der]),
      "uncovered-field",
      "the message carries the same certificate twice; no signature covers the copy",
    ],
    [
      "a content type other than id-data",
      (der: Uint8Array) =>
        editSignedData(der, (fields) => {
          const encap = fields[2]?.children as Array<{ contents: Uint8Array }>;
          (encap[0] as { contents: Uint8Array }).contents = Uint8Array.of(
            0x2a,
            0x86,
            0x48,
            0x86,
            0xf7,
            0x0d,
            0x01,
            0x07,
            0x05,
          );
        }),
      "malformed",
      "the encapsulated content is 1.2.840.113549.1.7.5; MachineInfo is id-data",
    ],
  ] as const)("refuses %s, in DER and in streamed BER", (_what, insert, failure, message) => {
    for (const [name, der] of Object.entries(messages())) {
      expect(read(der).ok, name).toBe(true);
      expect(read(insert(der)), name).toEqual({
        ok: false,
        status: 400,
        code: "bad-cms",
        message: `MachineInfo is not a CMS SignedData message: ${message}`,
        failure,
      });
    }
  });

  it("an ECDSA signature verifies as (r, s) and as (r, n - s): the one malleable value, which Apple's RSA chain does not have", () => {
    const ecDevice = f.pki.issue("device-p256", {
      issuer: f.pki.deviceCa,
      subject: "/CN=TEST-DEVICE-p256/O=Test Apple Inc./OU=iPhone",
      extensions: "device",
      key: { type: "ec", curve: "P-256" },
    });
    const der = f.pki.sign(f.blocked, { signer: ecDevice, certs: [f.pki.deviceCa] });
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const integer = (v: bigint) => {
      let bytes = Buffer.from(v.toString(16).padStart(64, "0"), "hex");
      while (bytes.length > 1 && bytes[0] === 0 && ((bytes[1] as number) & 0x80) === 0) bytes = bytes.subarray(1);
      return tlv(0x02, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
    };
    const flipped = editSignerInfo(der, (fields) => {
      const at = fields.length - 1;
      const [r, s] = readValue((fields[at] as Value).contents).children as Value[] as [Value, Value];
      const other = n - BigInt(`0x${Buffer.from(s.contents).toString("hex")}`);
      fields[at] = readValue(tlv(0x04, tlv(0x30, tlv(0x02, r.contents), integer(other))));
    });
    expect(Buffer.from(flipped).equals(Buffer.from(der))).toBe(false);
    for (const message of [der, flipped]) expect(check(message, anchorsOf("Device CA")).ok).toBe(true);
  });

  it("refuses a digest algorithm the signer does not use", () => {
    for (const [name, der] of Object.entries(messages())) {
      const extra = editSignedData(der, (fields) =>
        fields[1]?.children?.push(
          readValue(tlv(0x30, tlv(0x06, Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03)))),
        ),
      );
      expect(read(extra), name).toEqual({
        ok: false,
        status: 403,
        code: "unverified-machine-info",
        message:
          "MachineInfo signature not verified: the message announces digest algorithms its signer does not use; no signature covers them",
        failure: "uncovered-field",
      });
    }
  });
});
