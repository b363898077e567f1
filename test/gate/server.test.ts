// The standalone gate on 127.0.0.1 with MachineInfo signed in the test by a
// throwaway CA: every transport, both key types and both hashes, verification
// failures, malformed input, proxying, metrics and hot reload.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parsePlist } from "plist";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "enrollgate";
import {
  base64,
  base64url,
  createCA,
  createIdentity,
  machineInfoPlist,
  signCms,
  type Identity,
} from "../../support/signing.js";
import { captureLog, eventually, startUpstream, type CapturedLog, type Upstream } from "../helpers/http.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = `rules:
  - id: iphone-floor
    platform: iOS
    models: ["iPhone*"]
    minimum: "26.6.1"
    message: "Update iOS to continue setting up this iPhone."
  - id: seed
    platform: iOS
    models: ["iPhone18,4"]
    minimum: "27.0"
    betaProgram:
      description: "iOS 27 AppleSeed"
      token: { env: SEED_BETA_TOKEN }
`;
const BLOCKED_BODY = {
  code: "com.apple.softwareupdate.required",
  message: "Update iOS to continue setting up this iPhone.",
  details: { OSVersion: "26.6.1" },
};

const TOKEN_ENV = { SEED_BETA_TOKEN: "super-secret-seed-token" };
let ca: Identity;
let stranger: Identity;
let rsa: Identity;
let ec: Identity;
let dir: string;
let upstream: Upstream;
let log: CapturedLog;
let server: RunningServer;

const blocked = () => machineInfoPlist({ OS_VERSION: "26.5", VERSION: "23F77" });
const compliant = () => machineInfoPlist({ OS_VERSION: "26.6.1", VERSION: "23G83" });

beforeAll(async () => {
  ca = await createCA();
  stranger = await createIdentity(await createCA("Not Apple"));
  rsa = await createIdentity(ca, { kind: "rsa" });
  ec = await createIdentity(ca, { kind: "ecdsa" });
  dir = await tempDir({
    "policies/rules.yaml": RULES,
    "policies/enrollgate.yaml": "format: negotiate\nbodyLimit: 8192\n",
    "ca.pem": ca.pem,
  });
  upstream = await startUpstream();
  log = captureLog();
  server = await startServer({
    policies: "policies",
    host: "127.0.0.1",
    port: 0,
    upstream: new URL(upstream.url),
    upstreamTimeoutMs: 2000,
    overrides: { verify: "enforce", trustAnchors: ["ca.pem"] },
    logger: log.logger,
    env: TOKEN_ENV,
    cwd: dir,
    debounceMs: 50,
  });
});

afterAll(async () => {
  await server.close();
  await upstream.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, { headers });
}

async function post(path: string, body: Uint8Array, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/pkcs7-signature", ...headers },
  });
}

describe("a device below its minimum", () => {
  it("gets the exact 403 JSON through the header (standard base64)", async () => {
    const res = await get("/mdm/enroll", { "x-apple-aspen-deviceinfo": base64(await signCms(blocked(), rsa)) });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(JSON.stringify(BLOCKED_BODY));
    expect(upstream.requests.filter((r) => r.url === "/mdm/enroll")).toHaveLength(0);
  });

  it("through the header in URL-safe base64", async () => {
    const der = await signCms(blocked(), ec, { hash: "SHA-1" });
    expect(base64url(der)).toMatch(/[-_]/); // this one really uses the URL-safe alphabet
    const res = await get("/mdm/enroll", { "x-apple-aspen-deviceinfo": base64url(der) });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(BLOCKED_BODY);
  });

  it("through the POST body", async () => {
    const res = await post("/mdm/profile", await signCms(blocked(), ec));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(BLOCKED_BODY);
  });

  it("through the deviceinfo query parameter, even with an unescaped +", async () => {
    let der = await signCms(blocked(), rsa);
    for (let i = 0; !base64(der).includes("+") && i < 20; i++) der = await signCms(blocked(), rsa);
    const res = await get(`/mdm/web?deviceinfo=${base64(der)}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(BLOCKED_BODY);
  });

  it("gets the plist under negotiate with Accept: application/xml", async () => {
    const res = await get("/mdm/enroll", {
      "x-apple-aspen-deviceinfo": base64(await signCms(blocked(), rsa)),
      accept: "application/xml",
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/xml");
    const xml = await res.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist PUBLIC/);
    expect(parsePlist(xml)).toEqual(BLOCKED_BODY);
  });

  it.each([
    ["rsa", "SHA-1"],
    ["rsa", "SHA-256"],
    ["ecdsa", "SHA-1"],
    ["ecdsa", "SHA-256"],
  ] as const)("is verified with %s and %s", async (kind, hash) => {
    const res = await post("/mdm/profile", await signCms(blocked(), kind === "rsa" ? rsa : ec, { hash }));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("com.apple.softwareupdate.required");
  });

  it("carries the beta program, and the token never reaches the log", async () => {
    const res = await post(
      "/mdm/profile",
      await signCms(machineInfoPlist({ PRODUCT: "iPhone18,4", OS_VERSION: "26.6.1" }), ec),
    );
    expect(
      ((await res.json()) as typeof BLOCKED_BODY & { details: { RequireBetaProgram?: unknown } }).details
        .RequireBetaProgram,
    ).toEqual({ Description: "iOS 27 AppleSeed", Token: "super-secret-seed-token" });
    expect(log.text()).not.toContain("super-secret-seed-token");
  });
});

