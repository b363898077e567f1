// Upstream paths: the gate reads the request target once, origin-form only,
// normalised per RFC 3986, and joins it to the upstream's base path; what
// could leave the base once an upstream decodes it is refused. The real
// `serve --upstream http://…/base` process over raw sockets, with a raw
// upstream that shows the exact request line.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { eventually } from "../helpers/http.js";
import { exchange } from "../helpers/raw-http.js";
import { startRawUpstream, type RawUpstream } from "../helpers/raw-upstream.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';

let upstream: RawUpstream;
let gate: GateProcess;

beforeAll(async () => {
  upstream = await startRawUpstream();
  gate = await spawnGate({ "p/rules.yaml": RULES, "p/enrollgate.yaml": "verify: off\n" }, [
    "--upstream",
    `${upstream.url}/base/`,
  ]);
});

afterAll(async () => {
  await gate.stop();
  await upstream.close();
});

async function send(line: string) {
  const before = upstream.requests.length;
  const answers = await exchange(gate.url, `${line} HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n`);
  expect(answers).toHaveLength(1);
  const answer = answers[0] as (typeof answers)[number];
  return {
    status: answer.status,
    json: () => JSON.parse(answer.body) as Record<string, unknown>,
    upstream: upstream.requests.slice(before).map((r) => r.target),
  };
}

describe("paths the upstream receives", () => {
  it.each([
    ["/mdm/enroll", "/base/mdm/enroll"],
    ["/mdm/./enroll/../profile", "/base/mdm/profile"],
    ["/mdm/%2e/x/%2E%2E/profile", "/base/mdm/profile"],
    ["/%7Euser/%61%62c/%c3%a9", "/base/~user/abc/%C3%A9"],
    ["/mdm/enroll/.", "/base/mdm/enroll/"],
    ["/mdm//enroll", "/base/mdm//enroll"],
    ["/mdm/checkin?a=%2F..%2F&b=%zz", "/base/mdm/checkin?a=%2F..%2F&b=%zz"],
    ["/", "/base/"],
  ])("%s goes to %s", async (target, expected) => {
    const r = await send(`GET ${target}`);
    expect(r.status).toBe(200);
    expect(r.upstream).toEqual([expected]);
  });
});

describe("targets refused before any routing", () => {
  it.each([
    ["absolute-form", "GET http://mdm.internal/admin", "bad-request-target", /absolute-form/],
    [
      "absolute-form aimed at the gate's own /healthz",
      "GET http://gate/healthz",
      "bad-request-target",
      /absolute-form/,
    ],
    ["asterisk-form", "OPTIONS *", "bad-request-target", /asterisk-form/],
    ["a raw backslash", "GET /mdm\\..\\admin", "bad-request-target", /character a path may not have: "\\\\"/],
    ["a bad percent-encoding", "GET /mdm/%zz", "bad-request-target", /bad percent-encoding/],
    ["a fragment", "GET /mdm/enroll#x", "bad-request-target", /character a path may not have: "#"/],
    ["dot segments above the root", "GET /../admin", "bad-path", /climbs above its root/],
    ["encoded dot segments above the root", "GET /mdm/%2e%2e/%2E%2E/admin", "bad-path", /climbs above its root/],
    ["mixed dot segments above the root", "GET /mdm/.%2e/%2E./admin", "bad-path", /climbs above its root/],
    ["an encoded slash", "GET /mdm%2F..%2F..%2Fadmin", "bad-path", /encoded slash/],
    ["an encoded backslash", "GET /mdm%5c..%5cadmin", "bad-path", /encoded backslash/],
    ["a double-encoded dot", "GET /mdm/%252e%252e/admin", "bad-path", /double-encoded/],
    ["a double-encoded slash spelled with escaped hex digits", "GET /mdm/%25%32%66admin", "bad-path", /double-encoded/],
    ["a ..; segment (servlet containers read it as ..)", "GET /mdm/..;/admin", "bad-path", /"\.\.;" segment/],
    ["an encoded NUL", "GET /mdm/enroll%00.html", "bad-path", /control character/],
  ])("%s: 400, and nothing reaches the upstream", async (_what, line, code, message) => {
    const r = await send(line);
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({ error: code, message: expect.stringMatching(message) });
    expect(r.upstream).toEqual([]);
  });

  it("the refusal is logged with the target and counted", async () => {
    // Earlier tests sent the same target: wait for this request's own line, which the gate writes at the end of the
    // event loop's turn (it can arrive just after the answer).
    const refused = (l: Record<string, unknown>) => l.event === "rejected" && l.target === "http://mdm.internal/admin";
    const before = gate.running.lines.filter(refused).length;
    await send("GET http://mdm.internal/admin");
    await eventually(() => gate.running.lines.filter(refused).length > before, "the rejected line");
    const line = gate.running.lines.filter(refused).at(-1);
    expect(line).toMatchObject({
      status: 400,
      code: "bad-request-target",
      target: "http://mdm.internal/admin",
      client: "127.0.0.1",
      peer: "127.0.0.1",
    });
    const metrics = await (await fetch(`${gate.url}/metrics`)).text();
    expect(metrics).toMatch(/^enrollgate_rejections_total\{status="400",code="bad-request-target"\} [1-9]\d*$/m);
  });
});

describe("the gate's own endpoints", () => {
  it.each(["/mdm/../healthz", "/%68ealthz", "/./healthz"])(
    "are routed on the normalised path: %s is /healthz",
    async (target) => {
      const r = await send(`GET ${target}`);
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ status: "ok" });
      expect(r.upstream).toEqual([]);
    },
  );
});
