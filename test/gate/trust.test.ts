// The trust classes attacked through the real `enrollgate serve` process over
// real HTTP, MachineInfo as a POST body and in the x-apple-aspen-deviceinfo
// header: every anchor set verifies every chain devices send; Apple's
// anchors are built in (`--trust-anchor apple`, `trustAnchors: [apple]`);
// forged chains, giant keys, decoy issuers and fields no signature covers are
// refused with the gate's JSON errors, and their stable codes in the log.
import { beforeAll, describe, expect, it } from "vitest";
import { base64 } from "../../support/signing.js";
import { BIN } from "../helpers/cli.js";
import { certificatesIndex, editSignedData, editSignerInfo, readValue, withCertificates } from "../helpers/cms-edit.js";
import { eventually } from "../helpers/http.js";
import { tlv } from "../helpers/openssl-pki.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";
import { buildTrustFixtures, type TrustFixtures } from "../helpers/trust-fixtures.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';
const BLOCKED = { code: "com.apple.softwareupdate.required", details: { OSVersion: "26.6.1" } };

let f: TrustFixtures;
const gates = new Map<string, { run: Running; url: string }>();

async function startGate(name: string, dir: string, args: string[]): Promise<void> {
  const port = await freePort();
  const r = run(
    process.execPath,
    [BIN, "serve", "--host", "127.0.0.1", "--port", String(port), "--no-watch", ...args],
    { cwd: dir },
  );
  await listening(r);
  if (r.url() === "") throw new Error(`${name} did not start: ${r.stderr()}`);
  gates.set(name, { run: r, url: `http://127.0.0.1:${port}` });
}

beforeAll(async () => {
  f = await buildTrustFixtures();
  const dir = await tempDir({
    "p/rules.yaml": RULES,
    "yaml/rules.yaml": RULES,
    "yaml/enrollgate.yaml": "trustAnchors: [apple, ../certs/root.pem]\n",
    "certs/root.pem": f.pki.root.pem,
    "device-ca.pem": f.pki.deviceCa.pem,
    "iphone-ca.pem": f.pki.iphoneCa.pem,
    "root.pem": f.pki.root.pem,
  });
  await Promise.all([
    startGate("Device CA", dir, ["--policies", "p", "--trust-anchor", "device-ca.pem"]),
    startGate("Device CA, root", dir, [
      "--policies",
      "p",
      "--trust-anchor",
      "device-ca.pem",
      "--trust-anchor",
      "root.pem",
    ]),
    startGate("Device CA, iPhone CA, root", dir, [
      "--policies",
      "p",
      "--trust-anchor",
      "device-ca.pem",
      "--trust-anchor",
      "iphone-ca.pem",
      "--trust-anchor",
      "root.pem",
    ]),
    startGate("apple", dir, ["--policies", "p", "--trust-anchor", "apple"]),
    startGate("yaml: apple and the test root", dir, ["--policies", "yaml", "--secrets-dir", "certs"]),
  ]);
}, 60_000);

/** The same MachineInfo as a POST body and in the header; both answers. */
async function send(
  gate: string,
  der: Uint8Array,
): Promise<Array<{ via: string; status: number; body: Record<string, unknown>; decisionId: string | null }>> {
  const { url } = gates.get(gate) as { url: string };
  const answers = [
    [
      "POST body",
      await fetch(`${url}/mdm/profile`, {
        method: "POST",
        body: der,
        headers: { "content-type": "application/pkcs7-signature" },
      }),
    ],
    ["header", await fetch(`${url}/mdm/enroll`, { headers: { "x-apple-aspen-deviceinfo": base64(der) } })],
  ] as const;
  return Promise.all(
    answers.map(async ([via, res]) => ({
      via,
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
      decisionId: res.headers.get("x-enrollgate-decision-id"),
    })),
  );
}

const CHAINS = {
  "device, Device CA": () => [f.pki.deviceCa],
  "device, Device CA, iPhone CA": () => [f.pki.deviceCa, f.pki.iphoneCa],
  "device, Device CA, iPhone CA, root": () => [f.pki.deviceCa, f.pki.iphoneCa, f.pki.root],
};

