// The strict BER walk that runs before the ASN.1 parser: exact, minimal
// lengths; the forms ASN.1 prescribes; indefinite lengths only where BER
// allows them (a streaming CMS encoder's output still verifies).
import * as asn1js from "asn1js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BandedSchema,
  bundledAppleSchema,
  encodingProblem,
  parsePemCertificates,
  readMachineInfo,
  TrustStore,
} from "enrollgate/apple";
import { createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("encodingProblem", () => {
  it.each([
    ["a SEQUENCE of an INTEGER", bytes(0x30, 0x03, 0x02, 0x01, 0x05)],
    ["an indefinite-length SEQUENCE", bytes(0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00)],
    [
      "a constructed OCTET STRING of two chunks, indefinite",
      bytes(0x24, 0x80, 0x04, 0x01, 0x61, 0x04, 0x01, 0x62, 0x00, 0x00),
    ],
    ["a long-form length of 128", bytes(0x04, 0x81, 0x80, ...new Array<number>(128).fill(0))],
    ["a high tag number", bytes(0x9f, 0x21, 0x01, 0x00)],
  ])("accepts %s", (_what, b) => {
    expect(encodingProblem(b)).toBeNull();
  });

  it.each([
    ["a length past the end", bytes(0x30, 0x05, 0x02, 0x01, 0x05), /runs past its container/],
    [
      "children that do not fill their container",
      bytes(0x30, 0x04, 0x02, 0x01, 0x05, 0x00),
      /value is missing|length is missing/,
    ],
    ["a long-form length that fits the short form", bytes(0x04, 0x81, 0x01, 0x00), /short length uses the long form/],
    [
      "a length with a leading zero byte",
      bytes(0x04, 0x82, 0x00, 0x81, ...new Array<number>(129).fill(0)),
      /leading zero byte/,
    ],
    ["a primitive SEQUENCE", bytes(0x10, 0x03, 0x02, 0x01, 0x05), /universal type 16 in primitive form/],
    ["a constructed INTEGER", bytes(0x22, 0x03, 0x02, 0x01, 0x05), /universal type 2 in constructed form/],
    ["an indefinite length on a primitive value", bytes(0x04, 0x80, 0x00, 0x00), /indefinite length on a primitive/],
    [
      "an end-of-contents marker where none belongs",
      bytes(0x30, 0x02, 0x00, 0x00),
      /end-of-contents marker outside an indefinite length/,
    ],
    ["trailing data", bytes(0x05, 0x00, 0x00), /trailing data: 1 bytes/],
    [
      "deep nesting",
      bytes(...new Array<number>(200).fill(0).flatMap(() => [0x30, 0x80]), ...new Array<number>(400).fill(0)),
      /nesting deeper than 64/,
    ],
    ["a long form for a small tag number", bytes(0x1f, 0x02, 0x01, 0x00), /small tag number uses the long form/],
    ["a length longer than 4 bytes", bytes(0x04, 0x85, 1, 0, 0, 0, 0), /longer than 4 bytes/],
  ])("refuses %s", (_what, b, problem) => {
    expect(encodingProblem(b)).toMatch(problem);
  });
});

describe("a MachineInfo message in BER with indefinite lengths", () => {
  let ber: Uint8Array;
  let trust: TrustStore;
  beforeAll(async () => {
    const ca = await createCA();
    const device = await createIdentity(ca, { kind: "ecdsa" });
    trust = new TrustStore(parsePemCertificates(ca.pem, "ca"));
    const der = await signCms(machineInfoPlist(), device);
    // Re-encode ContentInfo, its [0] and SignedData with indefinite lengths, as streaming encoders do.
    const parsed = asn1js.fromBER(der).result as asn1js.Sequence;
    const explicit = parsed.valueBlock.value[1] as asn1js.Constructed;
    const signedData = explicit.valueBlock.value[0] as asn1js.Sequence;
    for (const node of [parsed, explicit, signedData]) {
      node.lenBlock.isIndefiniteForm = true;
      (node.valueBlock as unknown as { isIndefiniteForm: boolean }).isIndefiniteForm = true;
    }
    ber = new Uint8Array(parsed.toBER(false));
  });

  it("is well formed, and verifies", () => {
    expect(ber.subarray(0, 2)).toEqual(bytes(0x30, 0x80));
    expect(encodingProblem(ber)).toBeNull();
    const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");
    expect(readMachineInfo(ber, { mode: "enforce", trust, schema })).toMatchObject({
      ok: true,
      verification: { status: "verified" },
    });
  });
});
