// Hostile documents, sent where they would arrive: MachineInfo to the real
// `enrollgate serve` process, policy files to the real `enrollgate validate`.
// Both run under a small V8 heap cap, so "bounded memory" is enforced by the
// process, not asserted from timings: each document gets a clear error and
// the process is still there (and still serving) afterwards.
import { execFileSync } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CERTIFICATES } from "enrollgate/apple";
import { generatePolicySet } from "../../support/policy-sets.js";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { BIN, enrollgate } from "../helpers/cli.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const HEAP_CAP = "--max-old-space-size=64";
const BODY_LIMIT = 2 * 1024 * 1024;

let device: Identity;
let gate: Running;
let url: string;

beforeAll(async () => {
  const ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  const dir = await tempDir({
    "p/rules.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6.1" }\n',
    "ca.pem": ca.pem,
  });
  const port = await freePort();
  gate = run(
    process.execPath,
    [
      HEAP_CAP,
      BIN,
      "serve",
      "--policies",
      "p",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--verify",
      "enforce",
      "--trust-anchor",
      "ca.pem",
      "--body-limit",
      String(BODY_LIMIT),
      "--no-watch",
    ],
    { cwd: dir },
  );
  await listening(gate);
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  gate.child.kill("SIGTERM");
  await gate.exited;
});

