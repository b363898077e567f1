// Telling MachineInfo from any other body by its first bytes: every BER
// encoding of ContentInfo{signedData} a lenient CMS reader accepts, however
// the bytes are split, and nothing else.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SIGNED_DATA_PREFIX_MAX, signedDataPrefix } from "enrollgate/apple";
import { createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";

const OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
let der: Buffer;

beforeAll(async () => {
  der = Buffer.from(await signCms(machineInfoPlist(), await createIdentity(await createCA(), { kind: "ecdsa" })));
});

/** Verdicts for every prefix of `bytes`, from empty to whole. */
const verdicts = (bytes: Uint8Array) =>
  Array.from({ length: bytes.length + 1 }, (_, n) => signedDataPrefix(bytes.subarray(0, n)));

describe("signedDataPrefix", () => {
  it("needs more until the OID is complete, then says signed-data, for a real DER message", () => {
    expect(der.subarray(0, 2)).toEqual(Buffer.from([0x30, 0x82]));
    const v = verdicts(der.subarray(0, 20));
    expect(v.slice(0, 15)).toEqual(Array(15).fill("need-more"));
    expect(v.slice(15)).toEqual(Array(6).fill("signed-data"));
  });

  it.each([
    ["an indefinite outer length", [0x30, 0x80, 0x06, 0x09, ...OID]],
    ["a short outer length", [0x30, 0x20, 0x06, 0x09, ...OID]],
    ["long-form lengths padded with zeros", [0x30, 0x84, 0, 0, 0x10, 0x00, 0x06, 0x82, 0x00, 0x09, ...OID]],
    [
      "the longest lengths BER allows",
      [0x30, 0xfe, ...Array(126).fill(0), 0x06, 0xfe, ...Array(125).fill(0), 0x09, ...OID],
    ],
    [
      "127 length octets (FF, reserved by X.690, read by OpenSSL)",
      [0x30, 0xff, ...Array(127).fill(0), 0x06, 0xff, ...Array(126).fill(0), 0x09, ...OID],
    ],
    ["a SEQUENCE tag in the high-tag-number form (3F 10), as OpenSSL reads it", [0x3f, 0x10, 0x80, 0x06, 0x09, ...OID]],
    [
      "a high-tag-number SEQUENCE padded with zero septets (3F 80 80 10)",
      [0x3f, 0x80, 0x80, 0x10, 0x80, 0x06, 0x09, ...OID],
    ],
    ["an OID tag in the high-tag-number form (1F 06, 1F 80 06)", [0x30, 0x80, 0x1f, 0x80, 0x06, 0x09, ...OID]],
  ])("recognises %s", (_what, bytes) => {
    const v = verdicts(Uint8Array.from(bytes));
    expect(v.at(-1)).toBe("signed-data");
    expect(v.slice(0, -1).every((x) => x === "need-more")).toBe(true);
  });

  it("never needs more than SIGNED_DATA_PREFIX_MAX bytes: a prefix still undecided there is taken for SignedData", () => {
    expect(SIGNED_DATA_PREFIX_MAX).toBeGreaterThanOrEqual(2 + 127 + 2 + 127 + 9);
    const padded = Uint8Array.from([0x3f, ...Array(SIGNED_DATA_PREFIX_MAX + 100).fill(0x80)]);
    expect(signedDataPrefix(padded.subarray(0, SIGNED_DATA_PREFIX_MAX - 1))).toBe("need-more");
    expect(signedDataPrefix(padded.subarray(0, SIGNED_DATA_PREFIX_MAX))).toBe("signed-data");
    expect(signedDataPrefix(padded)).toBe("signed-data");
  });

  it.each([
    ["another tag", [0x31, 0x80, 0x06, 0x09, ...OID], 1],
    ["a high-tag-number form of another tag", [0x3f, 0x80, 0x11], 3],
    ["a primitive SEQUENCE in the high-tag-number form", [0x1f, 0x10], 1],
    ["something other than an OID first", [0x30, 0x80, 0x02, 0x01], 3],
    ["an OID of another length", [0x30, 0x80, 0x06, 0x0a, ...OID], 4],
    ["an indefinite OID length", [0x30, 0x80, 0x06, 0x80], 4],
    ["id-data instead of id-signedData", [0x30, 0x80, 0x06, 0x09, ...OID.slice(0, 8), 0x01], 13],
    ["text", [...Buffer.from("<?xml")], 1],
  ])("refuses %s as soon as it shows", (_what, bytes, at) => {
    const v = verdicts(Uint8Array.from(bytes));
    expect(v.slice(1, at).every((x) => x === "need-more")).toBe(true);
    expect(v.slice(at).every((x) => x === "other")).toBe(true);
  });

  it("on any bytes: never throws, and a verdict once given holds for every longer prefix", () => {
    const start = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 20 }).map((b) => Uint8Array.from([0x30, ...b])),
      fc.uint8Array({ maxLength: 10 }).map((b) => Uint8Array.from([0x30, 0x80, 0x06, 0x09, ...OID.slice(0, 5), ...b])),
    );
    fc.assert(
      fc.property(start, fc.uint8Array({ maxLength: 20 }), (bytes, more) => {
        const first = signedDataPrefix(bytes);
        if (first !== "need-more") expect(signedDataPrefix(Uint8Array.from([...bytes, ...more]))).toBe(first);
      }),
      { numRuns: 2000 },
    );
  });
});
