// MachineInfo in a form field, attacked over raw sockets against the real
// `serve --upstream` process and a raw TCP upstream that keeps every byte.
// Go's r.FormValue, PHP's $_REQUEST, Rails' params and Express's urlencoded()
// read a `deviceinfo` form field as the parameter: the gate must decide on
// such a field, refuse it beside any other copy, refuse a multipart body it
// cannot read one way only, and pass every other form on byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { eventually } from "../helpers/http.js";
import { exchange, parseResponses, trickle, type RawAnswer } from "../helpers/raw-http.js";
import { startRawUpstream, type RawUpstream } from "../helpers/raw-upstream.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';
const BODY_LIMIT = 16_384;
const B = "----enrollgateFormBoundary7MA4YWxk";

let upstream: RawUpstream;
let gate: GateProcess;
let blocked: Buffer;
let compliant: Buffer;

beforeAll(async () => {
  const ca = await createCA();
  const device = await createIdentity(ca, { kind: "ecdsa" });
  blocked = Buffer.from(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device));
  compliant = Buffer.from(await signCms(machineInfoPlist({ OS_VERSION: "26.6.1" }), device));
  upstream = await startRawUpstream();
  gate = await spawnGate(
    { "p/rules.yaml": RULES, "p/enrollgate.yaml": `verify: enforce\nbodyLimit: ${BODY_LIMIT}\n`, "ca.pem": ca.pem },
    ["--trust-anchor", "ca.pem", "--upstream", upstream.url, "--body-timeout", "1000"],
  );
});

afterAll(async () => {
  await gate.stop();
  await upstream.close();
});

const b64 = (der: Buffer) => base64(der);
const urlencoded = (der: Buffer) => encodeURIComponent(base64(der));

