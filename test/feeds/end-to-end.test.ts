// The feeds end to end: validate with GDMF, gdmf pull over HTTPS, validate
// and adu pull against a fake ADU server, and serve refreshing ADU on reload.
import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "enrollgate";
import { FeedProvider, parseGdmf } from "enrollgate/feeds";
import { base64, createCA, createIdentity, machineInfoPlist, privateKeyPem, signCms } from "../../support/signing.js";
import { BIN, enrollgate } from "../helpers/cli.js";
import { startFakeAdu, type FakeAdu } from "../helpers/fake-adu.js";
import { captureLog } from "../helpers/http.js";
import { freePort, listening, run } from "../helpers/processes.js";
import { readShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const AUGUST = sharedPath("feeds", "gdmf-2026-08-22.json");

/** The 1-based line of the first line containing `text` at or after the line containing `after`. */
function lineOf(yaml: string, text: string, after = ""): number {
  const lines = yaml.split("\n");
  const start = after === "" ? 0 : lines.findIndex((l) => l.includes(after));
  return lines.findIndex((l, i) => i >= start && l.includes(text)) + 1;
}

interface Finding {
  code: string;
  line: number;
  column: number;
  severity: string;
  message: string;
  rule: string;
}

async function validate(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = await enrollgate(["validate", "p", "--format", "json", ...args], { cwd, env });
  return {
    code: r.code,
    stderr: r.stderr,
    out: r.stdout === "" ? null : (JSON.parse(r.stdout) as { findings: Finding[]; errors: number; warnings: number }),
  };
}

describe("validate with Apple's feed", () => {
  const RULES = `rules:
  - id: listed
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.6.1"
  - id: not-listed
    platform: iOS
    models: ["iPhone16,*"]
    minimum: "26.6"
    target: "26.9"
  - id: expired
    platform: macOS
    models: ["J414?AP"]
    minimum: "26.5"
  - id: stranded
    platform: iOS
    models: ["iPhone1?,*"]
    minimum: "26.6.1"
    whenUnavailable: block
  - id: latest
    platform: macOS
    models: ["J413AP"]
    minimum: "15.0"
    target: latest
`;

  it("reports unlisted and expired targets as errors, and stranded models as a warning", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "gdmf.json": readShared("feeds", "gdmf-2026-08-22.json") });
    const r = await validate(["--gdmf", "gdmf.json", "--now", "2026-09-01"], dir);
    expect(r.out?.findings.map((f) => [f.rule, f.code, f.severity, f.line, f.column])).toEqual([
      ["not-listed", "target-not-in-feed", "error", lineOf(RULES, "target:", "id: not-listed"), 13],
      ["expired", "target-expired", "error", lineOf(RULES, "minimum:", "id: expired"), 14],
      ["stranded", "models-without-target", "warning", lineOf(RULES, "minimum:", "id: stranded"), 14],
    ]);
    const byCode = (c: string) => r.out?.findings.find((f) => f.code === c)?.message;
    expect(byCode("target-not-in-feed")).toBe("Apple's feed does not list iOS 26.9");
    expect(byCode("target-expired")).toBe("Apple's feed no longer offers macOS 26.5 (it expired after 2026-08-30)");
    expect(byCode("models-without-target")).toMatch(
      /^\d+ iOS models this rule matches cannot install 26.6.1 per Apple's feed \(iPhone10,1, .*\); whenUnavailable: block keeps them from enrolling$/,
    );
    expect(r.code).toBe(1);
  });

  it("needs the feed for target: latest", async () => {
    const dir = await tempDir({
      "p/rules.yaml": 'rules:\n  - id: latest\n    platform: macOS\n    minimum: "15.0"\n    target: latest\n',
    });
    expect((await validate([], dir)).out?.findings.map((f) => f.code)).toEqual(["target-needs-feed"]);
    expect((await validate(["--gdmf", AUGUST, "--now", "2026-08-25"], dir)).out?.findings).toEqual([]);
  });

  it("reads the feed named in enrollgate.yaml, relative to the policy directory", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "p/enrollgate.yaml": "feeds:\n  gdmf: snapshots/gdmf.json\n",
      "p/snapshots/gdmf.json": readShared("feeds", "gdmf-2026-08-22.json"),
    });
    expect((await validate(["--now", "2026-09-01"], dir)).out?.errors).toBe(2);
  });

  it("exits 2 naming a feed it cannot read", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "bad.json": '{"hello": 1}' });
    const missing = await validate(["--gdmf", "nope.json"], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the GDMF snapshot .*nope.json: ENOENT/);
    const bad = await validate(["--gdmf", "bad.json"], dir);
    expect(bad.stderr).toMatch(/bad.json has none of PublicAssetSets, AssetSets/);
  });
});

