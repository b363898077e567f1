// What reaches the upstream: the gate's decision and the verified facts as
// X-Enrollgate-* headers, never a client's (any case, `_` for `-`), and
// forwarding headers that are the gate's own unless the peer is a trusted
// proxy. The real `serve` process, raw sockets, and a raw upstream that shows
// header names exactly as they arrive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { enrollgate } from "../helpers/cli.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { eventually } from "../helpers/http.js";
import { exchange } from "../helpers/raw-http.js";
import { startRawUpstream, type RawRequest, type RawUpstream } from "../helpers/raw-upstream.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';

let ca: Identity;
let device: Identity;
let upstream: RawUpstream;
let plain: GateProcess;
let behindProxy: GateProcess;
let compliant: Uint8Array;

beforeAll(async () => {
  ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  compliant = await signCms(machineInfoPlist({ OS_VERSION: "26.6.1", VERSION: "23G83" }), device);
  upstream = await startRawUpstream();
  const files = { "p/rules.yaml": RULES, "p/enrollgate.yaml": "verify: enforce\n", "ca.pem": ca.pem };
  const common = ["--trust-anchor", "ca.pem", "--upstream", upstream.url];
  [plain, behindProxy] = await Promise.all([
    spawnGate(files, common),
    spawnGate(files, [...common, "--trust-proxy", "10.0.0.0/8, 127.0.0.1", "--trust-proxy", "::1"]),
  ]);
});

afterAll(async () => {
  await Promise.all([plain.stop(), behindProxy.stop()]);
  await upstream.close();
});

/** Sends one GET through `gate` and returns what the upstream saw of it. */
async function through(gate: GateProcess, headers: string[], path = "/mdm/enroll"): Promise<RawRequest> {
  const before = upstream.requests.length;
  const answers = await exchange(
    gate.url,
    `GET ${path} HTTP/1.1\r\nHost: gate.example\r\n${[...headers, "Connection: close"].join("\r\n")}\r\n\r\n`,
  );
  expect(answers.map((a) => a.status)).toEqual([200]);
  expect(upstream.requests.length).toBe(before + 1);
  return upstream.requests.at(-1) as RawRequest;
}

/** The X-Enrollgate-* headers as they arrived: name (as sent) → values. */
function enrollgateHeaders(seen: RawRequest): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of seen.headers) if (/^x[-_]enrollgate/i.test(name)) (out[name] ??= []).push(value);
  return out;
}

/**
 * The last `event` line with `fields`, once it is written (the gate writes its log at the end of the event loop's
 * turn, so a line can arrive just after the answer): that line, or the last `event` line when none came.
 */
const lastLine = async (gate: GateProcess, event: string, fields: Record<string, unknown>) => {
  const matches = (l: Record<string, unknown>) =>
    l.event === event && Object.entries(fields).every(([k, v]) => l[k] === v);
  await eventually(() => gate.running.lines.some(matches), `a ${event} log line`).catch(() => undefined);
  return gate.running.lines.filter(matches).at(-1) ?? gate.running.lines.filter((l) => l.event === event).at(-1);
};