/** A multipart/form-data body from [Content-Disposition parameters (and more header lines), value] pairs. */
function multipart(parts: ReadonlyArray<readonly [string | string[], string | Buffer]>, boundary = B): Buffer {
  const pieces: Buffer[] = [];
  for (const [params, value] of parts) {
    const [first, ...more] = Array.isArray(params) ? params : [params];
    const head = [`Content-Disposition: form-data; ${first ?? ""}`, ...more].join("\r\n");
    pieces.push(
      Buffer.from(`--${boundary}\r\n${head}\r\n\r\n`, "latin1"),
      Buffer.isBuffer(value) ? value : Buffer.from(value, "latin1"),
      Buffer.from("\r\n"),
    );
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

const FORM = "Content-Type: application/x-www-form-urlencoded";
const MULTIPART = `Content-Type: multipart/form-data; boundary=${B}`;

/** A request with `body` framed by its length, or chunked in pieces of `chunks` bytes. */
function request(line: string, headers: string[], body?: Buffer, chunks?: number): Buffer {
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

/** The decision log line of the request the gate answered (403) or passed upstream, once it is written. */
async function decisionOf(answer: RawAnswer): Promise<Record<string, unknown> | undefined> {
  const id =
    answer.headers["x-enrollgate-decision-id"] ?? upstream.requests.at(-1)?.header("x-enrollgate-decision-id")[0];
  const find = () => gate.running.lines.find((l) => l.event === "decision" && l.decisionId === id);
  await eventually(() => id !== undefined && find() !== undefined, `the decision line of ${id}`);
  return find();
}

describe("a deviceinfo form field is decided on, and a blocked device never reaches the upstream", () => {
  it.each([
    [
      "an urlencoded POST field",
      () => request("POST /mdm/web", [FORM], Buffer.from(`user=a&deviceinfo=${urlencoded(blocked)}`)),
    ],
    [
      "an urlencoded field named device%69nfo",
      () => request("POST /mdm/web", [FORM], Buffer.from(`device%69nfo=${urlencoded(blocked)}`)),
    ],
    [
      "an urlencoded field named [deviceinfo]",
      () => request("POST /mdm/web", [FORM], Buffer.from(`%5Bdeviceinfo%5D=${urlencoded(blocked)}`)),
    ],
    [
      "an urlencoded field sent a byte per chunk",
      () => request("POST /mdm/web", [FORM], Buffer.from(`a=1&deviceinfo=${urlencoded(blocked)}`), 1),
    ],
    [
      "an urlencoded PUT (Go's FormValue reads PUT and PATCH forms)",
      () => request("PUT /mdm/web", [FORM], Buffer.from(`deviceinfo=${urlencoded(blocked)}`)),
    ],
    ["an urlencoded GET body", () => request("GET /mdm/web", [FORM], Buffer.from(`deviceinfo=${urlencoded(blocked)}`))],
    [
      "a POST with no Content-Type (Rack reads it as a form)",
      () => request("POST /mdm/web", [], Buffer.from(`deviceinfo=${urlencoded(blocked)}`)),
    ],
    [
      "an urlencoded Content-Type in capitals with a charset",
      () =>
        request(
          "POST /mdm/web",
          ["Content-Type: Application/X-WWW-Form-Urlencoded; charset=UTF-8"],
          Buffer.from(`deviceinfo=${urlencoded(blocked)}`),
        ),
    ],
    [
      "a multipart part named deviceinfo, base64",
      () =>
        request(
          "POST /mdm/web",
          [MULTIPART],
          multipart([
            ['name="user"', "a"],
            ['name="deviceinfo"', b64(blocked)],
          ]),
        ),
    ],
    [
      "a multipart part named DeviceInfo",
      () => request("POST /mdm/web", [MULTIPART], multipart([['name="DeviceInfo"', b64(blocked)]])),
    ],
    [
      "a multipart part named name*=UTF-8''deviceinfo",
      () => request("POST /mdm/web", [MULTIPART], multipart([["name*=UTF-8''deviceinfo", b64(blocked)]])),
    ],
    [
      "a multipart file part holding the raw DER",
      () =>
        request(
          "POST /mdm/web",
          [MULTIPART],
          multipart([[['name="deviceinfo"; filename="mi.der"', "Content-Type: application/pkcs7-signature"], blocked]]),
        ),
    ],
    [
      "a multipart part PHP splits a name out of",
      () => request("POST /mdm/web", [MULTIPART], multipart([['name="a;name=deviceinfo;"', b64(blocked)]])),
    ],
    [
      "a multipart part whose filename Rack 2 reads a name from",
      () =>
        request("POST /mdm/web", [MULTIPART], multipart([['name="a"; filename="x name=deviceinfo"', b64(blocked)]])),
    ],
    [
      "a multipart/mixed body (Rack parses it as a form)",
      () =>
        request(
          "POST /mdm/web",
          [`Content-Type: multipart/mixed; boundary=${B}`],
          multipart([['name="deviceinfo"', b64(blocked)]]),
        ),
    ],
    [
      "a chunked multipart body, split where the boundary is",
      () => request("PATCH /mdm/web", [MULTIPART], multipart([['name="deviceinfo"', b64(blocked)]]), 7),
    ],
  ])("%s gets Apple's 403", async (_what, make) => {
    const { answer, reached } = await send(make());
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({
      code: "com.apple.softwareupdate.required",
      details: { OSVersion: "26.6.1" },
    });
    expect(reached).toBe(0);
    expect(await decisionOf(answer)).toMatchObject({ decision: "block", reason: "below-minimum", source: "form" });
  });

  it("a compliant device's field passes, and the upstream receives the form byte for byte", async () => {
    const body = multipart([
      ['name="user"', "a"],
      [['name="deviceinfo"; filename="mi.der"', "Content-Type: application/octet-stream"], compliant],
    ]);
    const { answer, reached } = await send(request("POST /mdm/web", [MULTIPART], body));
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    const seen = upstream.requests.at(-1);
    expect(seen?.header("content-length")).toEqual([String(body.length)]);
    expect(seen?.header("x-enrollgate-reason")).toEqual(["compliant"]);
    expect(seen?.body.equals(body)).toBe(true);
    expect(await decisionOf(answer)).toMatchObject({ reason: "compliant", source: "form" });
  });

  it("a CMS body under a form Content-Type is MachineInfo itself, decided on (it is no form to refuse)", async () => {
    for (const type of [FORM, MULTIPART]) {
      const { answer, reached } = await send(request("POST /mdm/profile", [type], blocked));
      expect(answer.status).toBe(403);
      expect(reached).toBe(0);
      expect(await decisionOf(answer)).toMatchObject({ decision: "block", source: "body" });
    }
  });

  it("a field that is neither base64 nor CMS is a 400, as in the query", async () => {
    const { answer, reached } = await send(request("POST /mdm/web", [FORM], Buffer.from("deviceinfo=%25%25%25")));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({
      error: "bad-base64",
      message: "the deviceinfo form field is not base64",
    });
    expect(reached).toBe(0);
  });
});

describe("a form field beside any other copy is a 400 that never reaches the upstream", () => {
  it.each([
    [
      "a field and the header",
      () =>
        request(
          "POST /mdm/web",
          [FORM, `X-Apple-Aspen-DeviceInfo: ${b64(compliant)}`],
          Buffer.from(`deviceinfo=${urlencoded(blocked)}`),
        ),
      "the header, the form",
    ],
    [
      "a field and the query",
      () =>
        request(
          `POST /mdm/web?deviceinfo=${urlencoded(compliant)}`,
          [FORM],
          Buffer.from(`deviceinfo=${urlencoded(blocked)}`),
        ),
      "the query, the form",
    ],
    [
      "two fields",
      () =>
        request(
          "POST /mdm/web",
          [FORM],
          Buffer.from(`deviceinfo=${urlencoded(compliant)}&deviceinfo=${urlencoded(blocked)}`),
        ),
      "2 in the form",
    ],
    [
      "a field and device%69nfo",
      () =>
        request(
          "POST /mdm/web",
          [FORM],
          Buffer.from(`deviceinfo=${urlencoded(compliant)}&device%69nfo=${urlencoded(blocked)}`),
        ),
      "2 in the form",
    ],
    [
      "a field and one named [deviceinfo], split by ;",
      () =>
        request(
          "POST /mdm/web",
          [FORM],
          Buffer.from(`deviceinfo=${urlencoded(compliant)};[deviceinfo]=${urlencoded(blocked)}`),
        ),
      "2 in the form",
    ],
    [
      "two parts, DeviceInfo and deviceinfo",
      () =>
        request(
          "POST /mdm/web",
          [MULTIPART],
          multipart([
            ['name="deviceinfo"', b64(compliant)],
            ['name="DeviceInfo"', b64(blocked)],
          ]),
        ),
      "2 in the form",
    ],
    [
      "a part and the header",
      () =>
        request(
          "POST /mdm/web",
          [MULTIPART, `x_apple_aspen_deviceinfo: ${b64(compliant)}`],
          multipart([["name*=UTF-8''deviceinfo", blocked]]),
        ),
      "the header, the form",
    ],
    [
      "a part and the query",
      () =>
        request(
          `PUT /mdm/web?[deviceinfo]=${urlencoded(compliant)}`,
          [MULTIPART],
          multipart([['name="deviceinfo"', b64(blocked)]]),
        ),
      "the query, the form",
    ],
    [
      "an empty field and another",
      () => request("POST /mdm/web", [FORM], Buffer.from(`deviceinfo=&deviceinfo=${urlencoded(blocked)}`)),
      "2 in the form",
    ],
  ])("%s", async (_what, make, where) => {
    const { answer, reached } = await send(make());
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({
      error: "ambiguous-machine-info",
      message: `the request carries MachineInfo 2 times (${where}); send exactly one`,
    });
    expect(reached).toBe(0);
  });
});

describe("a form without a deviceinfo field", () => {
  it("reaches the upstream byte for byte, urlencoded with its length", async () => {
    const body = Buffer.from("username=alice&password=s%3Dcr%26t&device_info=x&deviceinfos=y");
    const { answer, reached } = await send(request("POST /mdm/web", [FORM], body));
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    const seen = upstream.requests.at(-1);
    expect(seen?.header("content-length")).toEqual([String(body.length)]);
    expect(seen?.header("x-enrollgate-reason")).toEqual(["no-machine-info"]);
    expect(seen?.body.equals(body)).toBe(true);
  });

  it("reaches the upstream byte for byte, multipart sent chunked, with binary parts", async () => {
    const body = multipart([
      ['name="note"', "hello"],
      [
        ['name="upload"; filename="a.bin"', "Content-Type: application/octet-stream"],
        Buffer.from([0, 13, 10, 45, 45, 255, 0x30, 0x82]),
      ],
    ]);
    const { answer, reached } = await send(request("POST /mdm/web", [MULTIPART], body, 5));
    expect(answer.status).toBe(200);
    expect(reached).toBe(1);
    const seen = upstream.requests.at(-1);
    expect(seen?.header("transfer-encoding")).toEqual(["chunked"]);
    expect(seen?.body.equals(body)).toBe(true);
  });

  it("beside the header, the header decides, and an allowed form reaches the upstream intact", async () => {
    const body = Buffer.from("username=alice");
    const refused = await send(request("POST /mdm/web", [FORM, `X-Apple-Aspen-DeviceInfo: ${b64(blocked)}`], body));
    expect(refused.answer.status).toBe(403);
    expect(refused.reached).toBe(0);
    const passed = await send(request("POST /mdm/web", [FORM, `X-Apple-Aspen-DeviceInfo: ${b64(compliant)}`], body));
    expect(passed.answer.status).toBe(200);
    expect(upstream.requests.at(-1)?.body.equals(body)).toBe(true);
    expect(await decisionOf(passed.answer)).toMatchObject({ reason: "compliant", source: "header" });
  });
});

describe("limits", () => {
  it("a form body over the limit is a 413, declared or streamed, and never reaches the upstream", async () => {
    const body = Buffer.from(`a=${"x".repeat(BODY_LIMIT)}&deviceinfo=${urlencoded(blocked)}`);
    for (const chunks of [undefined, 4096]) {
      const { answer, reached } = await send(request("POST /mdm/web", [FORM], body, chunks));
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toEqual({
        error: "body-too-large",
        message: `the form body is larger than the ${BODY_LIMIT}-byte limit (the gate reads a form to find deviceinfo fields)`,
      });
      expect(reached).toBe(0);
    }
  });

  it("a form body sent too slowly gets 408, and the connection is closed", async () => {
    const before = upstream.requests.length;
    const body = `deviceinfo=${urlencoded(blocked)}`;
    const head = `POST /mdm/web HTTP/1.1\r\nHost: gate\r\n${FORM}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`;
    const { text, sent } = await trickle(gate.url, head, [...body.slice(20)], 400);
    expect(parseResponses(text).map((a) => [a.status, JSON.parse(a.body).error, a.headers.connection])).toEqual([
      [408, "body-timeout", "close"],
    ]);
    expect(sent).toBeLessThan(body.length - 20);
    expect(upstream.requests.length).toBe(before);
  });
});

describe("a form the gate cannot read one way only is a 400 that never reaches the upstream", () => {
  const part = (head: string, value = b64(blocked)) => `--${B}\r\n${head}\r\n\r\n${value}\r\n`;
  it.each([
    [
      "no boundary",
      ["Content-Type: multipart/form-data"],
      () => multipart([['name="deviceinfo"', b64(blocked)]]),
      /no boundary/,
    ],
    [
      "a boundary PHP and Go read differently",
      [`Content-Type: multipart/form-data; xboundary=${B}x; boundary=${B}`],
      () => multipart([['name="deviceinfo"', b64(blocked)]]),
      /differently/,
    ],
    [
      "a part without a name",
      [MULTIPART],
      () => Buffer.from(`${part("Content-Disposition: form-data; filename=deviceinfo")}--${B}--\r\n`),
      /no name/,
    ],
    [
      "a part without a Content-Disposition",
      [MULTIPART],
      () => Buffer.from(`${part("Content-ID: deviceinfo")}--${B}--\r\n`),
      /no Content-Disposition/,
    ],
    [
      "a name given twice",
      [MULTIPART],
      () => Buffer.from(`${part("Content-Disposition: form-data; name=a; name*=UTF-8''deviceinfo")}--${B}--\r\n`),
      /name is given more than once/,
    ],
    [
      "a boundary that never closes",
      [MULTIPART],
      () => Buffer.from(part('Content-Disposition: form-data; name="deviceinfo"')),
      /ends before its closing delimiter/,
    ],
    [
      "nested multipart/mixed",
      [MULTIPART],
      () =>
        Buffer.from(
          `${part(`Content-Disposition: form-data; name=files\r\nContent-Type: multipart/mixed; boundary=in`, `--in\r\nContent-Disposition: file; name=deviceinfo\r\n\r\n${b64(blocked)}\r\n--in--`)}--${B}--\r\n`,
        ),
      /itself multipart/,
    ],
    [
      "bare LF line ends",
      [MULTIPART],
      () => Buffer.from(`--${B}\nContent-Disposition: form-data; name=deviceinfo\n\n${b64(blocked)}\n--${B}--\n`),
      /CRLF/,
    ],
    [
      "the boundary inside a part",
      [MULTIPART],
      () =>
        Buffer.from(
          `${part('Content-Disposition: form-data; name="a"', `x--${B}\r\nContent-Disposition: form-data; name=deviceinfo\r\n\r\n${b64(blocked)}`)}--${B}--\r\n`,
        ),
      /inside part 1/,
    ],
    [
      "a quoted-printable part",
      [MULTIPART],
      () =>
        Buffer.from(
          `${part("Content-Disposition: form-data; name=deviceinfo\r\nContent-Transfer-Encoding: quoted-printable")}--${B}--\r\n`,
        ),
      /Content-Transfer-Encoding/,
    ],
  ])("%s: 400 bad-multipart", async (_what, headers, body, why) => {
    const { answer, reached } = await send(request("POST /mdm/web", headers, body()));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "bad-multipart", message: expect.stringMatching(why) });
    expect(reached).toBe(0);
  });

  it.each([
    [
      "two Content-Type headers that differ (Node reads the first, gunicorn the last)",
      ["Content-Type: text/plain", FORM],
      /more than one Content-Type/,
    ],
    [
      "a Content_Type header (old WSGI servers took it for the Content-Type)",
      ["Content-Type: text/plain", "Content_Type: application/x-www-form-urlencoded"],
      /spelt with an underscore/,
    ],
    [
      "a UTF-16 form (servlet containers decode names in it)",
      ["Content-Type: application/x-www-form-urlencoded; charset=utf-16le"],
      /not ASCII-compatible/,
    ],
  ])("%s: 400 bad-content-type", async (_what, headers, why) => {
    const { answer, reached } = await send(
      request("POST /mdm/web", headers, Buffer.from(`deviceinfo=${urlencoded(blocked)}`, "utf16le")),
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "bad-content-type", message: expect.stringMatching(why) });
    expect(reached).toBe(0);
  });
});