describe("anchor sets and the chains devices send, at the gate", () => {
  it.each(["Device CA", "Device CA, root", "Device CA, iPhone CA, root"])(
    "anchors {%s}: every chain verifies, as a POST body and in the header",
    async (gate) => {
      for (const [carried, certs] of Object.entries(CHAINS)) {
        for (const encoding of [
          { hash: "sha1", stream: true },
          { hash: "sha1", noattr: true },
          { hash: "sha256" },
        ] as const) {
          for (const answer of await send(gate, f.pki.sign(f.blocked, { certs: certs(), ...encoding }))) {
            expect(answer, `${carried}, ${JSON.stringify(encoding)}, ${answer.via}`).toMatchObject({
              status: 403,
              body: BLOCKED,
            });
          }
        }
      }
    },
  );

  it("--trust-anchor apple: the real device's chain is Apple's, and a test chain is not", async () => {
    for (const answer of await send("apple", f.realDeviceMessage())) {
      // The chain verified; only the content signature (made here with a test key) did not.
      expect(answer, answer.via).toMatchObject({
        status: 403,
        body: {
          error: "unverified-machine-info",
          message: "MachineInfo signature not verified: the signature does not match",
        },
      });
    }
    for (const answer of await send("apple", f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa] }))) {
      expect(answer, answer.via).toEqual({
        via: answer.via,
        status: 403,
        body: {
          error: "unverified-machine-info",
          message:
            'MachineInfo signature not verified: no chain from the signer to a trust anchor (stuck at issuer "C=US, O=Test Apple Inc., OU=Test Certification Authority, CN=Test Apple Root CA")',
        },
        decisionId: expect.any(String),
      });
    }
  });

  it("--trust-anchor apple: a certificate under Apple Root CA but not under the Device CA (a developer's) is refused, with its code in the log", async () => {
    const gate = gates.get("apple") as { run: Running };
    const der = f.pki.sign(f.blocked.replace("26.5", "26.6.1"), {
      signer: f.appleDeveloper.leaf,
      certs: [f.appleDeveloper.ca],
    });
    for (const answer of await send("apple", der)) {
      expect(answer, answer.via).toMatchObject({
        status: 403,
        body: {
          error: "unverified-machine-info",
          message: expect.stringContaining('vouches for a signer only when its issuer is "Apple iPhone Device CA"'),
        },
      });
      await eventually(
        () => gate.run.lines.some((l) => l.event === "rejected" && l.decisionId === answer.decisionId),
        "the rejection log line",
      );
      expect(gate.run.lines.find((l) => l.decisionId === answer.decisionId)).toMatchObject({
        status: 403,
        failure: "issuing-ca",
      });
    }
  });

  it("trustAnchors: [apple, ../root.pem] in enrollgate.yaml: Apple's chain and the test root, both", async () => {
    for (const answer of await send(
      "yaml: apple and the test root",
      f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa], hash: "sha1", stream: true }),
    )) {
      expect(answer, answer.via).toMatchObject({ status: 403, body: BLOCKED });
    }
    for (const answer of await send("yaml: apple and the test root", f.realDeviceMessage())) {
      expect(answer.body).toMatchObject({
        error: "unverified-machine-info",
        message: "MachineInfo signature not verified: the signature does not match",
      });
    }
    const reload = gates.get("yaml: apple and the test root")?.run.lines.find((l) => l.event === "policy-reload");
    expect(reload?.trustAnchors).toEqual([
      "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple Root CA",
      "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple iPhone Certification Authority",
      "C=US, O=Apple Inc., OU=Apple iPhone, CN=Apple iPhone Device CA",
      "C=US, O=Test Apple Inc., OU=Test Certification Authority, CN=Test Apple Root CA",
    ]);
  });
});

const crl = tlv(0xa1, tlv(0x30, tlv(0x30, tlv(0x02, Uint8Array.of(1))), tlv(0x04, Buffer.from("arbitrary contents"))));
const unsignedAttribute = tlv(
  0xa1,
  tlv(0x30, tlv(0x06, Uint8Array.of(0x2a, 0x03)), tlv(0x31, tlv(0x04, Buffer.from("anything")))),
);