describe("X-Enrollgate-* headers", () => {
  it("a client's never reach the upstream, in any case and with underscores; the gate's decision and verified facts do", async () => {
    const seen = await through(plain, [
      `X-Apple-Aspen-DeviceInfo: ${base64(compliant)}`,
      "X-EnrollGate-Decision: block",
      "x-enrollgate-reason: below-minimum",
      "X_Enrollgate_Serial: FORGED-SERIAL",
      "X-ENROLLGATE-UDID: forged-udid",
      "x_ENROLLGATE-verification: forged",
      "X-Enrollgate-Allowed-By: forged",
      "X-Enrollgate: forged",
    ]);
    expect(enrollgateHeaders(seen)).toEqual({
      "x-enrollgate-decision": ["allow"],
      "x-enrollgate-reason": ["compliant"],
      "x-enrollgate-revision": [expect.stringMatching(/^[0-9a-f]{12}$/)],
      "x-enrollgate-decision-id": [expect.stringMatching(/^[0-9a-f-]{36}$/)],
      "x-enrollgate-verification": ["verified"],
      "x-enrollgate-serial": ["G7QK21P0XY3D"],
      "x-enrollgate-udid": ["00008120-001A2B3C4D5E6F70"],
      "x-enrollgate-product": ["iPhone17,3"],
      "x-enrollgate-os-version": ["26.6.1"],
      "x-enrollgate-build": ["23G83"],
    });
    expect(seen.headers.map(([, v]) => v)).not.toContain("forged");
  });

  it("the OS version carries the supplemental extra, and the build is the supplemental build", async () => {
    const der = await signCms(
      machineInfoPlist({
        OS_VERSION: "26.6.1",
        SUPPLEMENTAL_OS_VERSION_EXTRA: "(a)",
        VERSION: "23G83",
        SUPPLEMENTAL_BUILD_VERSION: "23G84",
      }),
      device,
    );
    const seen = await through(plain, [`X-Apple-Aspen-DeviceInfo: ${base64(der)}`]);
    expect(seen.header("x-enrollgate-os-version")).toEqual(["26.6.1 (a)"]);
    expect(seen.header("x-enrollgate-build")).toEqual(["23G84"]);
  });

  it("a request without MachineInfo carries verification absent and no facts", async () => {
    const seen = await through(plain, ["X-Enrollgate-Serial: FORGED"]);
    expect(enrollgateHeaders(seen)).toEqual({
      "x-enrollgate-decision": ["allow"],
      "x-enrollgate-reason": ["no-machine-info"],
      "x-enrollgate-revision": [expect.any(String)],
      "x-enrollgate-decision-id": [expect.any(String)],
      "x-enrollgate-verification": ["absent"],
    });
  });

  it("facts that are not plain tokens are left out, never written as they are", async () => {
    const der = await signCms(
      machineInfoPlist({ OS_VERSION: "26.6.1", SERIAL: "G7QK21P0XY3D\r\nX-Injected: 1", UDID: "0000<script>" }),
      device,
    );
    const seen = await through(plain, [`X-Apple-Aspen-DeviceInfo: ${base64(der)}`]);
    expect(seen.header("x-enrollgate-serial")).toEqual([]);
    expect(seen.header("x-enrollgate-udid")).toEqual([]);
    expect(seen.header("x-injected")).toEqual([]);
    expect(seen.header("x-enrollgate-product")).toEqual(["iPhone17,3"]);
    expect(upstream.bytes()).not.toContain("<script>");
  });
});

