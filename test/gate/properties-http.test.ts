// Any bytes where MachineInfo travels (the header, the POST body, the query, a form field)
// get 400, 403 or 413 from the gate, or reach the handler after it (200):
// never a 5xx, never a crash. Sent over raw TCP so that nothing an HTTP
// client would refuse to send is off limits.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "enrollgate";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { rawRequest } from "../helpers/http.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';
const BODY_LIMIT = 4096;
const ALLOWED = new Set([200, 400, 403, 413]);

let servers: Array<{ mode: string; server: RunningServer }> = [];
let blockedDer: Uint8Array;
let compliantDer: Uint8Array;

beforeAll(async () => {
  const ca = await createCA();
  const device = await createIdentity(ca, { kind: "ecdsa" });
  blockedDer = await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device);
  compliantDer = await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device);
  const dir = await tempDir({
    "policies/rules.yaml": RULES,
    "policies/enrollgate.yaml": `bodyLimit: ${BODY_LIMIT}\n`,
    "ca.pem": ca.pem,
  });
  for (const mode of ["enforce", "off"] as const) {
    const server = await startServer({
      policies: "policies",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: mode, trustAnchors: ["ca.pem"] },
      logger: (await import("enrollgate/gate")).silentLogger(),
      env: {},
      cwd: dir,
      watch: false,
    });
    servers.push({ mode, server });
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.server.close()));
  servers = [];
});

/** Valid MachineInfo, the same damaged, or noise. */
const machineInfoBytes = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.constantFrom("blocked", "compliant").chain((which) => {
    const der = () => (which === "blocked" ? blockedDer : compliantDer);
    return fc.oneof(
      fc.constant(null).map(() => der()),
      fc.nat().map((n) => der().subarray(0, n % der().length)),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const copy = Uint8Array.from(der());
        copy[at % copy.length] = byte;
        return copy;
      }),
    );
  }),
);

/** Text as it might arrive in a header or a query: base64 of the above, or any bytes at all. */
const textBytes = fc.oneof(
  machineInfoBytes.map((b) => Buffer.from(base64(b), "latin1")),
  fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  fc.string({ unit: "binary", maxLength: 500 }).map((s) => Buffer.from(s, "utf8")),
);

/** CR and LF end a header line: replaced, so each case stays one request with one answer. */
const oneLine = (b: Buffer) => Buffer.from(b.map((x) => (x === 0x0d || x === 0x0a ? 0x20 : x)));

const percentEncoded = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, "0")}`).join("");

type Transport =
  "header" | "body" | "body under another type" | "query" | "raw query" | "urlencoded form field" | "multipart part";
const FORM_BOUNDARY = "propertyBoundary";
const request = (transport: Transport, payload: Buffer): Buffer => {
  const head = (line: string, extra = "") =>
    Buffer.from(`${line}\r\nHost: gate\r\nConnection: close\r\n${extra}`, "latin1");
  switch (transport) {
    case "header":
      return Buffer.concat([
        head("GET /mdm/enroll HTTP/1.1"),
        Buffer.from("X-Apple-Aspen-DeviceInfo: "),
        oneLine(payload),
        Buffer.from("\r\n\r\n"),
      ]);
    case "body":
      return Buffer.concat([
        head(
          "POST /mdm/profile HTTP/1.1",
          `Content-Type: application/pkcs7-signature\r\nContent-Length: ${payload.length}\r\n\r\n`,
        ),
        payload,
      ]);
    case "body under another type":
      // MachineInfo is found by its first bytes, whatever the Content-Type says.
      return Buffer.concat([
        head("POST /mdm/checkin HTTP/1.1", `Content-Type: text/plain\r\nContent-Length: ${payload.length}\r\n\r\n`),
        payload,
      ]);
    case "query":
      return Buffer.concat([head(`GET /mdm/web?deviceinfo=${percentEncoded(payload)} HTTP/1.1`), Buffer.from("\r\n")]);
    case "raw query":
      return Buffer.concat([
        Buffer.from("GET /mdm/web?deviceinfo="),
        oneLine(payload),
        head(" HTTP/1.1"),
        Buffer.from("\r\n"),
      ]);
    case "urlencoded form field": {
      const body = Buffer.concat([Buffer.from("user=a&deviceinfo="), payload]);
      return Buffer.concat([
        head(
          "POST /mdm/web HTTP/1.1",
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]);
    }
    case "multipart part": {
      const body = Buffer.concat([
        Buffer.from(`--${FORM_BOUNDARY}\r\nContent-Disposition: form-data; name="deviceinfo"\r\n\r\n`),
        payload,
        Buffer.from(`\r\n--${FORM_BOUNDARY}--\r\n`),
      ]);
      return Buffer.concat([
        head(
          "POST /mdm/web HTTP/1.1",
          `Content-Type: multipart/form-data; boundary=${FORM_BOUNDARY}\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]);
    }
  }
};

const payloadFor = (transport: Transport) =>
  transport === "body" || transport === "body under another type"
    ? fc.oneof(
        machineInfoBytes.map((b) => Buffer.from(b)),
        fc.integer({ min: BODY_LIMIT + 1, max: 4 * BODY_LIMIT }).map((n) => Buffer.alloc(n, 0x30)),
      )
    : transport === "multipart part"
      ? fc.oneof(
          machineInfoBytes.map((b) => Buffer.from(b)),
          textBytes,
        )
      : textBytes;

describe.each([
  "header",
  "body",
  "body under another type",
  "query",
  "raw query",
  "urlencoded form field",
  "multipart part",
] as const)("any bytes in the %s", (transport) => {
  it("get 400, 403, 413 or the next handler, never a 5xx", async () => {
    const seen = new Map<number | null, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1), payloadFor(transport), async (which, payload) => {
        const { server } = servers[which] as { server: RunningServer };
        const res = await rawRequest(server.url, request(transport, payload));
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, res.text.slice(0, 300)).not.toBeNull();
        expect(ALLOWED.has(res.status ?? 0), res.text.slice(0, 300)).toBe(true);
        expect(res.text).not.toMatch(/^HTTP\/1\.1 5\d\d/m);
      }),
      { numRuns: 150 },
    );
    // Both servers are still up and ready.
    for (const { server } of servers) expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    // The cases reached the gate's own answers, not only the HTTP parser's.
    expect(seen.get(400) ?? 0).toBeGreaterThan(0);
    if (transport !== "raw query")
      expect([...seen.keys()].filter((s) => s === 200 || s === 403).length).toBeGreaterThan(0);
  }, 120_000);
});
