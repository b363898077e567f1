// MachineInfo: CMS verification with a throwaway CA, the strict plist reader,
// schema validation and the facts it yields.
import { beforeAll, describe, expect, it } from "vitest";
import {
  BandedSchema,
  bundledAppleSchema,
  CmsError,
  parsePemCertificates,
  parsePlistBytes,
  parsePlistText,
  parseSignedData,
  PlistError,
  TrustStore,
  verifySignedData,
} from "enrollgate/apple";
import { ingestMachineInfo, type MachineInfoResult } from "enrollgate/gate";
import { createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";

let ca: Identity;
let otherCa: Identity;
let rsaDevice: Identity;
let ecDevice: Identity;
let trust: TrustStore;
const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");
const plist = machineInfoPlist();

beforeAll(async () => {
  ca = await createCA("Test Device CA");
  otherCa = await createCA("Someone Else's CA");
  rsaDevice = await createIdentity(ca, { kind: "rsa" });
  ecDevice = await createIdentity(ca, { kind: "ecdsa" });
  trust = new TrustStore(parsePemCertificates(ca.pem, "ca.pem"));
});

function verify(der: Uint8Array, store = trust) {
  return verifySignedData(parseSignedData(der), store);
}

describe("CMS verification", () => {
  it.each([
    ["rsa", "SHA-1"],
    ["rsa", "SHA-256"],
    ["ecdsa", "SHA-1"],
    ["ecdsa", "SHA-256"],
  ] as const)("accepts %s signatures with %s, from certificates long expired", async (kind, hash) => {
    const der = await signCms(plist, kind === "rsa" ? rsaDevice : ecDevice, { hash });
    const v = verify(der);
    expect(v.ok, v.ok ? "" : v.detail).toBe(true);
  });

  it("accepts a signature without signed attributes (over the content itself)", async () => {
    expect(verify(await signCms(plist, rsaDevice, { signedAttributes: false })).ok).toBe(true);
  });

  it("walks a chain through an intermediate carried in the message", async () => {
    const intermediate = await createIdentity(ca, { commonName: "Test Intermediate", ca: true });
    const leaf = await createIdentity(intermediate, { kind: "ecdsa" });
    expect(verify(await signCms(plist, leaf, { certificates: [intermediate] })).ok).toBe(true);
    expect(verify(await signCms(plist, leaf))).toEqual({
      ok: false,
      code: "chain-unanchored",
      detail: expect.stringMatching(/no chain from the signer to a trust anchor/),
    });
  });

  it("rejects a tampered payload", async () => {
    const der = Buffer.from(await signCms(plist, rsaDevice));
    const at = der.indexOf("iPhone17,3");
    der[at + 6] = "8".charCodeAt(0);
    expect(verify(der)).toEqual({
      ok: false,
      code: "digest-mismatch",
      detail: "the content does not match the signed messageDigest",
    });
    const bare = Buffer.from(await signCms(plist, rsaDevice, { signedAttributes: false }));
    bare[bare.indexOf("iPhone17,3") + 6] = "8".charCodeAt(0);
    expect(verify(bare)).toEqual({ ok: false, code: "signature-mismatch", detail: "the signature does not match" });
  });

  it("rejects a signer from another CA", async () => {
    const stranger = await createIdentity(otherCa);
    expect(verify(await signCms(plist, stranger))).toEqual({
      ok: false,
      code: "chain-unanchored",
      detail: expect.stringMatching(/no chain .*\(stuck at issuer ".*CN=Someone Else's CA"\)/),
    });
  });

  it("rejects two signers", async () => {
    expect(verify(await signCms(plist, rsaDevice, { coSigners: [ecDevice] }))).toEqual({
      ok: false,
      code: "signer-count",
      detail: "the message has 2 signers; MachineInfo has exactly one",
    });
  });

  it("rejects a message without the signer's certificate", async () => {
    expect(verify(await signCms(plist, rsaDevice, { includeCertificate: false }))).toEqual({
      ok: false,
      code: "signer-certificate-missing",
      detail: "the signer's certificate is not in the message",
    });
  });

  it("trusts nothing with an empty trust store", async () => {
    expect(verify(await signCms(plist, rsaDevice), new TrustStore([])).ok).toBe(false);
  });

  it.each([
    [new Uint8Array([]), "the message is empty"],
    [new Uint8Array([0x30, 0x82, 0xff]), /not valid DER/],
    [new Uint8Array([0x04, 0x01, 0x00]), "ContentInfo is missing or has the wrong type"],
    [Buffer.from("hello, not DER at all"), /not valid DER|wrong type/],
  ])("names malformed DER %#", (der, message) => {
    expect(() => parseSignedData(der)).toThrow(message);
  });

  it("names trailing bytes", async () => {
    const der = await signCms(plist, rsaDevice);
    expect(() => parseSignedData(Buffer.concat([der, Buffer.from([0])]))).toThrow(
      "the message has 1 bytes of trailing data",
    );
  });

  it("refuses a message with more certificates than any device sends", async () => {
    const noise = Array.from({ length: 17 }, () => rsaDevice);
    expect(() => parseSignedData(Buffer.from([]))).toThrow();
    const der = await signCms(plist, rsaDevice, { certificates: noise });
    expect(() => parseSignedData(der)).toThrow("the message carries 18 certificates; at most 10 are accepted");
  });

  it("refuses a certificate in the message that is not on the signer's chain", async () => {
    const stranger = await createIdentity(otherCa);
    expect(verify(await signCms(plist, rsaDevice, { certificates: [stranger] }))).toEqual({
      ok: false,
      code: "uncovered-field",
      detail: `the message carries a certificate that is not on the signer's chain ("O=enrollgate tests, CN=Apple iPhone Device"); no signature covers it`,
    });
    // The anchor itself, carried along, belongs.
    expect(verify(await signCms(plist, rsaDevice, { certificates: [ca] })).ok).toBe(true);
  });

  it("accepts the root above a configured intermediate anchor, and nothing else above it", async () => {
    const intermediate = await createIdentity(ca, { commonName: "Anchor Intermediate", ca: true });
    const leaf = await createIdentity(intermediate, { kind: "ecdsa" });
    const anchoredAtIntermediate = new TrustStore(parsePemCertificates(intermediate.pem, "intermediate.pem"));
    expect(verify(await signCms(plist, leaf, { certificates: [intermediate, ca] }), anchoredAtIntermediate).ok).toBe(
      true,
    );
    expect(
      verify(await signCms(plist, leaf, { certificates: [intermediate, otherCa] }), anchoredAtIntermediate).ok,
    ).toBe(false);
  });

  it("refuses parts no signature covers when they are not what the signer wrote", async () => {
    const der = Buffer.from(await signCms(plist, rsaDevice));
    // SignedData's version INTEGER (02 01 01) right after its header: 1 → 3.
    const version = der.indexOf(Buffer.from([0x02, 0x01, 0x01]));
    const v3 = Buffer.from(der);
    v3[version + 2] = 3;
    expect(() => parseSignedData(v3)).toThrow("SignedData version is 3; this message must be version 1");
    // The NULL parameters (05 00) of the first digest algorithm, retagged as an empty OCTET STRING.
    const nul = der.indexOf(Buffer.from([0x05, 0x00]));
    const params = Buffer.from(der);
    params[nul] = 0x04;
    expect(() => parseSignedData(params)).toThrow("digest algorithm has parameters; expected none or NULL");
    // The outer SEQUENCE's constructed bit cleared.
    const primitive = Buffer.from(der);
    primitive[0] = 0x10;
    expect(() => parseSignedData(primitive)).toThrow(CmsError);
  });

  it("reads trust anchors from PEM bundles and names bad ones", () => {
    expect(parsePemCertificates(`${ca.pem}\n${otherCa.pem}`, "bundle.pem")).toHaveLength(2);
    expect(() => parsePemCertificates("nothing here", "empty.pem")).toThrow("empty.pem holds no PEM certificate");
    expect(() =>
      parsePemCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "bad.pem"),
    ).toThrow(/bad.pem: certificate 1 cannot be read/);
  });
});

