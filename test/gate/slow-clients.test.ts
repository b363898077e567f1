// Slow clients: a MachineInfo body must arrive whole within bodyTimeout or it
// gets 408 and loses its connection; headers have their own timeout; and the
// gate holds a bounded number of connections. The real `serve` process, fed
// a byte at a time over raw sockets.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "enrollgate";
import { createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { captureLog, eventually } from "../helpers/http.js";
import { exchange, parseResponses, trickle } from "../helpers/raw-http.js";
import { startRawUpstream, type RawUpstream } from "../helpers/raw-upstream.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';
const FILES = { "p/rules.yaml": RULES, "p/enrollgate.yaml": "verify: off\n" };

let upstream: RawUpstream;
let gate: GateProcess;
let machineInfo: Uint8Array;

beforeAll(async () => {
  const device = await createIdentity(await createCA(), { kind: "ecdsa" });
  machineInfo = await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device);
  upstream = await startRawUpstream();
  gate = await spawnGate(FILES, ["--upstream", upstream.url, "--body-timeout", "1000"]);
});

afterAll(async () => {
  await gate.stop();
  await upstream.close();
});

const bytes = (b: Uint8Array) => [...b].map((x) => Uint8Array.of(x));

describe("bodyTimeout", () => {
  it("a MachineInfo body sent one byte per second gets 408, and the connection is closed", async () => {
    const before = upstream.requests.length;
    const head = `POST /mdm/profile HTTP/1.1\r\nHost: gate\r\nContent-Type: application/pkcs7-signature\r\nContent-Length: ${machineInfo.length}\r\n\r\n`;
    // trickle() returns when the gate closes the connection; were it kept open, this would run for half an hour.
    const { text, sent } = await trickle(gate.url, head, bytes(machineInfo), 1000);
    expect(parseResponses(text).map((a) => [a.status, JSON.parse(a.body).error, a.headers.connection])).toEqual([
      [408, "body-timeout", "close"],
    ]);
    expect(sent).toBeLessThan(machineInfo.length);
    expect(upstream.requests.length).toBe(before);
    // The log line reaches this process's pipe on its own schedule, after the answer.
    await eventually(
      () => gate.running.lines.some((l) => l.event === "rejected" && l.code === "body-timeout"),
      "the rejection's log line",
    );
    expect(gate.running.lines.filter((l) => l.event === "rejected").at(-1)).toMatchObject({
      status: 408,
      code: "body-timeout",
    });
  });

  it("a body under another Content-Type that starts like CMS and then stalls gets 408", async () => {
    const before = upstream.requests.length;
    const head = `POST /mdm/checkin HTTP/1.1\r\nHost: gate\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunks = [...machineInfo.subarray(0, 12)].map((b) => `1\r\n${String.fromCharCode(b)}\r\n`);
    const { text } = await trickle(gate.url, head, chunks, 1000);
    expect(parseResponses(text).map((a) => a.status)).toEqual([408]);
    expect(upstream.requests.length).toBe(before);
  });

  it("a slow body that is not MachineInfo is not held to it: it streams to the upstream", async () => {
    const before = upstream.requests.length;
    // The first byte comes with the head (it shows the body is not CMS); the rest takes longer than bodyTimeout.
    const head = `PUT /mdm/checkin HTTP/1.1\r\nHost: gate\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\ns`;
    const { text } = await trickle(gate.url, head, ["l", "o", "w"], 500);
    expect(parseResponses(text).map((a) => a.status)).toEqual([200]);
    expect(upstream.requests.slice(before).map((r) => r.body.toString())).toEqual(["slow"]);
  });
});

describe("connections", () => {
  const open = (url: string): Promise<Socket> => {
    const { hostname, port } = new URL(url);
    return new Promise((ok, no) => {
      const s = connect({ host: hostname, port: Number(port) }, () => ok(s));
      s.on("error", no);
    });
  };

  it("--max-connections: one more is closed on arrival, counted, and logged; a freed slot is taken again", async () => {
    const capped = await spawnGate(FILES, ["--max-connections", "2"]);
    try {
      // Two clients that never finish their headers hold both slots.
      const held = [await open(capped.url), await open(capped.url)];
      for (const s of held) s.write("GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\n");
      const third = await open(capped.url);
      const received = await new Promise<string>((ok) => {
        let text = "";
        third.on("data", (d: Buffer) => (text += d.toString("latin1")));
        third.on("error", () => undefined);
        third.on("close", () => ok(text));
        third.write("GET /healthz HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n");
      });
      expect(received).toBe("");

      held[0]?.destroy();
      let answers: Awaited<ReturnType<typeof exchange>> = [];
      await eventually(async () => {
        answers = await exchange(capped.url, "GET /metrics HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n").catch(
          () => [],
        );
        return answers.length === 1;
      }, "a freed slot");
      expect(answers[0]?.status).toBe(200);
      expect(answers[0]?.body).toMatch(/^enrollgate_connections_dropped_total [1-9]\d*$/m);
      expect(capped.running.lines.find((l) => l.event === "connections-dropped")).toMatchObject({
        level: 40,
        maxConnections: 2,
      });
      held[1]?.destroy();
    } finally {
      await capped.stop();
    }
  });

  it("headers that do not arrive within the headers timeout get Node's 408", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const server = await startServer({
      policies: "p",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "off" },
      logger: captureLog().logger,
      env: {},
      cwd: dir,
      watch: false,
      headersTimeoutMs: 300,
    });
    try {
      const { text } = await trickle(
        server.url,
        "GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\n",
        ["X-Slow: 1\r\n", "X-Slow: 2\r\n", "X-Slow: 3\r\n", "X-Slow: 4\r\n", "X-Slow: 5\r\n", "X-Slow: 6\r\n"],
        400,
      );
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await server.close(100);
    }
  });
});
