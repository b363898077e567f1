// Any single bit flipped anywhere in a valid signed MachineInfo is refused
// under `enforce`: in the content, the signature, the certificates, and in
// the parts no signature covers (lengths, tags, versions, algorithm
// parameters, certificates nothing depends on), which the parser and the
// verifier check for exactly that reason.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parsePemCertificates, TrustStore } from "../src/apple/cms-verify.js";
import { readMachineInfo } from "../src/apple/machine-info.js";
import { BandedSchema } from "../src/apple/schema/banded.js";
import { bundledAppleSchema } from "../src/bundled.js";
import { createCA, createIdentity, machineInfoPlist, signCms, type Identity, type SignOptions } from "../support/signing.js";

const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");

interface Variant {
  readonly name: string;
  readonly der: Uint8Array;
  readonly trust: TrustStore;
}
const variants: Variant[] = [];

beforeAll(async () => {
  const root = await createCA("Flip Root");
  const intermediate = await createIdentity(root, { ca: true, commonName: "Flip Device CA" });
  const rootTrust = new TrustStore(parsePemCertificates(root.pem, "root"));
  const intermediateTrust = new TrustStore(parsePemCertificates(intermediate.pem, "intermediate"));
  const sign = async (name: string, device: Identity, trust: TrustStore, options: SignOptions) => {
    variants.push({ name, der: await signCms(machineInfoPlist(), device, options), trust });
  };
  const rsa = await createIdentity(intermediate, { kind: "rsa" });
  const ecdsa = await createIdentity(intermediate, { kind: "ecdsa" });
  await sign("RSA, chain to the root", rsa, rootTrust, { certificates: [intermediate] });
  await sign("ECDSA, chain and root included", ecdsa, rootTrust, { certificates: [intermediate, root] });
  await sign("ECDSA, intermediate anchor, root included above it", ecdsa, intermediateTrust, { certificates: [intermediate, root] });
  await sign("RSA, SHA-1, no signed attributes", rsa, rootTrust, { certificates: [intermediate], hash: "SHA-1", signedAttributes: false });
});

describe("a signed MachineInfo with one bit flipped", () => {
  it("is accepted as signed, before any flip", () => {
    expect(variants).toHaveLength(4);
    for (const v of variants) expect(readMachineInfo(v.der, { mode: "enforce", trust: v.trust, schema }), v.name).toMatchObject({ ok: true, verification: { status: "verified" } });
  });

  it("is refused under enforce, wherever the bit is", () => {
    const flips = fc.integer({ min: 0, max: variants.length - 1 }).chain((v) => fc.tuple(fc.constant(v), fc.nat({ max: (variants[v] as Variant).der.length * 8 - 1 })));
    fc.assert(
      fc.property(flips, ([v, bit]) => {
        const { name, der, trust } = variants[v] as Variant;
        const flipped = Uint8Array.from(der);
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const read = readMachineInfo(flipped, { mode: "enforce", trust, schema });
        expect(read.ok, `${name}: bit ${bit & 7} of byte ${bit >> 3} flipped and still accepted`).toBe(false);
        if (!read.ok) expect([400, 403]).toContain(read.status);
      }),
      { numRuns: 4000 },
    );
  });

  it("is refused in the parts no signature covers: lengths, versions, algorithm parameters", () => {
    // The first 64 bytes hold the ContentInfo and SignedData headers, the
    // version and the digest algorithm set: every bit of them, for each variant.
    for (const { name, der, trust } of variants) {
      for (let bit = 0; bit < 64 * 8; bit++) {
        const flipped = Uint8Array.from(der);
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(readMachineInfo(flipped, { mode: "enforce", trust, schema }).ok, `${name}: byte ${bit >> 3} bit ${bit & 7}`).toBe(false);
      }
    }
  });
});
