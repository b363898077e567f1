// `enrollgate ddm declarations|status` as a user runs them: files written and
// removed, exit codes, messages on stderr, and reports it cannot read.
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = `rules:
  - id: iphone-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.6.1"
    enrolled:
      deadline: 2026-12-15T18:00:00
  - id: qa-seed
    platform: iOS
    models: ["iPhone18,4"]
    minimum: "27.0"
    targetBuild: "24A5264n"
    betaProgram:
      description: "iOS 27 AppleSeed"
      token: { env: QA_BETA_TOKEN }
    enrolled:
      deadline: 2026-12-15T18:00:00
`;

function statusReport(udid: string, model: string, version: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    StatusItems: {
      device: { identifier: { udid }, model: { identifier: model }, "operating-system": { family: "iOS", version } },
      ...extra,
    },
    Errors: [],
  });
}

describe("enrollgate ddm declarations --out", () => {
  it("writes one file per declaration, the beta token readable by its owner only, and removes its own stale files", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "out/com.enrollgate.enforcement.removed-rule.json": "{}",
      "out/notes.txt": "kept",
    });
    const r = await enrollgate(["ddm", "declarations", "--policies", "p", "--now", "2026-12-01", "--out", "out"], {
      cwd: dir,
      env: { QA_BETA_TOKEN: "seed-token" },
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      [
        "qa-seed: iOS 27.0 by 2026-12-15T18:00:00  com.enrollgate.enforcement.qa-seed",
        "qa-seed: beta program settings  com.enrollgate.settings.qa-seed",
        "iphone-floor: iOS 26.6.1 by 2026-12-15T18:00:00  com.enrollgate.enforcement.iphone-floor",
        "wrote 7 declarations to out; removed 1 no longer generated (com.enrollgate.enforcement.removed-rule.json)",
        "",
      ].join("\n"),
    );
    expect(r.code).toBe(0);
    const files = (await readdir(join(dir, "out"))).sort();
    expect(files).toEqual([
      "com.enrollgate.activation.iphone-floor.json",
      "com.enrollgate.activation.qa-seed.json",
      "com.enrollgate.enforcement.iphone-floor.json",
      "com.enrollgate.enforcement.qa-seed.json",
      "com.enrollgate.settings.qa-seed.json",
      "com.enrollgate.status-subscriptions.activation.json",
      "com.enrollgate.status-subscriptions.json",
      "notes.txt",
    ]);
    const settings = join(dir, "out", "com.enrollgate.settings.qa-seed.json");
    expect(JSON.parse(await readFile(settings, "utf8"))).toMatchObject({
      Identifier: "com.enrollgate.settings.qa-seed",
      Payload: { Beta: { RequireProgram: { Token: "seed-token" } } },
    });
    expect((await stat(settings)).mode & 0o777).toBe(0o600);
  });

  it("writes no beta settings without the token, names the variable, and exits 1", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await enrollgate(["ddm", "declarations", "--policies", "p", "--now", "2026-12-01", "--out", "out"], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'beta-token-unset rule "qa-seed": the beta program token (environment variable QA_BETA_TOKEN) is not available',
    );
    expect(await readdir(join(dir, "out"))).not.toContain("com.enrollgate.settings.qa-seed.json");
  });

  it("shows one device its declarations with the beta token redacted", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await enrollgate(
      [
        "ddm",
        "declarations",
        "--policies",
        "p",
        "--now",
        "2026-12-01",
        "--product",
        "iPhone18,4",
        "--os-version",
        "26.5",
      ],
      { cwd: dir, env: { QA_BETA_TOKEN: "seed-token" } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("seed-token");
    expect(r.stdout).toContain('"Token": "<redacted>"');
    expect(r.stderr).toBe("iPhone18,4 on 26.5: below qa-seed's enrolled target; install 27.0 by 2026-12-15T18:00:00\n");
  });

  it("exits 0 for a device whose own rule is whole, though another rule's beta token is missing", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const args = ["ddm", "declarations", "--policies", "p", "--now", "2026-12-01", "--os-version", "26.5"];
    const other = await enrollgate([...args, "--product", "iPhone17,3"], { cwd: dir });
    expect(other.code).toBe(0);
    expect(other.stderr).toContain('beta-token-unset rule "qa-seed"');
    const own = await enrollgate([...args, "--product", "iPhone18,4"], { cwd: dir });
    expect(own.code).toBe(1);
  });

  it("refuses to run without --out or a device, and with both", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const none = await enrollgate(["ddm", "declarations", "--policies", "p"], { cwd: dir });
    expect([none.code, none.stderr]).toEqual([
      2,
      "enrollgate: give --out DIR to write the declarations, or describe one device (--product ..., --machine-info FILE)\n",
    ]);
    const both = await enrollgate(["ddm", "declarations", "--policies", "p", "--out", "o", "--product", "iPhone17,3"], {
      cwd: dir,
    });
    expect([both.code, both.stderr]).toEqual([
      2,
      "enrollgate: --out writes every declaration; leave it out to show one device's\n",
    ]);
  });
});