const HOSTILE: ReadonlyArray<readonly [string, () => Uint8Array, 400 | 403, string, RegExp]> = [
  [
    "a device issued by a device certificate",
    () => f.pki.sign(f.blocked, { signer: f.forged, certs: [f.pki.device, f.pki.deviceCa, f.pki.iphoneCa] }),
    403,
    "ca-constraint",
    /is not a CA \(basicConstraints CA:FALSE\), so it cannot issue "CN=TEST-DEVICE-forged/,
  ],
  [
    "a chain that breaks a pathLenConstraint",
    () => f.pki.sign(f.blocked, { signer: f.pathLen0.device, certs: [f.pathLen0.deviceCa, f.pathLen0.iphoneCa] }),
    403,
    "path-length",
    /allows 0 CA certificates below it \(pathLenConstraint\); this chain has 1$/,
  ],
  [
    "an issuer without keyCertSign",
    () => f.pki.sign(f.blocked, { signer: f.noCertSign.device, certs: [f.noCertSign.deviceCa, f.pki.iphoneCa] }),
    403,
    "ca-constraint",
    /may not sign certificates \(its keyUsage lacks keyCertSign\)/,
  ],
  [
    "a version 1 issuer that is not an anchor",
    () => f.pki.sign(f.blocked, { signer: f.v1.device, certs: [f.v1.deviceCa, f.pki.iphoneCa] }),
    403,
    "ca-constraint",
    /is a version 1 certificate without extensions and not a trust anchor/,
  ],
  [
    "a decoy issuer with a 16,384-bit key",
    () => withCertificates(f.pki.sign(f.blocked), [f.pki.device.der, f.pki.deviceCa.der, f.giantDecoy.der]),
    403,
    "key-too-large",
    /has an RSA key of 16384 bits; at most 4096 are accepted$/,
  ],
  [
    "a decoy issuer with a huge exponent",
    () => withCertificates(f.pki.sign(f.blocked), [f.pki.device.der, f.pki.deviceCa.der, f.hugeExponentDecoy.der]),
    403,
    "key-exponent",
    /an RSA public exponent longer than 64 bits/,
  ],
  // Sized to fit a header (Node caps all headers at 16 KiB): RSA-2048 decoys, up to the certificate limit.
  [
    "eight decoy issuers named like the signer's",
    () =>
      withCertificates(f.pki.sign(f.blocked), [
        f.pki.device.der,
        f.pki.deviceCa.der,
        ...f.decoys(8, 2048).map((d) => d.der),
      ]),
    403,
    "ambiguous-issuer",
    /^MachineInfo signature not verified: the message carries 8 certificates named "C=US, O=Test Apple Inc., OU=Test Apple iPhone, CN=Test Apple iPhone Device CA"/,
  ],
  [
    "a signer with a P-521 key",
    () => f.pki.sign(f.blocked, { signer: f.p521Device, certs: [f.pki.deviceCa] }),
    403,
    "key-unsupported",
    /an EC key on P-521; only P-256 and P-384 are accepted$/,
  ],
  [
    "11 certificates",
    () =>
      withCertificates(
        f.pki.sign(f.blocked),
        [
          f.pki.device,
          f.pki.deviceCa,
          f.pki.iphoneCa,
          f.pki.root,
          f.pathLen0.iphoneCa,
          f.pathLen0.deviceCa,
          f.pathLen0.device,
          f.pathLen1.iphoneCa,
          f.pathLen1.deviceCa,
          f.pathLen1.device,
          f.noCertSign.deviceCa,
        ].map((c) => c.der),
      ),
    400,
    "too-many-certificates",
    /the message carries 11 certificates; at most 10 are accepted$/,
  ],
  [
    "a certificate on no path from the signer",
    () => f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pathLen1.deviceCa] }),
    403,
    "uncovered-field",
    /is not on the signer's chain .*; no signature covers it$/,
  ],
  [
    "revocation lists",
    () =>
      editSignedData(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa], stream: true }), (fields) =>
        fields.splice(certificatesIndex(fields) + 1, 0, readValue(crl)),
      ),
    400,
    "uncovered-field",
    /revocation lists \(crls\); no signature covers them/,
  ],
  [
    "unsigned attributes",
    () =>
      editSignerInfo(f.pki.sign(f.blocked, { certs: [f.pki.deviceCa] }), (fields) =>
        fields.push(readValue(unsignedAttribute)),
      ),
    400,
    "uncovered-field",
    /the signer has unsigned attributes; no signature covers them/,
  ],
];

