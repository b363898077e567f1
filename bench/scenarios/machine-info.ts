// MachineInfo per request: CMS parse + signature and chain verification +
// plist parse + schema validation.
//  - RSA-2048 and ECDSA P-256 devices signed by their anchor, nothing cached;
//  - Apple's shape (an RSA-1024 device and Device CA, SHA-1, the Device CA
//    and iPhone CA carried, the three CAs as anchors like `apple`), a new
//    device every time: its certificate is parsed and checked afresh, the CA
//    links come from the cross-request cache as they do in a running gate;
//  - hostile messages next to that genuine one, timed in turn with it, their
//    cost as a ratio of its cost (target: at most 2).
import { createHash, randomBytes } from "node:crypto";
import {
  BandedSchema,
  bundledAppleSchema,
  parsePemCertificates,
  TrustStore,
  type VerifierCaches,
} from "enrollgate/apple";
import { CertificateCache, ingestMachineInfo } from "enrollgate/gate";
import { rsaSpki, withCertificates, withPublicKey } from "../../support/der.js";
import {
  createCA,
  createIdentity,
  machineInfoPlist,
  signCms,
  type Identity,
  type KeyKind,
} from "../../support/signing.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round, summarize, timeEach, timeInterleaved } from "../support/stats.js";

/** An odd modulus of `bits` bits: only its size matters, no signature is ever checked with it. */
function modulus(bits: number): Uint8Array {
  const m = randomBytes(bits / 8);
  m[0] = (m[0] as number) | 0x80;
  m[m.length - 1] = (m[m.length - 1] as number) | 1;
  return m;
}

/** Caches holding only what a running gate holds for every device alike: the CA certificates and their links. */
function caOnly(caHashes: ReadonlySet<string>): VerifierCaches {
  const warm = new CertificateCache();
  const kept = (key: string) => caHashes.has(key.split(">")[0] ?? "");
  return {
    certificates: {
      get: (h) => (caHashes.has(h) ? warm.certificates.get(h) : undefined),
      set: (h, c) => (caHashes.has(h) ? warm.certificates.set(h, c) : undefined),
    },
    links: { has: (k) => kept(k) && warm.links.has(k), add: (k) => (kept(k) ? warm.links.add(k) : undefined) },
  };
}

