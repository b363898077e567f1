// Any single bit flipped anywhere in a valid signed MachineInfo is refused
// under `enforce`: in the content, the signature, the certificates, and in
// the parts no signature covers (lengths, tags, versions, algorithm
// parameters, certificates nothing depends on), which the parser and the
// verifier check for exactly that reason. Anything inserted into a valid
// message is refused too, unless it changes only the BER framing of the
// envelope (an empty content chunk, say): then every value, re-encoded as
// DER, is the same as before. Messages: made by pkijs in the test, and by the
// openssl command line with chains of Apple's shape (RSA-1024 and SHA-1, an
// expired Device CA, streamed BER, with and without signed attributes).
import * as asn1js from "asn1js";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BandedSchema,
  type BerNode,
  bundledAppleSchema,
  decodeBer,
  parsePemCertificates,
  TrustStore,
} from "enrollgate/apple";
import { ingestMachineInfo } from "enrollgate/gate";
import {
  createCA,
  createIdentity,
  machineInfoPlist,
  signCms,
  type Identity,
  type SignOptions,
} from "../../support/signing.js";
import { readValue, writeValue, type Value } from "../helpers/cms-edit.js";
import { buildOpensslPki, tlv } from "../helpers/openssl-pki.js";

const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");

interface Variant {
  readonly name: string;
  readonly der: Uint8Array;
  readonly trust: TrustStore;
}
const variants: Variant[] = [];
const store = (...pems: string[]) => new TrustStore(pems.flatMap((p) => parsePemCertificates(p, "anchor")));

beforeAll(async () => {
  const root = await createCA("Flip Root");
  const intermediate = await createIdentity(root, { ca: true, commonName: "Flip Device CA" });
  const sign = async (name: string, device: Identity, trust: TrustStore, options: SignOptions) => {
    variants.push({ name, der: await signCms(machineInfoPlist(), device, options), trust });
  };
  const rsa = await createIdentity(intermediate, { kind: "rsa" });
  const ecdsa = await createIdentity(intermediate, { kind: "ecdsa" });
  await sign("RSA, chain to the root", rsa, store(root.pem), { certificates: [intermediate] });
  await sign("ECDSA, chain and root included", ecdsa, store(root.pem), { certificates: [intermediate, root] });
  await sign(
    "ECDSA, intermediate and root anchors, root included above the intermediate",
    ecdsa,
    store(intermediate.pem, root.pem),
    { certificates: [intermediate, root] },
  );
  await sign("RSA, SHA-1, no signed attributes", rsa, store(root.pem), {
    certificates: [intermediate],
    hash: "SHA-1",
    signedAttributes: false,
  });

  const pki = await buildOpensslPki();
  const plist = machineInfoPlist();
  const apple = store(pki.deviceCa.pem, pki.iphoneCa.pem, pki.root.pem);
  variants.push(
    {
      name: "openssl, Apple's shape, SHA-1, signed attributes, DER",
      der: pki.sign(plist, { certs: [pki.deviceCa, pki.iphoneCa], hash: "sha1" }),
      trust: apple,
    },
    {
      name: "openssl, SHA-256, no signed attributes, streamed BER, root carried",
      der: pki.sign(plist, { certs: [pki.deviceCa, pki.iphoneCa, pki.root], noattr: true, stream: true }),
      trust: store(pki.deviceCa.pem, pki.root.pem),
    },
    {
      name: "openssl, SHA-1, no signed attributes, Device CA anchor",
      der: pki.sign(plist, { certs: [pki.deviceCa], hash: "sha1", noattr: true }),
      trust: store(pki.deviceCa.pem),
    },
    {
      name: "openssl, SHA-1, signed attributes, streamed BER",
      der: pki.sign(plist, { certs: [pki.deviceCa, pki.iphoneCa], hash: "sha1", stream: true }),
      trust: apple,
    },
  );
}, 30_000);

const read = (der: Uint8Array, trust: TrustStore) => ingestMachineInfo(der, { mode: "enforce", trust, schema });

