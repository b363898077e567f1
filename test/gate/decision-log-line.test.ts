// The decision log line a logger from createLogger() gets is built by the gate
// as one string (cheaper than pino's walk over the merged object); it must be
// byte for byte the line pino itself writes for the same fields. Two gates on
// the same policies answer the same requests, one logging through
// createLogger(), one through a pino logger of the same configuration that
// createLogger() did not make (so pino writes its line), and their lines are
// compared raw, with the per-request values (time, decision id, ms) aligned.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { pino, stdTimeFunctions } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollmentGate, type EnrollmentGate } from "enrollgate";
import { createLogger } from "enrollgate/gate";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "26.6.1"\n';

/** Raw lines written to a stream. */
function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(line);
      done();
    },
  });
  return { stream, lines };
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function serve(gate: EnrollmentGate): Promise<string> {
  const server = createServer((req, res) =>
    gate(req, res, () => {
      res.statusCode = 200;
      res.end("passed");
    }),
  );
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The fields that differ from request to request, made equal so that two lines can be compared as text. */
const aligned = (line: string) =>
  line
    .replace(/"time":"[^"]*"/, '"time":"T"')
    .replace(/"decisionId":"[^"]*"/, '"decisionId":"D"')
    .replace(/"ms":[0-9.e+-]+/, '"ms":0');

let ca: Identity;
let device: Identity;
let fast: { url: string; lines: string[] };
let pinoOwn: { url: string; lines: string[] };

beforeAll(async () => {
  ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  const dir = await tempDir({ "policies/rules.yaml": RULES });
  const start = async (logger: ReturnType<typeof createLogger>, lines: string[]) => {
    // audit without the device's CA: every line carries the verification failure fields too.
    const gate = enrollmentGate({ policies: "policies", cwd: dir, verify: "audit", trustAnchors: [], logger, env: {} });
    expect((await gate.ready).ok).toBe(true);
    return { url: await serve(gate), lines };
  };
  const a = sink();
  fast = await start(createLogger({ destination: a.stream }), a.lines);
  const b = sink();
  const config = {
    name: "enrollgate",
    level: "info",
    base: { service: "enrollgate" },
    timestamp: stdTimeFunctions.isoTime,
  };
  pinoOwn = await start(pino(config, b.stream), b.lines);
});

/** The decision line each gate wrote for the same request. */
async function bothLines(path: string, init: () => Promise<RequestInit>): Promise<[string, string]> {
  const lines: string[] = [];
  for (const gate of [fast, pinoOwn]) {
    const before = gate.lines.length;
    const res = await fetch(`${gate.url}${path}`, await init());
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 20));
    const line = gate.lines.slice(before).find((l) => l.includes('"event":"decision"'));
    expect(line, "a decision line").toBeDefined();
    lines.push(line ?? "");
  }
  return [lines[0] ?? "", lines[1] ?? ""];
}

describe("the decision log line", () => {
  const hostile: Array<[string, Record<string, string>]> = [
    ["a blocked device", { OS_VERSION: "26.5" }],
    ["an allowed device", { OS_VERSION: "26.6.1" }],
    ["quotes and backslashes in the serial", { OS_VERSION: "26.5", SERIAL: 'G7"QK\\21P0\\"XY' }],
    ["non-ASCII and line separators in the serial", { OS_VERSION: "26.5", SERIAL: "Gé7Q\u2028K21\u{1F600}" }],
    ["a serial over 100 characters, with a quote", { OS_VERSION: "26.5", SERIAL: `${"A".repeat(120)}"B` }],
  ];

  it.each(hostile)("is the line pino writes, byte for byte: %s", async (_what, fields) => {
    const der = await signCms(machineInfoPlist(fields), device);
    const [ours, theirs] = await bothLines('/mdm/enroll?a="b\\c', async () => ({
      headers: { "x-apple-aspen-deviceinfo": base64(der) },
    }));
    expect(aligned(ours)).toBe(aligned(theirs));
    expect(JSON.parse(ours)).toMatchObject({
      event: "decision",
      verification: "unverified",
      service: "enrollgate",
    });
    // The device's own serial is in the line, escaped (the plist's values reach the log as the device sent them).
    if (fields.SERIAL?.includes('"') === true) expect(JSON.parse(ours)).toMatchObject({ serial: fields.SERIAL });
  });

  it("is the line pino writes for a request without MachineInfo (null fields)", async () => {
    const [ours, theirs] = await bothLines("/mdm/enroll", async () => ({}));
    expect(aligned(ours)).toBe(aligned(theirs));
    expect(JSON.parse(ours)).toMatchObject({ reason: "no-machine-info", serial: null, udid: null });
  });

  it("is left out below the logger's level, as pino leaves it out", async () => {
    const quiet = sink();
    const gate = enrollmentGate({
      policies: "policies",
      cwd: await tempDir({ "policies/rules.yaml": RULES }),
      logger: createLogger({ destination: quiet.stream, level: "warn" }),
      env: {},
    });
    await gate.ready;
    const res = await fetch(`${await serve(gate)}/mdm/enroll`);
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    expect(quiet.lines.filter((l) => l.includes('"event":"decision"'))).toEqual([]);
  });
});