export const machineInfoScenario: Scenario = {
  name: "machine-info",
  async run({ quick }) {
    const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");
    const rows: BenchRow[] = [];
    const ca = await createCA();
    const trust = new TrustStore(parsePemCertificates(ca.pem, "ca"));
    for (const [kind, label] of [
      ["rsa", "RSA-2048"],
      ["ecdsa", "ECDSA P-256"],
    ] as Array<[KeyKind, string]>) {
      const device = await createIdentity(ca, { kind });
      const der = await signCms(machineInfoPlist(), device, { hash: "SHA-256" });
      if (!ingestMachineInfo(der, { mode: "enforce", trust, schema }).ok)
        throw new Error("the benchmark MachineInfo does not verify");
      const s = summarize(
        timeEach(() => ingestMachineInfo(der, { mode: "enforce", trust, schema }), quick ? 500 : 3000, 300),
      );
      rows.push({
        scenario: "machine-info",
        what: `MachineInfo, ${label}, ${der.length} bytes`,
        result: `median ${round(s.median / 1000)} µs, p99 ${round(s.p99 / 1000)} µs per request (CMS + verify + plist + schema, uncached)`,
        target: "reported",
        met: null,
        data: { key: label, bytes: der.length, medianUs: s.median / 1000, p99Us: s.p99 / 1000 },
      });
    }

    // Apple's shape.
    const root = await createCA("Bench Root CA", "rsa", { hash: "SHA-1" });
    const iphoneCa = await createIdentity(root, {
      commonName: "Bench iPhone Certification Authority",
      ca: true,
      hash: "SHA-1",
    });
    const deviceCa = await createIdentity(iphoneCa, {
      commonName: "Bench iPhone Device CA",
      ca: true,
      bits: 1024,
      hash: "SHA-1",
    });
    const device: Identity = await createIdentity(deviceCa, { bits: 1024, hash: "SHA-1" });
    const apple = new TrustStore([root, iphoneCa, deviceCa].flatMap((c) => parsePemCertificates(c.pem, "anchor")));
    const caches = caOnly(
      new Set([root, iphoneCa, deviceCa].map((c) => createHash("sha256").update(c.der).digest("hex"))),
    );
    const genuine = await signCms(machineInfoPlist(), device, { hash: "SHA-1", certificates: [deviceCa, iphoneCa] });
    const read = (der: Uint8Array) => ingestMachineInfo(der, { mode: "enforce", trust: apple, schema, caches });
    if (!read(genuine).ok) throw new Error("the Apple-shaped MachineInfo does not verify");

    const huge = Uint8Array.of(1, ...new Array<number>(1023).fill(0), 1); // 2^8192 + 1
    const decoy = (bits: number, exponent: Uint8Array) => withPublicKey(deviceCa.der, rsaSpki(modulus(bits), exponent));
    const named = (name: Identity, bits: number, exponent: Uint8Array) =>
      withPublicKey(name.der, rsaSpki(modulus(bits), exponent));
    const e32 = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    // Fresh decoys for every call: nothing about them can be cached.
    const hostile: Array<[string, () => Uint8Array, string]> = [
      [
        "8 decoy issuers named like the signer's, RSA-16,384 with e = 2^8192 + 1 (10 certificates)",
        () =>
          withCertificates(genuine, [device.der, deviceCa.der, ...Array.from({ length: 8 }, () => decoy(16384, huge))]),
        "key-too-large",
      ],
      [
        "8 decoy issuers named like the signer's, RSA-4096 with e = 2^32 - 1, within every limit (10 certificates)",
        () =>
          withCertificates(genuine, [device.der, deviceCa.der, ...Array.from({ length: 8 }, () => decoy(4096, e32))]),
        "ambiguous-issuer",
      ],
      [
        "a decoy iPhone CA above the anchor, RSA-4096 with e = 2^32 - 1",
        () => withCertificates(genuine, [device.der, deviceCa.der, iphoneCa.der, named(iphoneCa, 4096, e32)]),
        "ambiguous-issuer",
      ],
      [
        "11 certificates",
        () =>
          withCertificates(genuine, [
            device.der,
            deviceCa.der,
            iphoneCa.der,
            root.der,
            ...Array.from({ length: 7 }, () => decoy(4096, e32)),
          ]),
        "too-many-certificates",
      ],
    ];
    const iterations = quick ? 200 : 1500;
    // Pre-built messages (building them is not what is measured), a new one per call.
    const pools = hostile.map(([, make]) => Array.from({ length: 64 }, make));
    for (const [i, [, , failure]] of hostile.entries()) {
      const r = read((pools[i] as Uint8Array[])[0] as Uint8Array);
      if (r.ok || r.failure !== failure)
        throw new Error(`hostile message ${i} was not refused as ${failure}: ${JSON.stringify(r)}`);
    }
    const [genuineSamples, ...hostileSamples] = timeInterleaved(
      [
        () => read(genuine),
        ...pools.map((pool) => {
          let n = 0;
          return () => read(pool[n++ % pool.length] as Uint8Array);
        }),
      ],
      iterations,
    );
    const g = summarize(genuineSamples as number[]);
    rows.push({
      scenario: "machine-info",
      what: `MachineInfo, Apple's shape (RSA-1024 device and Device CA, SHA-1, iPhone CA carried), ${genuine.length} bytes, a new device`,
      result: `median ${round(g.median / 1000)} µs, p99 ${round(g.p99 / 1000)} µs per request (the device's certificate checked; CA links cached)`,
      target: "reported",
      met: null,
      data: { bytes: genuine.length, medianUs: g.median / 1000, p99Us: g.p99 / 1000 },
    });
    hostile.forEach(([what, , failure], i) => {
      const h = summarize(hostileSamples[i] as number[]);
      const ratio = h.median / g.median;
      rows.push({
        scenario: "machine-info",
        what: `↳ hostile: ${what}`,
        result: `median ${round(h.median / 1000)} µs, p99 ${round(h.p99 / 1000)} µs (refused: ${failure})`,
        baseline: `${round(g.median / 1000)} µs (the genuine message above, same run)`,
        ratio: round(ratio, 2),
        target: "≤ 2× the genuine message",
        met: ratio <= 2,
        data: { medianUs: h.median / 1000, p99Us: h.p99 / 1000, genuineMedianUs: g.median / 1000, ratio },
      });
    });
    return rows;
  },
};