/**
 * The one change a verifier cannot tell apart: the SignerInfo may name an
 * RSA signature by its key type (rsaEncryption, 1.2.840.113549.1.1.1) or by
 * hash and key type (sha1WithRSAEncryption, ...1.5); with SHA-1 the two
 * names differ in one bit and describe the same signature. Devices are not
 * known to use one only, so both are accepted (SECURITY.md, threat 1).
 */
function signatureAlgorithmNameByte(der: Uint8Array): number {
  const signedData = (decodeBer(der).children[1] as BerNode).children[0] as BerNode;
  const signerInfos = signedData.children[signedData.children.length - 1] as BerNode;
  const fields = (signerInfos.children[0] as BerNode).children;
  const algorithm = fields[fields.length - 2] as BerNode; // signatureAlgorithm, then signature
  return (algorithm.children[0] as BerNode).contentEnd - 1;
}

/**
 * DER of every value in a message, content chunks joined and NULL algorithm
 * parameters dropped: what stays when only the BER framing changes, or an
 * algorithm identifier's parameters go from absent to NULL (RFC 5754 has
 * verifiers accept both). Read by asn1js, not by the gate's parser.
 */
function canonical(der: Uint8Array): Uint8Array {
  const decoded = asn1js.fromBER(der);
  if (decoded.offset === -1) return new Uint8Array(0);
  const octets = (node: asn1js.AsnType): Uint8Array[] => {
    const whole = new Uint8Array(node.valueBeforeDecodeView);
    if (!node.idBlock.isConstructed) return [whole.subarray(node.idBlock.blockLength + node.lenBlock.blockLength)];
    return ((node.valueBlock as { value?: asn1js.AsnType[] }).value ?? []).flatMap(octets);
  };
  const walk = (node: asn1js.AsnType): Uint8Array => {
    const whole = new Uint8Array(node.valueBeforeDecodeView);
    const id = whole.subarray(0, node.idBlock.blockLength);
    if (!node.idBlock.isConstructed) return whole;
    if (node.idBlock.tagClass === 1 && node.idBlock.tagNumber === 4) return tlv(0x04, ...octets(node));
    const universal = (c: asn1js.AsnType | undefined, tag: number) =>
      c !== undefined && c.idBlock.tagClass === 1 && c.idBlock.tagNumber === tag;
    let children = ((node.valueBlock as { value?: asn1js.AsnType[] }).value ?? []).filter((c) => !universal(c, 0));
    if (universal(node, 16) && children.length === 2 && universal(children[0], 6) && universal(children[1], 5))
      children = children.slice(0, 1);
    return tlv([...id], ...children.map(walk));
  };
  return walk(decoded.result);
}