describe("enrollgate gdmf pull", () => {
  let url: string;
  let caPem: string;
  let close: () => void;

  beforeAll(async () => {
    const now = Date.now();
    const ca = await createCA("Test Feed Root", "ecdsa", {
      valid: { from: new Date(now - 86_400_000), to: new Date(now + 86_400_000) },
    });
    const leaf = await createIdentity(ca, {
      kind: "ecdsa",
      commonName: "127.0.0.1",
      altNames: ["127.0.0.1", "localhost"],
      valid: { from: new Date(now - 86_400_000), to: new Date(now + 86_400_000) },
    });
    const feed = readShared("feeds", "gdmf-2026-08-22.json");
    const server = createHttpsServer({ cert: leaf.pem, key: await privateKeyPem(leaf) }, (req, res) => {
      if (req.url === "/v2/pmv") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(feed);
      } else if (req.url === "/not-a-feed") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"hello":"world"}');
      } else {
        res.writeHead(503);
        res.end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    caPem = ca.pem;
    close = () => server.close();
  });
  afterAll(() => close());

  it("writes a snapshot of the feed, trusting the root given with --ca", async () => {
    const dir = await tempDir({ "root.pem": caPem });
    const r = await enrollgate(["gdmf", "pull", "--url", `${url}/v2/pmv`, "--ca", "root.pem", "--out", "gdmf.json"], {
      cwd: dir,
    });
    const counts = new Map<string, number>();
    for (const rel of parseGdmf(readShared("feeds", "gdmf-2026-08-22.json")).releases)
      counts.set(rel.feedPlatform, (counts.get(rel.feedPlatform) ?? 0) + 1);
    expect(r.stdout).toBe(`wrote gdmf.json: 107 releases (${[...counts].map(([p, n]) => `${p} ${n}`).join(", ")})\n`);
    expect(r.code).toBe(0);
    expect(await readFile(join(dir, "gdmf.json"), "utf8")).toBe(readShared("feeds", "gdmf-2026-08-22.json"));
  });

  it.each([
    [["--url", "/v2/pmv"], /does not chain to a trusted root .*pass the root that issues it with --ca/],
    [["--url", "/down", "--ca", "root.pem"], /answered 503/],
    [["--url", "/not-a-feed", "--ca", "root.pem"], /has none of PublicAssetSets/],
  ])("exits 1 for %j", async (args, message) => {
    const dir = await tempDir({ "root.pem": caPem });
    const full = args.map((a) => (a.startsWith("/") ? `${url}${a}` : a));
    const r = await enrollgate(["gdmf", "pull", ...full, "--out", "gdmf.json"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});

describe("ADU", () => {
  const RULES = `rules:
  - id: iphone16
    platform: iOS
    models: ["iPhone17,1"]
    minimum: "26.6.1"
    adu: { provider: Contoso, name: iOS }
  - id: old-target
    platform: iOS
    models: ["iPhone17,2"]
    minimum: "26.5"
    adu: { provider: Contoso, name: iOS }
  - id: case
    platform: iOS
    models: ["iPhone18,1"]
    minimum: "26.6.1"
    adu: { provider: Contoso, name: iOS }
  - id: ipad
    platform: iPadOS
    models: ["iPad13,1"]
    minimum: "26.6.1"
    adu: { provider: Contoso, name: iOS }
`;
  let adu: FakeAdu;
  const env = () => ({ ENROLLGATE_ADU_TOKEN: adu.token });
  const live = () => ["--adu-url", adu.url, "--adu-instance", "blue"];
  const expected = () => [
    ["old-target", "adu-update-missing", "error", lineOf(RULES, "adu:", "id: old-target"), 5],
    ["case", "adu-case-mismatch", "warning", lineOf(RULES, "adu:", "id: case"), 5],
    ["ipad", "adu-incompatible", "error", lineOf(RULES, "adu:", "id: ipad"), 5],
  ];

  beforeAll(async () => {
    adu = await startFakeAdu();
    adu.updates.set("Contoso/iOS/26.6.1", {
      compatibility: [
        { manufacturer: "Apple", model: "iPhone17,1" },
        { manufacturer: "Apple", model: "iphone18,1" },
      ],
      etag: '"v1"',
    });
  });
  afterAll(() => adu.close());

  it("validate against live ADU: missing, incompatible, and case-only matches", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await validate(live(), dir, env());
    expect(r.out?.findings.map((f) => [f.rule, f.code, f.severity, f.line, f.column])).toEqual(expected());
    expect(r.out?.findings.map((f) => f.message)).toEqual([
      "ADU update Contoso/iOS/26.5 is not imported (update Contoso/iOS/26.5 is not imported into ADU (UpdateNotFound: Update Contoso/iOS/26.5 was not found))",
      "ADU update Contoso/iOS/26.6.1 lists Apple iPhone18,1 only in different letter case; ADU matches exactly, so it does not count",
      "ADU update Contoso/iOS/26.6.1 has no compatibility entry for Apple iPad13,1",
    ]);
    expect(r.code).toBe(1);
  });

  it("adu pull writes a snapshot that validate reads without the network", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const pull = await enrollgate(["adu", "pull", "--policies", "p", ...live(), "--out", "adu.json"], {
      cwd: dir,
      env: env(),
    });
    expect(pull.stdout).toBe("wrote adu.json: 2 updates (1 present, 1 not imported, 0 unknown)\n");
    expect(pull.code).toBe(0);
    const offline = await validate(["--adu-catalog", "adu.json"], dir);
    expect(offline.out?.findings.map((f) => [f.rule, f.code, f.severity, f.line, f.column])).toEqual(expected());
  });

  it("an unreachable ADU is a warning, and an error with --strict", async () => {
    const gone = await startFakeAdu();
    await gone.close();
    const dir = await tempDir({
      "p/rules.yaml":
        'rules:\n  - id: iphone16\n    platform: iOS\n    minimum: "26.6.1"\n    adu: { provider: Contoso, name: iOS }\n',
    });
    const args = ["--adu-url", gone.url, "--adu-instance", "blue"];
    const r = await validate(args, dir, env());
    expect(r.out?.findings.map((f) => [f.code, f.severity])).toEqual([["adu-unknown", "warning"]]);
    expect(r.out?.findings[0]?.message).toMatch(/is unknown: .* cannot be reached: ECONNREFUSED/);
    expect(r.code).toBe(0);
    expect((await validate([...args, "--strict"], dir, env())).code).toBe(1);
  });

  it("adu pull names the role when ADU refuses the token", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await enrollgate(["adu", "pull", "--policies", "p", ...live(), "--out", "adu.json"], {
      cwd: dir,
      env: { ENROLLGATE_ADU_TOKEN: "wrong" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ADU rejected the token .*\(401\).*Device Update Content Reader role/);
    expect(r.stdout).toBe("wrote adu.json: 2 updates (0 present, 0 not imported, 2 unknown)\n");
  });

  it("an enrollgate.yaml naming an ADU endpoint of its own: serve and validate refuse it, and the server's token never leaves", async () => {
    // The policy repository chooses enrollgate.yaml; the token is the server's (ENROLLGATE_ADU_TOKEN or its Azure
    // identity).
    const thief = await startFakeAdu();
    try {
      const dir = await tempDir({
        "p/rules.yaml": RULES,
        "p/enrollgate.yaml": `feeds:\n  adu:\n    url: ${thief.url}\n    instance: blue\n`,
      });
      const env = { ENROLLGATE_ADU_TOKEN: "the-servers-adu-token" };
      const port = await freePort();
      const serve = run(
        process.execPath,
        [
          BIN,
          "serve",
          "--policies",
          "p",
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          "--no-watch",
          "--verify",
          "off",
        ],
        { cwd: dir, env },
      );
      await listening(serve);
      if (serve.child.exitCode === null) serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(2);
      expect(thief.requests.map((r) => r.headers.authorization)).toEqual([]);
      const refusal =
        /feeds\.adu\.url "http:\/\/127\.0\.0\.1:\d+" in enrollgate\.yaml is not an Azure Device Update endpoint \(https:\/\/NAME\.api\.adu\.microsoft\.com\); the gate sends its ADU token there, so another endpoint must come from the operator \(--adu-url\)/;
      expect(serve.stderr()).toMatch(refusal);
      const checked = await enrollgate(["validate", "p"], { cwd: dir, env });
      expect(checked.code).toBe(2);
      expect(checked.stderr).toMatch(refusal);
      expect(thief.requests).toEqual([]);
    } finally {
      await thief.close();
    }
  });

  it("serve decides with ADU, refreshes it on reload with ETags, and keeps the last good catalog when ADU fails", async () => {
    const flaky = await startFakeAdu();
    flaky.updates.set("Contoso/iOS/26.6.1", {
      compatibility: [{ manufacturer: "Apple", model: "iPhone17,1" }],
      etag: '"v1"',
    });
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const log = captureLog();
    const server = await startServer({
      policies: "p",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "off" },
      logger: log.logger,
      env: { ENROLLGATE_ADU_TOKEN: flaky.token },
      cwd: dir,
      watch: false,
      feeds: { aduUrl: flaky.url, aduInstance: "blue" },
      feedProvider: new FeedProvider({
        env: { ENROLLGATE_ADU_TOKEN: flaky.token },
        client: { maxAttempts: 1, timeoutMs: 500 },
      }),
    });
    const device = await createIdentity(await createCA(), { kind: "ecdsa" });
    const decide = async (product: string) => {
      const res = await fetch(`${server.url}/mdm/enroll`, {
        headers: {
          "x-apple-aspen-deviceinfo": base64(
            await signCms(
              machineInfoPlist({ PRODUCT: product, SOFTWARE_UPDATE_DEVICE_ID: product, OS_VERSION: "26.4" }),
              device,
            ),
          ),
        },
      });
      return res.status === 403 ? "block" : ((await res.json()) as { reason: string }).reason;
    };
    try {
      expect(await decide("iPhone17,1")).toBe("block"); // imported and compatible
      expect(await decide("iPad13,1")).toBe("target-unavailable"); // not compatible
      expect(await decide("iPhone17,2")).toBe("target-unavailable"); // 26.5 not imported

      await server.reload("test");
      expect(flaky.requests.filter((r) => r.url.includes("26.6.1")).at(-1)?.headers["if-none-match"]).toBe('"v1"');

      await flaky.close();
      const result = await server.reload("ADU is down");
      expect(result.ok).toBe(true);
      expect(await decide("iPhone17,1")).toBe("block"); // the last good catalog still says imported
      expect(log.lines.filter((l) => l.event === "feed-refresh-failed").map((l) => l.problem)).toContainEqual(
        expect.stringMatching(/ECONNREFUSED.*keeping the last good entries/),
      );
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(
        /^enrollgate_feed_refresh_failures_total [1-9]\d*$/m,
      );
    } finally {
      await server.close();
    }
  });
});