describe("a compliant device", () => {
  it("reaches the upstream with method, path, headers and the exact body bytes", async () => {
    const der = await signCms(compliant(), ec);
    const res = await post("/mdm/profile?x=1", der, { "x-custom": "kept", connection: "keep-alive" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("yes");
    expect(res.headers.get("content-type")).toBe("application/x-apple-aspen-config");
    expect(await res.text()).toBe("<profile from upstream>");
    const seen = upstream.requests.at(-1);
    expect(seen?.method).toBe("POST");
    expect(seen?.url).toBe("/mdm/profile?x=1");
    expect(seen?.headers["x-custom"]).toBe("kept");
    expect(seen?.headers["content-type"]).toBe("application/pkcs7-signature");
    expect(seen?.headers["x-enrollgate-decision"]).toBe("allow");
    expect(seen?.headers["x-enrollgate-reason"]).toBe("compliant");
    expect(seen?.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(Buffer.compare(seen?.body ?? Buffer.alloc(0), Buffer.from(der))).toBe(0);
  });

  it("streams other request bodies through untouched", async () => {
    const big = Buffer.alloc(100_000, 7);
    const res = await fetch(`${server.url}/mdm/checkin`, {
      method: "PUT",
      body: big,
      headers: { "content-type": "application/x-apple-aspen-mdm-checkin" },
    });
    expect(res.status).toBe(200);
    expect(upstream.requests.at(-1)?.body.equals(big)).toBe(true);
  });

  it("logs one decision line with the device and the verification", async () => {
    await get("/mdm/enroll", { "x-apple-aspen-deviceinfo": base64(await signCms(compliant(), rsa)) });
    const line = log.lines.filter((l) => l.event === "decision").at(-1);
    expect(line).toMatchObject({
      decision: "allow",
      reason: "compliant",
      rule: null,
      serial: "G7QK21P0XY3D",
      udid: "00008120-001A2B3C4D5E6F70",
      product: "iPhone17,3",
      osVersion: "26.6.1",
      build: "23G83",
      verification: "verified",
      source: "header",
      revision: expect.stringMatching(/^[0-9a-f]{12}$/),
      decisionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(log.text()).not.toContain("<plist");
  });
});

describe("MachineInfo that is not verified, under enforce", () => {
  it.each([
    [
      "a tampered payload",
      async () => {
        const der = Buffer.from(await signCms(blocked(), rsa));
        der[der.indexOf("26.5")] = "3".charCodeAt(0);
        return der;
      },
      "the content does not match the signed messageDigest",
    ],
    ["a wrong CA", async () => signCms(blocked(), stranger), "no chain from the signer to a trust anchor"],
    ["two signers", async () => signCms(blocked(), rsa, { coSigners: [ec] }), "the message has 2 signers"],
    [
      "a missing certificate",
      async () => signCms(blocked(), rsa, { includeCertificate: false }),
      "the signer's certificate is not in the message",
    ],
  ])("%s gets a 403 JSON error, never the software-update code", async (_what, make, problem) => {
    const res = await post("/mdm/profile", await make());
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: string; message: string; code?: string };
    expect(body.error).toBe("unverified-machine-info");
    expect(body.message).toContain(problem);
    expect(body.code).toBeUndefined();
  });
});

describe("malformed input", () => {
  it.each([
    ["bad base64", () => get("/e", { "x-apple-aspen-deviceinfo": "not base64 at all!" }), 400, "bad-base64"],
    ["bad DER", () => post("/e", Buffer.from("this is not DER")), 400, "bad-cms"],
    [
      "a plist declaring entities",
      async () =>
        post("/e", await signCms('<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x "y">]><plist><dict/></plist>', rsa)),
      400,
      "bad-plist",
    ],
    ["a body over the limit", () => post("/e", Buffer.alloc(9000, 0x30)), 413, "body-too-large"],
    ["an empty body", () => post("/e", Buffer.alloc(0)), 400, "empty-body"],
    [
      "a header over the limit",
      () => get("/e", { "x-apple-aspen-deviceinfo": "A".repeat(12_000) }),
      413,
      "body-too-large",
    ],
  ])("%s gets its status and a JSON error, and the server keeps serving", async (_what, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe(code);
    expect(body.message).not.toMatch(/\n\s+at /);
    expect((await get("/healthz")).status).toBe(200);
  });

  it("a body streamed past the limit without Content-Length gets 413", async () => {
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(1024));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}/e`, {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/pkcs7-signature" },
      duplex: "half",
    });
    expect(res.status).toBe(413);
    expect((await get("/healthz")).status).toBe(200);
  });
});

describe("health, readiness and metrics", () => {
  it("answers /healthz and /readyz", async () => {
    expect(await (await get("/healthz")).json()).toEqual({ status: "ok" });
    expect(await (await get("/readyz")).json()).toMatchObject({ status: "ready", rules: 2 });
  });

  it("exposes decisions, latency, rejections, reloads and the revision in Prometheus format", async () => {
    const res = await get("/metrics");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /^enrollgate_decisions_total\{decision="block",reason="below-minimum",rule="iphone-floor"\} \d+$/m,
    );
    expect(text).toMatch(/^enrollgate_decision_duration_seconds_count \d+$/m);
    expect(text).toMatch(/^enrollgate_rejections_total\{status="400",code="bad-base64"\} 1$/m);
    expect(text).toMatch(/^enrollgate_policy_reloads_total 1$/m);
    expect(text).toMatch(/^enrollgate_policy_revision_info\{revision="[0-9a-f]{12}"\} 1$/m);
    expect(text).toMatch(/^enrollgate_ready 1$/m);
    expect(text).toMatch(/^enrollgate_process_resident_memory_bytes \d+$/m);
  });
});

describe("hot reload", () => {
  const metric = async (name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await get("/metrics")).text())?.[1] ?? "NaN");
  const decisionFor = async (os: string) =>
    (await get("/e", { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os }), ec)) }))
      .status;

  it("keeps the previous set answering when a policy file breaks, and takes a good change without a restart", async () => {
    expect(await decisionFor("26.6")).toBe(403);
    const failures = await metric("enrollgate_policy_reload_failures_total");
    await writeFile(join(dir, "policies/rules.yaml"), RULES.replace('minimum: "26.6.1"', "minimum: 26.7"));
    await eventually(
      async () => (await metric("enrollgate_policy_reload_failures_total")) > failures,
      "the failed reload",
    );
    expect(await decisionFor("26.6")).toBe(403); // still the old floor
    expect(await decisionFor("26.6.1")).toBe(200);
    expect(
      log.lines.some(
        (l) => l.event === "policy-reload-failed" && JSON.stringify(l.findings).includes("version-not-string"),
      ),
    ).toBe(true);

    const reloads = await metric("enrollgate_policy_reloads_total");
    await writeFile(join(dir, "policies/rules.yaml"), RULES.replace('minimum: "26.6.1"', 'minimum: "26.5"'));
    await eventually(async () => (await metric("enrollgate_policy_reloads_total")) > reloads, "the good reload");
    expect(await decisionFor("26.6")).toBe(200); // the new, lower floor
    expect(await decisionFor("26.4")).toBe(403);
  });

  it("reloads on request (what SIGHUP does)", async () => {
    const result = await server.reload("test");
    expect(result).toMatchObject({ ok: true, changed: false });
  });
});

describe("the upstream", () => {
  it("unreachable: 502 JSON, and the gate stays ready", async () => {
    const down = await startUpstream();
    const url = down.url;
    await down.close();
    const s = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      upstream: new URL(url),
      overrides: { verify: "off" },
      logger: captureLog().logger,
      env: TOKEN_ENV,
      cwd: dir,
      watch: false,
    });
    try {
      const res = await fetch(`${s.url}/mdm/enroll`);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({
        error: "upstream-unreachable",
        message: expect.stringMatching(/ECONNREFUSED/),
      });
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it("hanging: 504 JSON after the timeout", async () => {
    const hang = await startUpstream(() => "hang");
    const s = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      upstream: new URL(hang.url),
      upstreamTimeoutMs: 200,
      overrides: { verify: "off" },
      logger: captureLog().logger,
      env: TOKEN_ENV,
      cwd: dir,
      watch: false,
    });
    try {
      const res = await fetch(`${s.url}/mdm/enroll`);
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ error: "upstream-timeout" });
    } finally {
      await s.close(100);
      await hang.close();
    }
  });
});

describe("settings", () => {
  it("warns that beta tokens reach unverified clients when verification is not enforced", async () => {
    expect(log.lines.filter((l) => l.event === "beta-token-exposure")).toEqual([]); // the enforcing server
    const audit = captureLog();
    const s = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "audit" },
      logger: audit.logger,
      env: TOKEN_ENV,
      cwd: dir,
      watch: false,
    });
    try {
      expect(audit.lines.find((l) => l.event === "beta-token-exposure")).toMatchObject({
        level: 40,
        verify: "audit",
        rules: ["seed"],
      });
      expect(audit.text()).not.toContain("super-secret-seed-token");
    } finally {
      await s.close();
    }
  });

  it("rejects requests without MachineInfo when told to", async () => {
    const s = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "off", noMachineInfo: "reject" },
      logger: captureLog().logger,
      env: TOKEN_ENV,
      cwd: dir,
      watch: false,
    });
    try {
      const res = await fetch(`${s.url}/mdm/enroll`);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "no-machine-info", message: "MachineInfo is required" });
    } finally {
      await s.close();
    }
  });

  it.each([
    [
      "a tampered payload",
      async () => {
        const der = Buffer.from(await signCms(machineInfoPlist({ OS_VERSION: "26.0" }), rsa));
        der[der.indexOf("iPhone17,3") + 6] = "6".charCodeAt(0);
        return der;
      },
      "the content does not match the signed messageDigest",
    ],
    [
      "a wrong CA",
      () => signCms(machineInfoPlist({ OS_VERSION: "26.0" }), stranger),
      "no chain from the signer to a trust anchor",
    ],
    [
      "two signers",
      () => signCms(machineInfoPlist({ OS_VERSION: "26.0" }), rsa, { coSigners: [ec] }),
      "the message has 2 signers",
    ],
    [
      "a missing certificate",
      () => signCms(machineInfoPlist({ OS_VERSION: "26.0" }), rsa, { includeCertificate: false }),
      "the signer's certificate is not in the message",
    ],
  ])("under audit, %s goes on to its decision with the failure logged", async (_what, make, problem) => {
    const l = captureLog();
    const s = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "audit", trustAnchors: ["ca.pem"] },
      logger: l.logger,
      env: TOKEN_ENV,
      cwd: dir,
      watch: false,
    });
    try {
      const res = await fetch(`${s.url}/mdm/profile`, {
        method: "POST",
        body: await make(),
        headers: { "content-type": "application/pkcs7-signature" },
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("com.apple.softwareupdate.required");
      expect(l.lines.find((x) => x.event === "unverified")?.problem).toContain(problem);
      expect(l.lines.find((x) => x.event === "decision")).toMatchObject({
        decision: "block",
        verification: "unverified",
        verificationProblem: expect.stringContaining(problem),
      });
    } finally {
      await s.close();
    }
  });

  it("under enforce without trust anchors, verifies against Apple's built-in chain", async () => {
    const s = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "enforce" },
      logger: captureLog().logger,
      env: TOKEN_ENV,
      cwd: dir,
      watch: false,
    });
    try {
      expect(s.store.active?.trust.certificates.map((c) => c.subjectName)).toEqual([
        "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple Root CA",
        "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple iPhone Certification Authority",
        "C=US, O=Apple Inc., OU=Apple iPhone, CN=Apple iPhone Device CA",
      ]);
      const res = await fetch(`${s.url}/mdm/profile`, {
        method: "POST",
        body: await signCms(blocked(), rsa),
        headers: { "content-type": "application/pkcs7-signature" },
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        error: "unverified-machine-info",
        message: expect.stringContaining("no chain from the signer to a trust anchor"),
      });
    } finally {
      await s.close();
    }
  });
});