describe("a signed MachineInfo with one bit flipped", () => {
  it("is accepted as signed, before any flip", () => {
    expect(variants).toHaveLength(8);
    for (const v of variants)
      expect(read(v.der, v.trust), v.name).toMatchObject({ ok: true, verification: { status: "verified" } });
  });

  it("is refused under enforce, wherever the bit is", () => {
    const flips = fc
      .integer({ min: 0, max: variants.length - 1 })
      .chain((v) => fc.tuple(fc.constant(v), fc.nat({ max: (variants[v] as Variant).der.length * 8 - 1 })));
    fc.assert(
      fc.property(flips, ([v, bit]) => {
        const { name, der, trust } = variants[v] as Variant;
        const flipped = Uint8Array.from(der);
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const result = read(flipped, trust);
        if (
          result.ok &&
          bit >> 3 === signatureAlgorithmNameByte(der) &&
          [0x01, 0x05].includes(flipped[bit >> 3] as number)
        )
          return; // the one documented alias
        expect(result.ok, `${name}: bit ${bit & 7} of byte ${bit >> 3} flipped and still accepted`).toBe(false);
        if (!result.ok) expect([400, 403]).toContain(result.status);
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
        expect(read(flipped, trust).ok, `${name}: byte ${bit >> 3} bit ${bit & 7}`).toBe(false);
      }
    }
  });

  it("is accepted with the signature algorithm named either way, and only that way", () => {
    // The alias the property above allows, shown: rsaEncryption ↔ sha1WithRSAEncryption in an openssl SHA-1 message.
    const { der, trust } = variants.find((v) => v.name.startsWith("openssl, Apple's shape")) as Variant;
    const at = signatureAlgorithmNameByte(der);
    expect(der[at]).toBe(0x01); // openssl names the key type
    for (const value of [0x05, 0x0b, 0x04, 0x0e]) {
      const renamed = Uint8Array.from(der);
      renamed[at] = value;
      expect(read(renamed, trust).ok, `…1.1.${value}`).toBe(value === 0x05);
    }
  });
});

/** Every constructed value's position in the tree, as child indexes from the root. */
function constructedPaths(v: Value, path: number[] = []): number[][] {
  if (v.children === null) return [];
  return [path, ...v.children.flatMap((c, i) => constructedPaths(c, [...path, i]))];
}

const at = (root: Value, path: ReadonlyArray<number>): Value =>
  path.reduce<Value>((v, i) => (v.children as Value[])[i] as Value, root);

/** Well-formed values an attacker might insert: the optional CMS fields, certificates, chunks, NULLs, noise. */
const insertable = fc.oneof(
  fc
    .constantFrom(0x02, 0x04, 0x05, 0x06, 0x30, 0x31, 0x80, 0x81, 0xa0, 0xa1, 0xa2, 0xa3)
    .chain((tag) =>
      fc
        .uint8Array({ maxLength: 12 })
        .map((contents) =>
          (tag & 0x20) !== 0 ? tlv(tag, ...(contents.length > 0 ? [tlv(0x04, contents)] : [])) : tlv(tag, contents),
        ),
    ),
  fc.constant(Uint8Array.of(0x04, 0x00)), // an empty chunk
  fc.constant(Uint8Array.of(0x05, 0x00)), // NULL parameters
);

describe("a signed MachineInfo with something inserted", () => {
  it("is refused, unless only the BER framing changed", () => {
    const structured = fc.integer({ min: 0, max: variants.length - 1 }).chain((v) => {
      const paths = constructedPaths(readValue((variants[v] as Variant).der));
      return fc.tuple(fc.constant(v), fc.constantFrom(...paths), fc.nat(), insertable);
    });
    fc.assert(
      fc.property(structured, ([v, path, index, inserted]) => {
        const { name, der, trust } = variants[v] as Variant;
        const root = readValue(der);
        const parent = at(root, path);
        const children = parent.children as Value[];
        const where = index % (children.length + 1);
        children.splice(where, 0, readValue(inserted));
        const mutated = writeValue(root);
        const result = read(mutated, trust);
        if (result.ok) {
          expect(
            Buffer.from(canonical(mutated)).equals(Buffer.from(canonical(der))),
            `${name}: ${Buffer.from(inserted).toString("hex")} inserted at [${path.join(",")}] #${where} and accepted with different values`,
          ).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("is refused when the bytes go in anywhere as they are", () => {
    const raw = fc
      .integer({ min: 0, max: variants.length - 1 })
      .chain((v) =>
        fc.tuple(
          fc.constant(v),
          fc.nat({ max: (variants[v] as Variant).der.length }),
          fc.uint8Array({ minLength: 1, maxLength: 16 }),
        ),
      );
    fc.assert(
      fc.property(raw, ([v, offset, bytes]) => {
        const { name, der, trust } = variants[v] as Variant;
        const mutated = Buffer.concat([der.subarray(0, offset), bytes, der.subarray(offset)]);
        const result = read(mutated, trust);
        if (result.ok)
          expect(
            Buffer.from(canonical(mutated)).equals(Buffer.from(canonical(der))),
            `${name}: ${Buffer.from(bytes).toString("hex")} at ${offset}`,
          ).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });
});