async function postBody(body: Uint8Array): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/mdm/profile`, {
    method: "POST",
    body,
    headers: { "content-type": "application/pkcs7-signature" },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const wrapPlist = (inner: string, doctype = "") =>
  `<?xml version="1.0" encoding="UTF-8"?>${doctype}<plist version="1.0">${inner}</plist>`;

/** Ten entities each expanding to ten of the previous: 10^10 "lol"s if anything expanded them. */
function billionLaughsXml(): string {
  let entities = '<!ENTITY a0 "lol">';
  for (let i = 1; i < 10; i++) entities += `<!ENTITY a${i} "${`&a${i - 1};`.repeat(10)}">`;
  return wrapPlist("<dict><key>PRODUCT</key><string>&a9;</string></dict>", `<!DOCTYPE plist [${entities}]>`);
}

/** SEQUENCE inside SEQUENCE, `depth` times, with definite lengths. */
function nestedSequences(depth: number): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) {
    const n = inner.length;
    const length =
      n < 0x80
        ? [n]
        : n < 0x100
          ? [0x81, n]
          : n < 0x10000
            ? [0x82, n >> 8, n & 0xff]
            : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
    inner = Buffer.concat([Buffer.from([0x30, ...length]), inner]);
  }
  return inner;
}

describe("hostile MachineInfo, at the gate", () => {
  it.each([
    [
      "a plist whose DTD declares nested entities",
      () => signCms(billionLaughsXml(), device),
      "bad-plist",
      /internal DTD subset/,
    ],
    [
      "a plist nested 10,000 levels deep",
      () => signCms(wrapPlist(`${"<array>".repeat(10_000)}${"</array>".repeat(10_000)}`), device),
      "bad-plist",
      /nests deeper than 32 levels/,
    ],
    [
      "a plist that is not valid UTF-8",
      () =>
        signCms(
          Buffer.concat([
            Buffer.from(wrapPlist("<string>")),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from("</string></plist>"),
          ]),
          device,
        ),
      "bad-plist",
      /not valid UTF-8/,
    ],
    // A lazy [^>]*? after each <dict took quadratic time: a minute for these 1.2 MB (seconds for 64 KB under verify:
    // audit).
    [
      "a plist of 1.2 MB of unclosed <dict tags",
      () => signCms(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">${"<dict".repeat(240_000)}`, device),
      "bad-plist",
      /not well-formed XML/,
    ],
    [
      "a binary plist where XML is expected",
      () => signCms(Buffer.from("bplist00\xd1\x01\x02SKEY", "latin1"), device),
      "bad-plist",
      /binary property lists are not accepted/,
    ],
    [
      "CMS nested 10,000 levels deep",
      () => Promise.resolve(nestedSequences(10_000)),
      "bad-cms",
      /nesting depth|not valid DER/,
    ],
    [
      "CMS carrying 1,000 certificates",
      () => signCms(machineInfoPlist(), device, { certificates: Array.from({ length: 999 }, () => device) }),
      "bad-cms",
      // The encoding walk stops counting values before the parser counts certificates; either limit is named.
      new RegExp(
        `carries 1000 certificates; at most ${MAX_CERTIFICATES} are accepted|more than \\d+ values|ASN.1 node count exceeded`,
      ),
    ],
  ])("%s gets a 400 that names the problem", async (_what, make, code, message) => {
    const body = await make();
    const { status, json } = await postBody(body);
    expect(status).toBe(400);
    expect(json.error).toBe(code);
    expect(String(json.message)).toMatch(message);
  });

  it("a 10 MB body gets a 413 from its Content-Length, before it is read", async () => {
    const { status, json } = await postBody(Buffer.alloc(10 * 1024 * 1024, 0x30));
    expect(status).toBe(413);
    expect(json).toEqual({
      error: "body-too-large",
      message: `MachineInfo is larger than the ${BODY_LIMIT}-byte limit`,
    });
  });

  it("a 10 MB chunked body (no Content-Length) gets a 413 once the limit is passed", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/mdm/profile`,
        { method: "POST", headers: { "content-type": "application/pkcs7-signature", "transfer-encoding": "chunked" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      // The gate cuts the upload once it has read well past the limit; by then the 413 is here.
      req.on("error", (e) =>
        setTimeout(() => reject(new Error(`no answer before the connection failed: ${e.message}`)), 1000),
      );
      const chunk = Buffer.alloc(64 * 1024, 0x30);
      let sent = 0;
      const pump = () => {
        while (sent < 10 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it("a header of 10 MB is refused by the HTTP parser, and the gate stays up", async () => {
    const res = await fetch(`${url}/mdm/enroll`, {
      headers: { "x-apple-aspen-deviceinfo": "A".repeat(10 * 1024 * 1024) },
    }).catch(() => null);
    if (res !== null) expect(res.status).toBe(431);
  });

  it("after all of it, the gate under a 64 MB heap is still up and deciding", async () => {
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const res = await fetch(`${url}/mdm/enroll`, {
      headers: { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device)) },
    });
    expect(res.status).toBe(403);
    expect(gate.child.exitCode).toBeNull();
  });
});

describe("hostile policy files, in validate", () => {
  const validate = async (files: Record<string, string | Uint8Array>, prepare?: (dir: string) => void) => {
    const dir = await tempDir(files);
    prepare?.(dir);
    const r = await enrollgate(["validate", ".", "--format", "json"], {
      cwd: dir,
      env: { NODE_OPTIONS: "--max-old-space-size=96" },
    });
    expect(r.stderr).not.toMatch(/heap|RangeError|TypeError|at .*\.js:\d+/);
    return {
      code: r.code,
      findings: (
        JSON.parse(r.stdout) as { findings: Array<{ file: string; line: number; code: string; message: string }> }
      ).findings,
    };
  };

  it("anchors that would expand exponentially (billion laughs) are an error at the alias", async () => {
    let text = 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
    for (let i = 1; i < 10; i++)
      text += `a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]\n`;
    text += "rules: []\n";
    const { code, findings } = await validate({ "laughs.yaml": text });
    expect(code).toBe(1);
    expect(findings).toContainEqual(
      expect.objectContaining({
        file: "laughs.yaml",
        code: "yaml-aliases",
        message: expect.stringMatching(/Excessive alias count/),
      }),
    );
    expect(findings.find((f) => f.code === "yaml-aliases")?.line).toBeGreaterThan(1);
  });

  it.each([
    ["flow sequences", `rules: ${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}\n`, 1, 71],
    ["flow mappings", `rules: ${"{a: ".repeat(500_000)}${"}".repeat(500_000)}\n`, 1, 260],
    ["block sequences on one line", `rules:\n${"- ".repeat(1_000_000)}x\n`, 2, 127],
    ["a syntax error first, then brackets", `rules: [\n\t- bad\n${"[".repeat(1_000_000)}\n`, 3, 65],
  ])(
    "2 MB of nesting (%s) is refused before it is parsed, at the line where it passes 64 levels",
    async (_what, text, line, column) => {
      const { code, findings } = await validate({ "deep.yaml": text });
      expect(code).toBe(1);
      expect(findings).toContainEqual(
        expect.objectContaining({
          file: "deep.yaml",
          line,
          column,
          code: "yaml-too-deep",
          message: "the document nests more than 64 levels deep here; policy files need a handful",
        }),
      );
    },
  );

  it("10,000 rules in one file validate", async () => {
    const { files } = generatePolicySet({ rules: 10_000, files: 1 });
    const { code, findings } = await validate(files);
    expect(findings.filter((f) => f.code !== "rule-unreachable")).toEqual([]);
    expect(code).toBe(0);
  });

  it("a file over 16 MiB, invalid UTF-8 and a FIFO are each named, and the rest is still checked", async () => {
    const { code, findings } = await validate(
      {
        "big.yaml": `rules: []\n# ${"x".repeat(17 * 1024 * 1024)}\n`,
        "latin1.yaml": Buffer.from("rules: []\n# caf\xe9\n", "latin1"),
        "ok.yaml": "rules:\n  - { id: floor, platform: iOS, minimum: 26 }\n",
      },
      (dir) => {
        execFileSync("mkfifo", [join(dir, "pipe")]);
        symlinkSync(join(dir, "pipe"), join(dir, "fifo.yaml"));
        writeFileSync(join(dir, "notes.txt"), "not a policy file");
      },
    );
    expect(code).toBe(1);
    const byFile = Object.fromEntries(findings.map((f) => [f.file, f]));
    expect(byFile["big.yaml"]?.message).toMatch(/more than the 16 MiB a policy file may have/);
    expect(byFile["latin1.yaml"]?.message).toBe("the file is not valid UTF-8");
    expect(byFile["fifo.yaml"]?.message).toBe("the file is a FIFO, not a regular file");
    // The valid file was read: its number version is its own finding.
    expect(byFile["ok.yaml"]).toMatchObject({ code: "version-not-string", line: 2 });
  });
});