describe("the plist reader", () => {
  const wrap = (
    inner: string,
    doctype = '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
  ) => `<?xml version="1.0" encoding="UTF-8"?>\n${doctype}\n<plist version="1.0">${inner}</plist>`;

  it("reads every value type", () => {
    expect(
      parsePlistText(
        wrap(
          "<dict><key>s</key><string>a &amp; b</string><key>i</key><integer>-42</integer><key>r</key><real>0.5</real><key>t</key><true/><key>f</key><false/>" +
            "<key>d</key><date>2026-11-22T10:00:00Z</date><key>b</key><data>aGVs\nbG8=</data><key>a</key><array><string>x</string><integer>1</integer></array><key>e</key><dict/></dict>",
        ),
      ),
    ).toEqual({
      s: "a & b",
      i: -42,
      r: 0.5,
      t: true,
      f: false,
      d: new Date("2026-11-22T10:00:00Z"),
      b: Buffer.from("hello"),
      a: ["x", 1],
      e: {},
    });
  });

  it("accepts Apple's standard DOCTYPE line", () => {
    expect(parsePlistText(wrap("<string>ok</string>"))).toBe("ok");
  });

  it.each([
    [
      "an entity declaration",
      wrap("<string>&a;</string>", '<!DOCTYPE plist [<!ENTITY a "aaaa">]>'),
      "internal DTD subset",
    ],
    [
      "nested entities",
      wrap("<string>&b;</string>", '<!DOCTYPE plist [<!ENTITY a "x"><!ENTITY b "&a;&a;">]>'),
      "internal DTD subset",
    ],
    [
      "an external DOCTYPE",
      wrap("<string>x</string>", '<!DOCTYPE plist SYSTEM "file:///etc/passwd">'),
      "a DOCTYPE other than Apple's standard plist DOCTYPE",
    ],
    [
      "a bare entity declaration",
      `<?xml version="1.0"?><!ENTITY x "y"><plist><string>x</string></plist>`,
      "the plist declares an entity (<!ENTITY>)",
    ],
    ["an undefined entity", wrap("<string>&xxe;</string>"), "the plist refers to an undefined entity &xxe;"],
    [
      "10,000 levels of nesting",
      wrap(`${"<array>".repeat(10_000)}${"</array>".repeat(10_000)}`),
      "the plist nests deeper than 32 levels",
    ],
    ["an integer that is not one", wrap("<integer>abc</integer>"), "<integer>abc</integer> is not an integer"],
    ["an unsafe integer", wrap("<integer>123456789012345678901234</integer>"), /is not an integer/],
    ["a date that is not one", wrap("<date>tomorrow</date>"), "<date>tomorrow</date> is not an ISO 8601 UTC date"],
    ["data that is not base64", wrap("<data>!!!</data>"), "<data> is not base64"],
    ["an unknown element", wrap("<set/>"), "<set> is not a property list element"],
    ["a key without a value", wrap("<dict><key>a</key></dict>"), "<key>a</key> has no value"],
    ["a duplicated key", wrap("<dict><key>a</key><true/><key>a</key><false/></dict>"), 'key "a" appears twice'],
    ["two values", wrap("<string>a</string><string>b</string>"), "<plist> must hold exactly one value, not 2"],
    ["an unclosed tag", "<plist><dict><key>a</key><string>x</string>", /not well-formed XML: unclosed xml tag/],
    ["no XML", "hello", /not well-formed XML/],
    ["the wrong root", "<html><body/></html>", "the root element is <html>, not <plist>"],
  ])("refuses %s", (_what, xml, message) => {
    expect(() => parsePlistText(xml)).toThrow(PlistError);
    expect(() => parsePlistText(xml)).toThrow(message);
  });

  it("does not let a key named __proto__ reach the prototype", () => {
    const v = parsePlistText(
      wrap("<dict><key>__proto__</key><dict><key>polluted</key><true/></dict></dict>"),
    ) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(["__proto__"]);
  });

  it.each([
    [Buffer.from("bplist00\u00d1\u0001\u0002"), "binary property lists are not accepted; expected an XML plist"],
    [Buffer.from([0x3c, 0x70, 0xff, 0xfe, 0x3e]), "the plist is not valid UTF-8"],
    [Buffer.from("\ufeff<plist/>", "utf16le"), "the plist is UTF-16; expected UTF-8"],
  ])("refuses bytes %#", (bytes, message) => {
    expect(() => parsePlistBytes(bytes)).toThrow(message);
  });
});