describe("forwarding headers", () => {
  const forged = [
    "X-Forwarded-For: 203.0.113.7",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: admin.internal",
    "Forwarded: for=203.0.113.7;proto=https",
    "X-Real-IP: 203.0.113.7",
    "X_Forwarded_For: 198.51.100.1",
    "X-Original-URL: /admin",
  ];

  it("from a peer that is not a trusted proxy, are the gate's own; underscore variants and path overrides are removed", async () => {
    const seen = await through(plain, forged);
    expect(seen.header("x-forwarded-for")).toEqual(["127.0.0.1"]);
    expect(seen.header("x-forwarded-proto")).toEqual(["http"]);
    expect(seen.header("x-forwarded-host")).toEqual(["gate.example"]);
    expect(seen.header("forwarded")).toEqual(["for=127.0.0.1;proto=http;host=gate.example"]);
    expect(seen.header("x-real-ip")).toEqual(["127.0.0.1"]);
    expect(seen.header("x_forwarded_for")).toEqual([]);
    expect(seen.header("x-original-url")).toEqual([]);
    const expected = { client: "127.0.0.1", peer: "127.0.0.1" };
    expect(await lastLine(plain, "decision", expected)).toMatchObject(expected);
  });

  it("the other forwarding and client-address headers are dropped from a peer that is not a trusted proxy, and kept from one", async () => {
    const others = [
      "X-Forwarded-Port: 8443",
      "X-Forwarded-Prefix: /admin",
      "X-Forwarded-Ssl: on",
      "X-Client-IP: 10.9.9.9",
      "True-Client-IP: 10.9.9.9",
      "CF-Connecting-IP: 10.9.9.9",
      "X-Cluster-Client-IP: 10.9.9.9",
      "X-Original-Host: admin.internal",
      "Front-End-Https: on",
    ];
    const names = [
      "x-forwarded-port",
      "x-forwarded-prefix",
      "x-forwarded-ssl",
      "x-client-ip",
      "true-client-ip",
      "cf-connecting-ip",
      "x-cluster-client-ip",
      "x-original-host",
      "front-end-https",
    ];
    const fromClient = await through(plain, [...others, "X_Client_IP: 10.9.9.9"]);
    expect(names.flatMap((n) => fromClient.header(n))).toEqual([]);
    expect(fromClient.header("x_client_ip")).toEqual([]);
    const fromProxy = await through(behindProxy, [...others, "X_Client_IP: 10.9.9.9"]);
    expect(names.map((n) => fromProxy.header(n))).toEqual(others.map((h) => [h.slice(h.indexOf(": ") + 2)]));
    expect(fromProxy.header("x_client_ip")).toEqual([]);
  });

  it("from a trusted proxy, are kept and appended to, and the decision log names the client behind it", async () => {
    const seen = await through(behindProxy, ["X-Forwarded-For: 203.0.113.7, 10.1.2.3", ...forged.slice(1)]);
    expect(seen.header("x-forwarded-for")).toEqual(["203.0.113.7, 10.1.2.3, 127.0.0.1"]);
    expect(seen.header("x-forwarded-proto")).toEqual(["https"]);
    expect(seen.header("x-forwarded-host")).toEqual(["admin.internal"]);
    expect(seen.header("forwarded")).toEqual([
      "for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host=gate.example",
    ]);
    expect(seen.header("x-real-ip")).toEqual(["203.0.113.7"]);
    expect(seen.header("x_forwarded_for")).toEqual([]);
    expect(seen.header("x-original-url")).toEqual([]);
    // 10.1.2.3 is trusted too: the client is the first address that is not.
    const expected = { client: "203.0.113.7", peer: "127.0.0.1" };
    expect(await lastLine(behindProxy, "decision", expected)).toMatchObject(expected);
  });

  it("from a trusted proxy that sends none, are the gate's own", async () => {
    const seen = await through(behindProxy, []);
    expect(seen.header("x-forwarded-for")).toEqual(["127.0.0.1"]);
    expect(seen.header("x-forwarded-proto")).toEqual(["http"]);
    expect(seen.header("x-real-ip")).toEqual(["127.0.0.1"]);
  });

  it("a rejected request's log line names the client and the peer", async () => {
    const answers = await exchange(
      behindProxy.url,
      "GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\nX-Forwarded-For: 198.51.100.23\r\nX-Apple-Aspen-DeviceInfo: !!\r\nConnection: close\r\n\r\n",
    );
    expect(answers.map((a) => a.status)).toEqual([400]);
    const expected = { code: "bad-base64", client: "198.51.100.23", peer: "127.0.0.1" };
    expect(await lastLine(behindProxy, "rejected", expected)).toMatchObject(expected);
  });

  it("trustProxy in enrollgate.yaml works like the flag", async () => {
    const gate = await spawnGate(
      { "p/rules.yaml": RULES, "p/enrollgate.yaml": "verify: off\ntrustProxy: [loopback]\n" },
      ["--upstream", upstream.url],
    );
    try {
      const seen = await through(gate, ["X-Forwarded-For: 192.0.2.44"]);
      expect(seen.header("x-forwarded-for")).toEqual(["192.0.2.44, 127.0.0.1"]);
      const expected = { client: "192.0.2.44", peer: "127.0.0.1" };
      expect(await lastLine(gate, "decision", expected)).toMatchObject(expected);
    } finally {
      await gate.stop();
    }
  });

  it("--trust-proxy with something that is not an address or a range is a usage error", async () => {
    const r = await enrollgate(
      ["serve", "--policies", "p", "--trust-proxy", "10.0.0.300/8", "--port", "0", "--host", "127.0.0.1"],
      { cwd: plain.dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--trust-proxy: trust proxy entry "10.0.0.300/8" is not an IP address, a CIDR range');
  });
});
