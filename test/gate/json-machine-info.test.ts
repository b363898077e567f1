// MachineInfo in a JSON body's member, attacked over raw sockets against the
// real `serve --upstream` process and a raw TCP upstream that keeps every
// byte. Rails' params and Laravel's input() merge a JSON body's top-level
// members with the query, so a `deviceinfo` member is a copy like a form
// field: decided on alone, refused beside another, and any other JSON body
// passes on byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { eventually } from "../helpers/http.js";
import { exchange, type RawAnswer } from "../helpers/raw-http.js";
import { startRawUpstream, type RawUpstream } from "../helpers/raw-upstream.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';
const BODY_LIMIT = 16_384;

let upstream: RawUpstream;
let gate: GateProcess;
let blocked: string;
let compliant: string;

beforeAll(async () => {
  const ca = await createCA();
  const device = await createIdentity(ca, { kind: "ecdsa" });
  blocked = base64(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device));
  compliant = base64(await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device));
  upstream = await startRawUpstream();
  gate = await spawnGate(
    { "p/rules.yaml": RULES, "p/enrollgate.yaml": `verify: enforce\nbodyLimit: ${BODY_LIMIT}\n`, "ca.pem": ca.pem },
    ["--trust-anchor", "ca.pem", "--upstream", upstream.url],
  );
});

afterAll(async () => {
  await gate.stop();
  await upstream.close();
});

const JSON_TYPE = "Content-Type: application/json";

function request(line: string, headers: string[], body: Buffer, chunks?: number): Buffer {
  const framing = chunks === undefined ? [`Content-Length: ${body.length}`] : ["Transfer-Encoding: chunked"];
  const head = Buffer.from(
    `${line} HTTP/1.1\r\nHost: gate\r\n${[...headers, ...framing, "Connection: close"].join("\r\n")}\r\n\r\n`,
    "latin1",
  );
  if (chunks === undefined) return Buffer.concat([head, body]);
  const parts: Buffer[] = [head];
  for (let at = 0; at < body.length; at += chunks) {
    const piece = body.subarray(at, at + chunks);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

async function send(bytes: Buffer): Promise<{ answer: RawAnswer; reached: number }> {
  const before = upstream.requests.length;
  const answers = await exchange(gate.url, bytes);
  expect(answers).toHaveLength(1);
  return { answer: answers[0] as RawAnswer, reached: upstream.requests.length - before };
}

describe("a deviceinfo member of a JSON body", () => {
  it.each([
    [
      "a POST under application/json",
      () => request("POST /mdm/web", [JSON_TYPE], Buffer.from(JSON.stringify({ user: "a", deviceinfo: blocked }))),
    ],
    [
      "a PUT under a +json type, a byte per chunk",
      () =>
        request(
          "PUT /mdm/web",
          ["Content-Type: application/vnd.api+json"],
          Buffer.from(JSON.stringify({ deviceinfo: blocked })),
          1,
        ),
    ],
    [
      "a member named with an escape (\\u0064eviceinfo)",
      () => request("POST /mdm/web", [JSON_TYPE], Buffer.from(`{"\\u0064eviceinfo": "${blocked}"}`)),
    ],
  ])("%s gets Apple's 403, and never reaches the upstream", async (_what, make) => {
    const { answer, reached } = await send(make());
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "com.apple.softwareupdate.required" });
    expect(reached).toBe(0);
    const id = answer.headers["x-enrollgate-decision-id"];
    await eventually(
      () => gate.running.lines.some((l) => l.event === "decision" && l.decisionId === id),
      "the decision line",
    );
    expect(gate.running.lines.find((l) => l.event === "decision" && l.decisionId === id)).toMatchObject({
      decision: "block",
      source: "json",
    });
  });

  it.each([
    [
      "a member and the header",
      () =>
        request(
          "POST /mdm/web",
          [JSON_TYPE, `X-Apple-Aspen-DeviceInfo: ${compliant}`],
          Buffer.from(JSON.stringify({ deviceinfo: blocked })),
        ),
      "the header, the JSON body",
    ],
    [
      "a member and the query",
      () =>
        request(
          `POST /mdm/web?deviceinfo=${encodeURIComponent(compliant)}`,
          [JSON_TYPE],
          Buffer.from(JSON.stringify({ deviceinfo: blocked })),
        ),
      "the query, the JSON body",
    ],
    [
      "a member given twice (JSON.parse keeps the last, others the first)",
      () =>
        request("POST /mdm/web", [JSON_TYPE], Buffer.from(`{"deviceinfo":"${compliant}","deviceinfo":"${blocked}"}`)),
      "2 in the JSON body",
    ],
  ])("%s is a 400 that never reaches the upstream", async (_what, make, where) => {
    const { answer, reached } = await send(make());
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({
      error: "ambiguous-machine-info",
      message: `the request carries MachineInfo 2 times (${where}); send exactly one`,
    });
    expect(reached).toBe(0);
  });

  it("a compliant device's member passes, and the upstream receives the body byte for byte", async () => {
    const body = Buffer.from(`{ "deviceinfo": "${compliant}", "note": "x" }\n`);
    const { answer, reached } = await send(request("POST /mdm/web", [JSON_TYPE], body));
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    expect(upstream.requests.at(-1)?.body.equals(body)).toBe(true);
    expect(upstream.requests.at(-1)?.header("x-enrollgate-reason")).toEqual(["compliant"]);
  });

  it("a JSON body without one reaches the upstream byte for byte, nested deviceinfo keys included", async () => {
    const body = Buffer.from(JSON.stringify({ devices: [{ deviceinfo: "not read" }], note: "deviceinfo" }));
    const { answer, reached } = await send(request("PUT /api/v1/devices", [JSON_TYPE], body, 9));
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    expect(upstream.requests.at(-1)?.body.equals(body)).toBe(true);
  });

  it("a JSON body over the limit is a 413, and one in UTF-16 a 400, neither reaching the upstream", async () => {
    const large = await send(
      request(
        "POST /mdm/web",
        [JSON_TYPE],
        Buffer.from(JSON.stringify({ pad: "x".repeat(BODY_LIMIT), deviceinfo: blocked })),
      ),
    );
    expect(large.answer.status).toBe(413);
    expect(JSON.parse(large.answer.body)).toEqual({
      error: "body-too-large",
      message: `the JSON body is larger than the ${BODY_LIMIT}-byte limit (the gate reads a JSON body to find deviceinfo members)`,
    });
    const wide = await send(
      request("POST /mdm/web", [JSON_TYPE], Buffer.from(JSON.stringify({ deviceinfo: blocked }), "utf16le")),
    );
    expect(wide.answer.status).toBe(400);
    expect(JSON.parse(wide.answer.body)).toMatchObject({ error: "bad-content-type" });
    expect(large.reached + wide.reached).toBe(0);
  });
});