describe("hostile MachineInfo, at the gate", () => {
  it.each(HOSTILE)(
    "%s is refused, as a POST body and in the header, with its code in the log",
    async (_what, make, status, failure, message) => {
      const gate = gates.get("Device CA, iPhone CA, root") as { run: Running };
      for (const answer of await send("Device CA, iPhone CA, root", make())) {
        expect(answer.status, answer.via).toBe(status);
        expect(answer.body.error, answer.via).toBe(status === 400 ? "bad-cms" : "unverified-machine-info");
        expect(answer.body.message, answer.via).toMatch(message);
        expect(Object.keys(answer.body)).toEqual(["error", "message"]);
        await eventually(
          () => gate.run.lines.some((l) => l.event === "rejected" && l.decisionId === answer.decisionId),
          "the rejection log line",
        );
        expect(gate.run.lines.find((l) => l.decisionId === answer.decisionId)).toMatchObject({ status, failure });
      }
    },
  );

  it("counts each refusal in enrollgate_rejections_total by its failure code", async () => {
    const { url } = gates.get("apple") as { url: string };
    const rejections = async () =>
      new Map(
        [
          ...(await (await fetch(`${url}/metrics`)).text()).matchAll(/^enrollgate_rejections_total\{(.*)\} (\d+)$/gm),
        ].map((m) => [m[1] as string, Number(m[2])]),
      );
    const before = await rejections();
    await send("apple", f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa] })); // the test PKI: Apple's anchors do not vouch for it
    await send(
      "apple",
      withCertificates(
        f.pki.sign(f.blocked),
        [
          f.pki.device,
          f.pki.deviceCa,
          f.pki.iphoneCa,
          f.pki.root,
          f.pathLen0.iphoneCa,
          f.pathLen0.deviceCa,
          f.pathLen0.device,
          f.pathLen1.iphoneCa,
          f.pathLen1.deviceCa,
          f.pathLen1.device,
          f.noCertSign.deviceCa,
        ].map((c) => c.der),
      ),
    );
    const after = await rejections();
    const added = Object.fromEntries(
      [...after]
        .filter(([labels, n]) => n !== (before.get(labels) ?? 0))
        .map(([labels, n]) => [labels, n - (before.get(labels) ?? 0)]),
    );
    expect(added).toEqual({
      'status="403",code="unverified-machine-info",failure="chain-unanchored"': 2,
      'status="400",code="bad-cms",failure="too-many-certificates"': 2,
    });
  });

  it("a certificate with a 50,000-character name: the 403 and its log line quote at most 512 characters of it", async () => {
    // What a sender controls is quoted in messages; outcomes are logged and cached, so thousands of these must stay
    // small.
    const longName = tlv(
      0x30,
      tlv(0x31, tlv(0x30, tlv(0x06, Uint8Array.of(0x55, 0x04, 0x03)), tlv(0x0c, Buffer.alloc(50_000, "A")))),
    );
    const named = f.pki.alter("device-ca-long-name", f.pki.deviceCa, { subject: longName });
    const der = withCertificates(f.pki.sign(f.blocked), [f.pki.device.der, f.pki.deviceCa.der, named.der]);
    const gate = gates.get("Device CA, iPhone CA, root") as { run: Running; url: string };
    const res = await fetch(`${gate.url}/mdm/profile`, {
      method: "POST",
      body: der,
      headers: { "content-type": "application/pkcs7-signature" },
    });
    const body = (await res.json()) as { error: string; message: string };
    expect(res.status).toBe(403);
    expect(body.message).toMatch(
      /^MachineInfo signature not verified: the message carries a certificate that is not on the signer's chain \("CN=AAAA/,
    );
    expect(body.message.length).toBeLessThanOrEqual(512);
    const id = res.headers.get("x-enrollgate-decision-id");
    await eventually(() => gate.run.lines.some((l) => l.decisionId === id), "the rejection log line");
    expect(String(gate.run.lines.find((l) => l.decisionId === id)?.problem).length).toBeLessThanOrEqual(512);
  });

  it("keeps answering genuine devices after all of it", async () => {
    for (const answer of await send(
      "Device CA, iPhone CA, root",
      f.pki.sign(f.blocked, { certs: [f.pki.deviceCa, f.pki.iphoneCa], hash: "sha1", stream: true }),
    )) {
      expect(answer).toMatchObject({ status: 403, body: BLOCKED });
    }
  });
});