describe("enrollgate ddm status", () => {
  it("exits 0 when every device is compliant or updating, 1 when one is behind", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "ok.json": statusReport("U1", "iPhone17,3", "26.7"),
      "behind.json": statusReport("U2", "iPhone17,1", "26.5"),
    });
    const ok = await enrollgate(["ddm", "status", "--policies", "p", "--now", "2026-12-01", "ok.json"], { cwd: dir });
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
    const behind = await enrollgate(
      ["ddm", "status", "--policies", "p", "--now", "2026-12-01", "--json", "ok.json", "behind.json"],
      {
        cwd: dir,
      },
    );
    expect(behind.code).toBe(1);
    const rows = JSON.parse(behind.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((x) => [x.file, x.udid, x.judgement, x.rule, x.deadline])).toEqual([
      ["ok.json", "U1", "compliant", "iphone-floor", "2026-12-15T18:00:00"],
      ["behind.json", "U2", "behind", "iphone-floor", "2026-12-15T18:00:00"],
    ]);
  });

  it("names what it cannot read on stderr, exits 2, and still judges the rest", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "lines.jsonl": [
        statusReport("U1", "iPhone17,3", "26.7"),
        "{not json",
        statusReport("U2", "iPhone17,3", "26.7"),
      ].join("\n"),
      "truncated.json": statusReport("U3", "iPhone17,3", "26.7").slice(0, 40),
      "binary.json": new Uint8Array([0xff, 0xfe, 0x00, 0x7b]),
      "empty.json": "",
    });
    await writeFile(join(dir, "big.json"), "x".repeat(40 * 1024 * 1024));
    const r = await enrollgate(
      [
        "ddm",
        "status",
        "--policies",
        "p",
        "--now",
        "2026-12-01",
        "lines.jsonl",
        "truncated.json",
        "binary.json",
        "empty.json",
        "big.json",
        "missing.json",
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^enrollgate: lines\.jsonl:2: not JSON: /);
    expect(lines[1]).toMatch(/^enrollgate: truncated\.json: not JSON: /);
    expect(lines[2]).toBe("enrollgate: binary.json: not UTF-8 text");
    expect(lines[3]).toBe("enrollgate: empty.json: empty");
    expect(lines[4]).toMatch(/^enrollgate: big\.json: .*(larger|limit|bytes)/);
    expect(lines[5]).toMatch(/^enrollgate: missing\.json: /);
    expect(r.stdout.split("\n").filter((l) => l.includes("compliant")).length).toBe(2);
  });

  it("judges a file of 150,000 reports, a line each, instead of failing with an internal error", async () => {
    const lines = Array.from({ length: 150_000 }, (_, i) => statusReport(`U${i}`, "iPhone17,3", "26.7"));
    const dir = await tempDir({ "p/rules.yaml": RULES, "reports.jsonl": `${lines.join("\n")}\n` });
    const r = await enrollgate(["ddm", "status", "--policies", "p", "--now", "2026-12-01", "reports.jsonl"], {
      cwd: dir,
    });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(150_001);
    expect(rows[150_000]).toMatch(/^U149999 +iPhone17,3 +26\.7 +iphone-floor +compliant/);
  });

  it("refuses a time zone that is not one", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "ok.json": statusReport("U1", "iPhone17,3", "26.7") });
    const r = await enrollgate(["ddm", "status", "--policies", "p", "--time-zone", "Mars/Olympus", "ok.json"], {
      cwd: dir,
    });
    expect([r.code, r.stderr]).toEqual([
      2,
      'enrollgate: --time-zone "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin, UTC)\n',
    ]);
  });
});

describe("enrollgate os-update-status", () => {
  it("says in its help that Apple deprecated the command in 26, and points to ddm status", async () => {
    const r = await enrollgate(["os-update-status", "report", "--help"]);
    expect(r.stdout).toContain("Deprecated: Apple deprecated the OSUpdateStatus command in iOS, iPadOS and macOS 26");
    expect(r.stdout).toContain("`enrollgate ddm status`");
  });
});
