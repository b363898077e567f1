// Exactly one MachineInfo per request, attacked over raw sockets against the
// real `serve --upstream` process: a compliant copy where the gate looks and a
// blocked copy where some upstream might look, in every combination. Each is a
// 400 ambiguous-machine-info that never reaches the upstream; a single copy,
// wherever and however it travels, is decided on.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { exchange, type RawAnswer } from "../helpers/raw-http.js";
import { startRawUpstream, type RawUpstream } from "../helpers/raw-upstream.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';

let device: Identity;
let upstream: RawUpstream;
let gate: GateProcess;
let blocked: Buffer;
let compliant: Buffer;

beforeAll(async () => {
  const ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  blocked = Buffer.from(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device));
  compliant = Buffer.from(await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device));
  upstream = await startRawUpstream();
  gate = await spawnGate(
    { "p/rules.yaml": RULES, "p/enrollgate.yaml": "verify: enforce\nbodyLimit: 16384\n", "ca.pem": ca.pem },
    ["--trust-anchor", "ca.pem", "--upstream", upstream.url],
  );
});

afterAll(async () => {
  await gate.stop();
  await upstream.close();
});

/** The DER's outer SEQUENCE re-encoded with BER's indefinite length (30 80 ... 00 00). */
function indefinite(der: Buffer): Buffer {
  expect(der.subarray(0, 2)).toEqual(Buffer.from([0x30, 0x82]));
  return Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(4), Buffer.from([0, 0])]);
}

