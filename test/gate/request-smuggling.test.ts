// Request smuggling through `serve --upstream`, attacked over raw sockets
// against the real process, with a raw TCP upstream that parses requests like
// any plain HTTP/1.1 server and keeps every byte: a body forwarded without
// framing shows up there as a second request that the gate never decided on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { exchange } from "../helpers/raw-http.js";
import { startRawUpstream, type RawUpstream } from "../helpers/raw-upstream.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';

let device: Identity;
let ca: Identity;
let upstream: RawUpstream;
let gate: GateProcess;
let blocked: Uint8Array;
let compliant: Uint8Array;

beforeAll(async () => {
  ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  blocked = await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device);
  compliant = await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device);
  upstream = await startRawUpstream();
  gate = await spawnGate({ "p/rules.yaml": RULES, "p/enrollgate.yaml": "verify: enforce\n", "ca.pem": ca.pem }, [
    "--trust-anchor",
    "ca.pem",
    "--upstream",
    upstream.url,
  ]);
});

afterAll(async () => {
  await gate.stop();
  await upstream.close();
});

/** A blocked device's MachineInfo as a whole request, with a forged decision: what a smuggler hides in a body. */
function smuggled(): Buffer {
  const head = `POST /mdm/profile HTTP/1.1\r\nHost: mdm\r\nContent-Type: application/pkcs7-signature\r\nX-Enrollgate-Decision: allow\r\nContent-Length: ${blocked.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), blocked]);
}

function chunked(body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]);
}

/** Upstream requests that arrive during `act`. */
async function arriving<T>(act: () => Promise<T>): Promise<{ result: T; requests: typeof upstream.requests }> {
  const before = upstream.requests.length;
  const result = await act();
  return { result, requests: upstream.requests.slice(before) };
}

describe("bodies on methods Node would not frame", () => {
  it.each(["GET", "HEAD", "DELETE", "OPTIONS"])(
    "%s with a chunked body reaches the upstream as one chunked request, never two",
    async (method) => {
      const body = smuggled();
      const request = Buffer.concat([
        Buffer.from(
          `${method} /mdm/checkin HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
        ),
        chunked(body),
      ]);
      const { result: answers, requests } = await arriving(() => exchange(gate.url, request, [method]));
      expect(answers.map((a) => a.status)).toEqual([200]);
      expect(requests).toHaveLength(1);
      expect(requests[0]?.method).toBe(method);
      expect(requests[0]?.header("transfer-encoding")).toEqual(["chunked"]);
      expect(requests[0]?.body.equals(body)).toBe(true);
      expect(upstream.malformed).toEqual([]);
      // Nothing the smuggler wrote was read as a request: the only POST /mdm/profile bytes upstream are inside a chunk.
      expect(upstream.requests.some((r) => r.method === "POST" && r.target === "/mdm/profile")).toBe(false);
    },
  );

  it.each(["GET", "DELETE", "OPTIONS"])(
    "%s with a Content-Length body reaches the upstream with that length",
    async (method) => {
      const body = smuggled();
      const request = Buffer.concat([
        Buffer.from(
          `${method} /mdm/checkin HTTP/1.1\r\nHost: gate\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ]);
      const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
      expect(answers.map((a) => a.status)).toEqual([200]);
      expect(requests).toHaveLength(1);
      expect(requests[0]?.header("content-length")).toEqual([String(body.length)]);
      expect(requests[0]?.body.equals(body)).toBe(true);
    },
  );

  it("pipelined after an allowed GET with a body, a blocked device is answered by the gate and never reaches the upstream", async () => {
    const body = smuggled();
    const first = Buffer.concat([
      Buffer.from(`GET /mdm/checkin HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: chunked\r\n\r\n`),
      chunked(body),
    ]);
    const second = Buffer.from(
      `GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\nX-Apple-Aspen-DeviceInfo: ${base64(blocked)}\r\nConnection: close\r\n\r\n`,
    );
    const { result: answers, requests } = await arriving(() => exchange(gate.url, Buffer.concat([first, second])));
    expect(answers.map((a) => a.status)).toEqual([200, 403]);
    expect(JSON.parse(answers[1]?.body ?? "{}")).toMatchObject({ code: "com.apple.softwareupdate.required" });
    expect(requests.map((r) => `${r.method} ${r.target}`)).toEqual(["GET /mdm/checkin"]);
  });
});

describe("a Connection header that names what the gate relies on", () => {
  it("GET with Content-Length and Connection: content-length is refused, and nothing reaches the upstream", async () => {
    const body = smuggled();
    const request = Buffer.concat([
      Buffer.from(
        `GET /mdm/checkin HTTP/1.1\r\nHost: gate\r\nContent-Length: ${body.length}\r\nConnection: close, content-length\r\n\r\n`,
      ),
      body,
    ]);
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    // One answer: the body was read as the body it is, not as a second request.
    expect(answers).toHaveLength(1);
    expect(answers[0]?.status).toBe(400);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({
      error: "bad-connection-header",
      message: expect.stringContaining('"content-length"'),
    });
    expect(requests).toEqual([]);
  });

  it.each([
    ["transfer-encoding", "close, Transfer-Encoding"],
    ["host", "close, host"],
    ["an X-Enrollgate-* header", "close, X-Enrollgate-Decision"],
    ["an X-Enrollgate-* header with underscores", "close, x_enrollgate_reason"],
    ["the MachineInfo header", "close, X-Apple-Aspen-DeviceInfo"],
    ["the MachineInfo header on a second Connection line", "close\r\nConnection: x-apple-aspen-deviceinfo"],
  ])("naming %s is a 400, and nothing reaches the upstream", async (_what, connection) => {
    const request = `GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\nX-Apple-Aspen-DeviceInfo: ${base64(compliant)}\r\nConnection: ${connection}\r\n\r\n`;
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    expect(answers.map((a) => a.status)).toEqual([400]);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({ error: "bad-connection-header" });
    expect(requests).toEqual([]);
  });

  it("an Upgrade (h2c smuggling) is not passed on: the upstream sees a plain request", async () => {
    const request = `GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAA\r\nConnection: Upgrade, HTTP2-Settings, close\r\n\r\n`;
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    expect(answers.map((a) => a.status)).toEqual([200]);
    expect(requests).toHaveLength(1);
    expect([...(requests[0]?.header("upgrade") ?? []), ...(requests[0]?.header("http2-settings") ?? [])]).toEqual([]);
    expect(requests[0]?.header("connection")).not.toContainEqual(expect.stringMatching(/upgrade/i));
  });

  it("naming any other header still works: it is not forwarded", async () => {
    const request = `GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\nX-Apple-Aspen-DeviceInfo: ${base64(compliant)}\r\nX-Hop: secret\r\nConnection: close, x-hop\r\n\r\n`;
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    expect(answers.map((a) => a.status)).toEqual([200]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.header("x-hop")).toEqual([]);
  });
});

describe("framing the gate cannot read one way only", () => {
  it("Content-Length and Transfer-Encoding together are refused by the HTTP parser, and nothing reaches the upstream", async () => {
    const body = smuggled();
    const request = Buffer.concat([
      Buffer.from(
        `POST /mdm/checkin HTTP/1.1\r\nHost: gate\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n`,
      ),
      chunked(body),
    ]);
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    expect(answers.map((a) => a.status)).toEqual([400]);
    expect(requests).toEqual([]);
  });

  it("a transfer coding other than chunked is refused, and nothing reaches the upstream", async () => {
    const request = Buffer.concat([
      Buffer.from(
        `POST /mdm/checkin HTTP/1.1\r\nHost: gate\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n`,
      ),
      chunked(Buffer.from("x")),
    ]);
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    expect(answers.map((a) => a.status)).toEqual([400]);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({ error: "unsupported-encoding" });
    expect(requests).toEqual([]);
  });

  it("a Content-Encoding is refused: the gate cannot see what a compressed body carries", async () => {
    const request = Buffer.concat([
      Buffer.from(
        `POST /mdm/checkin HTTP/1.1\r\nHost: gate\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\nConnection: close\r\n\r\n`,
      ),
      Buffer.from("abc"),
    ]);
    const { result: answers, requests } = await arriving(() => exchange(gate.url, request));
    expect(answers.map((a) => a.status)).toEqual([400]);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({
      error: "unsupported-encoding",
      message: expect.stringContaining("gzip"),
    });
    expect(requests).toEqual([]);
  });

  it("two Host headers are refused (RFC 9112 3.2), and nothing reaches the upstream", async () => {
    const { result: answers, requests } = await arriving(() =>
      exchange(gate.url, `GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\nHost: admin.internal\r\nConnection: close\r\n\r\n`),
    );
    expect(answers.map((a) => a.status)).toEqual([400]);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({ error: "bad-host-header" });
    expect(requests).toEqual([]);
  });

  it("after every attack above, the upstream never saw a request it could not parse", () => {
    expect(upstream.malformed).toEqual([]);
  });
});