describe("ingestMachineInfo", () => {
  const read = async (
    content: string,
    mode: "enforce" | "audit" | "off" = "enforce",
    signer?: Identity,
  ): Promise<MachineInfoResult> =>
    ingestMachineInfo(await signCms(content, signer ?? ecDevice), { mode, trust, schema });

  it("turns a verified MachineInfo into facts", async () => {
    const r = await read(
      machineInfoPlist({ SUPPLEMENTAL_BUILD_VERSION: "23F77a", SUPPLEMENTAL_OS_VERSION_EXTRA: "(a)" }),
    );
    expect(r).toMatchObject({
      ok: true,
      verification: { status: "verified", signer: expect.stringMatching(/CN=Apple iPhone Device/) },
      facts: {
        product: "iPhone17,3",
        osVersion: "26.5",
        build: "23F77",
        serial: "G7QK21P0XY3D",
        udid: "00008120-001A2B3C4D5E6F70",
        deviceId: "iPhone17,3",
        supplementalExtra: "(a)",
        supplementalBuild: "23F77a",
        canRequestUpdate: true,
      },
    });
  });

  it("treats a missing MDM_CAN_REQUEST_SOFTWARE_UPDATE as false, Apple's default", async () => {
    const r = await read(machineInfoPlist({ MDM_CAN_REQUEST_SOFTWARE_UPDATE: false }));
    expect(r.ok && r.facts.canRequestUpdate).toBe(false);
  });

  it("under enforce, answers an unverified signature with 403", async () => {
    const stranger = await createIdentity(otherCa);
    expect(await read(plist, "enforce", stranger)).toMatchObject({
      ok: false,
      status: 403,
      code: "unverified-machine-info",
      message: /^MachineInfo signature not verified: no chain/,
    });
  });

  it("under audit, continues and says why it is unverified", async () => {
    const stranger = await createIdentity(otherCa);
    expect(await read(plist, "audit", stranger)).toMatchObject({
      ok: true,
      verification: { status: "unverified", problem: /no chain/ },
    });
  });

  it("under off, does not look at the signature", async () => {
    const stranger = await createIdentity(otherCa);
    expect(await read(plist, "off", stranger)).toMatchObject({ ok: true, verification: { status: "skipped" } });
  });

  it("validates the plist against schemas/machineinfo.yaml", async () => {
    expect(
      await read(
        machineInfoPlist({ SERIAL: undefined as unknown as string }).replace(
          /<key>SERIAL<\/key>\s*<string>[^<]*<\/string>/,
          "",
        ),
      ),
    ).toMatchObject({
      ok: false,
      status: 400,
      code: "invalid-machine-info",
      message: 'MachineInfo does not match Apple\'s schema: (root): missing required key "SERIAL"',
    });
    expect(await read(machineInfoPlist().replace("<true/>", "<string>yes</string>"))).toMatchObject({
      ok: false,
      code: "invalid-machine-info",
      message: "MachineInfo does not match Apple's schema: MDM_CAN_REQUEST_SOFTWARE_UPDATE: must be boolean",
    });
  });

  it("answers a signed plist declaring entities with 400", async () => {
    const hostile =
      '<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "x">]><plist><dict><key>PRODUCT</key><string>&a;</string></dict></plist>';
    expect(await read(hostile)).toMatchObject({
      ok: false,
      status: 400,
      code: "bad-plist",
      message: /internal DTD subset/,
    });
  });

  it("answers bytes that are not CMS with 400", () => {
    expect(ingestMachineInfo(Buffer.from("nope"), { mode: "off", trust, schema })).toMatchObject({
      ok: false,
      status: 400,
      code: "bad-cms",
    });
  });
});