/** Long-form lengths with leading zeros, legal in BER: 30 84 00 00 LL LL, and the OID's 06 81 09. */
function paddedLengths(der: Buffer): Buffer {
  const inner = Buffer.concat([Buffer.from([0x06, 0x81, 0x09]), der.subarray(6)]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(inner.length);
  return Buffer.concat([Buffer.from([0x30, 0x84]), length, inner]);
}

/**
 * The DER with its ContentInfo headers spelt as OpenSSL also reads them (high-tag-number forms, a 127-octet length).
 */
const OPENSSL_SPELLINGS: ReadonlyArray<readonly [string, (der: Buffer) => Buffer]> = [
  [
    "a SEQUENCE tag in the high-tag-number form (3F 10)",
    (der) => Buffer.concat([Buffer.from([0x3f, 0x10]), der.subarray(1)]),
  ],
  [
    "a high-tag-number SEQUENCE padded with a zero septet (3F 80 10)",
    (der) => Buffer.concat([Buffer.from([0x3f, 0x80, 0x10]), der.subarray(1)]),
  ],
  [
    "an OID tag in the high-tag-number form (1F 06)",
    (der) => withInner(der, Buffer.concat([Buffer.from([0x1f, 0x06]), der.subarray(5)])),
  ],
  [
    "an OID tag padded with zero septets (1F 80 80 06)",
    (der) => withInner(der, Buffer.concat([Buffer.from([0x1f, 0x80, 0x80, 0x06]), der.subarray(5)])),
  ],
  [
    "an OID length in 127 octets (06 FF 00 ... 09)",
    (der) => withInner(der, Buffer.concat([Buffer.from([0x06, 0xff]), Buffer.alloc(126), der.subarray(5)])),
  ],
];

/** The outer SEQUENCE (30 82 LL LL) around other contents. */
function withInner(der: Buffer, inner: Buffer): Buffer {
  expect(der.subarray(0, 2)).toEqual(Buffer.from([0x30, 0x82]));
  const length = Buffer.alloc(2);
  length.writeUInt16BE(inner.length);
  return Buffer.concat([Buffer.from([0x30, 0x82]), length, inner]);
}

/**
 * Whether `openssl cms -verify` (signatures checked, certificate path not) accepts the message, as an OpenSSL-based MDM
 * would.
 */
function opensslVerifies(der: Buffer): boolean {
  try {
    execFileSync("/usr/bin/openssl", ["cms", "-verify", "-noverify", "-inform", "DER", "-out", "/dev/null"], {
      input: der,
      stdio: ["pipe", "ignore", "ignore"],
    });
    return true;
  } catch {
    return false;
  }
}

const query = (der: Buffer) => encodeURIComponent(base64(der));
const request = (line: string, headers: string[], body?: Buffer, chunks?: number): Buffer => {
  const framing =
    body === undefined
      ? []
      : chunks === undefined
        ? [`Content-Length: ${body.length}`]
        : ["Transfer-Encoding: chunked"];
  const head = Buffer.from(
    `${line} HTTP/1.1\r\nHost: gate\r\n${[...headers, ...framing, "Connection: close"].join("\r\n")}\r\n\r\n`,
    "latin1",
  );
  if (body === undefined) return head;
  if (chunks === undefined) return Buffer.concat([head, body]);
  // The body in chunks of `chunks` bytes: the first bytes arrive split.
  const parts: Buffer[] = [head];
  for (let at = 0; at < body.length; at += chunks) {
    const piece = body.subarray(at, at + chunks);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
};

async function send(bytes: Buffer): Promise<{ answer: RawAnswer; reached: number }> {
  const before = upstream.requests.length;
  const answers = await exchange(gate.url, bytes);
  expect(answers).toHaveLength(1);
  return { answer: answers[0] as RawAnswer, reached: upstream.requests.length - before };
}

describe("two copies anywhere are a 400 that never reaches the upstream", () => {
  const header = (der: Buffer, name = "X-Apple-Aspen-DeviceInfo") => `${name}: ${base64(der)}`;
  it.each([
    [
      "header and CMS body",
      () => request("POST /mdm/profile", [header(compliant), "Content-Type: application/pkcs7-signature"], blocked),
    ],
    ["header and query", () => request(`GET /mdm/enroll?deviceinfo=${query(blocked)}`, [header(compliant)])],
    ["the header twice", () => request("GET /mdm/enroll", [header(compliant), header(blocked)])],
    [
      "the header twice, once with underscores and in another case",
      () => request("GET /mdm/enroll", [header(compliant), header(blocked, "X_APPLE_ASPEN_DEVICEINFO")]),
    ],
    [
      "the parameter twice",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&deviceinfo=${query(blocked)}`, []),
    ],
    [
      "the parameter twice, the first empty",
      () => request(`GET /mdm/web?deviceinfo=&deviceinfo=${query(blocked)}`, []),
    ],
    [
      "the parameter and its percent-encoded name device%69nfo",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&device%69nfo=${query(blocked)}`, []),
    ],
    [
      "the parameter and DeviceInfo (case-insensitive frameworks)",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&DeviceInfo=${query(blocked)}`, []),
    ],
    [
      "the parameter and a ;-separated one",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)};deviceinfo=${query(blocked)}`, []),
    ],
    [
      "the parameter and deviceinfo[] (PHP, Rails)",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&deviceinfo%5B%5D=${query(blocked)}`, []),
    ],
    [
      "the parameter and [deviceinfo] (qs, as Express 4 parses queries, and Rack 2)",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&[deviceinfo]=${query(blocked)}`, []),
    ],
    [
      "the parameter and %5Bdeviceinfo%5D",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&%5Bdeviceinfo%5D=${query(blocked)}`, []),
    ],
    [
      "the parameter and deviceinfo%00 (PHP reads a name up to a NUL)",
      () => request(`GET /mdm/web?deviceinfo=${query(compliant)}&deviceinfo%00=${query(blocked)}`, []),
    ],
    [
      "a CMS body under text/plain and the header",
      () => request("POST /mdm/checkin", [header(compliant), "Content-Type: text/plain"], blocked),
    ],
    [
      "a CMS body with no Content-Type and the query",
      () => request(`PUT /mdm/checkin?deviceinfo=${query(compliant)}`, [], blocked),
    ],
    [
      "a CMS body under JSON, sent a byte per chunk, and the header",
      () => request("POST /mdm/checkin", [header(compliant), "Content-Type: application/json"], blocked, 1),
    ],
    ["a GET with a chunked CMS body and the header", () => request("GET /mdm/enroll", [header(compliant)], blocked, 7)],
    [
      "a BER body with an indefinite length under text/plain and the header",
      () => request("POST /mdm/checkin", [header(compliant), "Content-Type: text/plain"], indefinite(blocked), 3),
    ],
    [
      "a BER body with padded long-form lengths and the header",
      () =>
        request(
          "POST /mdm/checkin",
          [header(compliant), "Content-Type: application/octet-stream"],
          paddedLengths(blocked),
        ),
    ],
  ])("%s", async (_what, make) => {
    const { answer, reached } = await send(make());
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({
      error: "ambiguous-machine-info",
      message: expect.stringMatching(/^the request carries MachineInfo 2 times \(.+\); send exactly one$/),
    });
    expect(reached).toBe(0);
  });

  it("names where the copies were", async () => {
    const { answer } = await send(
      request(`GET /mdm/web?deviceinfo=${query(compliant)}&deviceinfo=x`, [
        `X-Apple-Aspen-DeviceInfo: ${base64(compliant)}`,
      ]),
    );
    expect(JSON.parse(answer.body)).toMatchObject({
      message: "the request carries MachineInfo 3 times (the header, 2 in the query); send exactly one",
    });
  });
});

describe("one copy, wherever it travels, is decided on", () => {
  it.each([
    ["a CMS body under text/plain", () => request("POST /mdm/checkin", ["Content-Type: text/plain"], blocked)],
    ["a CMS body with no Content-Type, a byte per chunk", () => request("PUT /mdm/checkin", [], blocked, 1)],
    [
      "a BER body with an indefinite length",
      () => request("POST /mdm/checkin", ["Content-Type: text/plain"], indefinite(blocked)),
    ],
    ["the parameter under a percent-encoded name", () => request(`GET /mdm/web?device%69nfo=${query(blocked)}`, [])],
    [
      "the parameter named [deviceinfo], which qs reads as deviceinfo",
      () => request(`GET /mdm/web?[deviceinfo]=${query(blocked)}`, []),
    ],
    [
      "the parameter named deviceinfo%00, which PHP reads as deviceinfo",
      () => request(`GET /mdm/web?deviceinfo%00=${query(blocked)}`, []),
    ],
    ["the header with underscores", () => request("GET /mdm/enroll", [`x_apple_aspen_deviceinfo: ${base64(blocked)}`])],
  ])("a blocked device's MachineInfo as %s gets the 403", async (_what, make) => {
    const { answer, reached } = await send(make());
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({
      code: "com.apple.softwareupdate.required",
      details: { OSVersion: "26.6.1" },
    });
    expect(reached).toBe(0);
  });

  it("a compliant device's CMS body under text/plain reaches the upstream byte for byte, with its length", async () => {
    const { answer, reached } = await send(request("POST /mdm/checkin", ["Content-Type: text/plain"], compliant, 5));
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    const seen = upstream.requests.at(-1);
    expect(seen?.header("content-length")).toEqual([String(compliant.length)]);
    expect(seen?.header("x-enrollgate-reason")).toEqual(["compliant"]);
    expect(seen?.body.equals(compliant)).toBe(true);
  });

  it("a body that is not CMS streams through beside the header, split where a sniffer would look", async () => {
    // Starts like ContentInfo, then names id-data, not id-signedData: not MachineInfo.
    const body = Buffer.concat([
      Buffer.from([0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]),
      Buffer.alloc(40_000, 0x41),
    ]);
    const { answer, reached } = await send(
      request(
        "POST /mdm/checkin",
        [`X-Apple-Aspen-DeviceInfo: ${base64(compliant)}`, "Content-Type: application/octet-stream"],
        body,
        2,
      ),
    );
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    expect(upstream.requests.at(-1)?.body.equals(body)).toBe(true);
  });

  it("a header decides beside a body that is not CMS", async () => {
    const body = Buffer.from('<?xml version="1.0"?><plist><dict/></plist>');
    const { answer, reached } = await send(
      request(
        "POST /mdm/checkin",
        [`X-Apple-Aspen-DeviceInfo: ${base64(blocked)}`, "Content-Type: application/x-apple-aspen-mdm-checkin"],
        body,
      ),
    );
    expect(answer.status).toBe(403);
    expect(reached).toBe(0);
  });

  it("a CMS body sniffed under another Content-Type is held to the body limit", async () => {
    const big = paddedLengths(Buffer.concat([blocked, Buffer.alloc(20_000)]));
    const { answer, reached } = await send(request("POST /mdm/checkin", ["Content-Type: text/plain"], big, 4096));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "body-too-large" });
    expect(reached).toBe(0);
  });
});

describe("CMS spelt as only a lenient reader (OpenSSL) reads it", () => {
  it.each(OPENSSL_SPELLINGS)(
    "%s: OpenSSL verifies it, and the gate reads it as MachineInfo, never passes it on",
    async (_what, spell) => {
      const body = spell(blocked);
      expect(opensslVerifies(body)).toBe(true);
      const alone = await send(request("POST /mdm/profile", ["Content-Type: application/octet-stream"], body, 3));
      expect(alone.answer.status).toBe(400);
      expect(JSON.parse(alone.answer.body)).toMatchObject({ error: "bad-cms" });
      expect(alone.reached).toBe(0);
      const beside = await send(request("POST /mdm/profile", [`X-Apple-Aspen-DeviceInfo: ${base64(compliant)}`], body));
      expect(JSON.parse(beside.answer.body)).toMatchObject({ error: "ambiguous-machine-info" });
      expect(beside.reached).toBe(0);
    },
  );
});
