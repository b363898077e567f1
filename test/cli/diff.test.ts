// `enrollgate diff` through the real bin: policy sets in directories and in
// git (read without touching the working tree), inventories as CSV and as a
// real gate's decision log, the formats, the exit codes, and refusals.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { enrollgate } from "../helpers/cli.js";
import { spawnGate } from "../helpers/gate-process.js";
import { sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const BASE = [
  "rules:",
  '  - { id: iphone-floor, platform: iOS, models: ["iPhone15,*", "iPhone17,*"], minimum: "26.5" }',
  '  - { id: xs-floor, platform: iOS, models: ["iPhone11,*"], minimum: "18.6" }',
  "",
].join("\n");
const HEAD = [
  "rules:",
  '  - { id: iphone-floor, platform: iOS, models: ["iPhone15,*", "iPhone17,*"], minimum: "26.6.1" }',
  '  - { id: xs-floor, platform: iOS, models: ["iPhone11,*"], minimum: "18.6" }',
  "",
].join("\n");
const FLEET = [
  "product,osVersion,count",
  '"iPhone15,2",26.5,42',
  '"iPhone17,3",26.6.1,10',
  '"iPhone11,8",18.5,7',
  "",
].join("\n");

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: cwd,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  });
}

/** A repository whose first commit holds `committed`; `working` is then written over it, uncommitted. */
async function repo(committed: Record<string, string>, working: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir(committed);
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "base");
  for (const [name, text] of Object.entries(working)) await writeFile(join(dir, name), text);
  return dir;
}

describe("enrollgate diff, two directories", () => {
  it("decides an inventory of 200,000 devices, a row each, instead of failing with an internal error", async () => {
    const rows = ['"iPhone15,2",26.5\n'.repeat(150_000), '"iPhone17,3",26.6.1\n'.repeat(50_000)].join("");
    const dir = await tempDir({
      "base/rules.yaml": BASE,
      "head/rules.yaml": HEAD,
      "fleet.csv": `product,osVersion\n${rows}`,
    });
    const r = await enrollgate(
      [
        "diff",
        "--base",
        "base",
        "--head",
        "head",
        "--inventory",
        "fleet.csv",
        "--now",
        "2026-12-01",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const impact = (JSON.parse(r.stdout) as { impact: { devices: number; newlyBlocked: number } }).impact;
    expect([impact.devices, impact.newlyBlocked]).toEqual([200_000, 150_000]);
  });

  it("prints the rule changes and the devices whose outcome changes, and exits 0", async () => {
    const dir = await tempDir({ "base/rules.yaml": BASE, "head/rules.yaml": HEAD, "fleet.csv": FLEET });
    const r = await enrollgate(
      ["diff", "--base", "base", "--head", "head", "--inventory", "fleet.csv", "--now", "2026-12-01"],
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      [
        "enrollgate diff: base → head, decided at 2026-12-01T00:00:00.000Z",
        "",
        "Rules: 1 changed, 0 added, 0 removed",
        "  changed  iphone-floor (iOS)  head/rules.yaml:2",
        "      minimum: 26.5 → 26.6.1",
        "",
        "Devices (fleet.csv): 42 devices newly blocked, 0 newly allowed, 0 otherwise changed, of 59 devices (blocked: 7 → 49)",
        "  42 iPhone15,2 on iOS 26.5: allowed (compliant) → blocked by iphone-floor, asked for 26.6.1",
        "",
      ].join("\n"),
    );
    expect(r.code).toBe(0);
  });

  it("decides as the gate does with the same feed: a target the feed no longer lists is no refusal", async () => {
    // The base set's target expired from the feed since it merged: validate would fail it, the gate serves it.
    const gdmf = JSON.stringify({
      PublicAssetSets: {
        iOS: [
          {
            ProductVersion: "26.6.1",
            Build: "23G93",
            PostingDate: "2026-09-01",
            ExpirationDate: "2027-06-30",
            SupportedDevices: ["iPhone15,2", "iPhone17,3", "iPhone11,8"],
          },
        ],
      },
    });
    const dir = await tempDir({
      "base/rules.yaml": BASE.replace('minimum: "26.5" }', 'minimum: "26.5", target: "26.5.2" }'),
      "head/rules.yaml": HEAD,
      "fleet.csv": FLEET,
      "gdmf.json": gdmf,
    });
    const r = await enrollgate(
      ["diff", "--base", "base", "--head", "head", "--inventory", "fleet.csv", "--gdmf", "gdmf.json"].concat([
        "--now",
        "2026-12-01",
        "--format",
        "json",
      ]),
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { impact: { newlyBlocked: number } };
    expect(json.impact.newlyBlocked).toBe(42);
    const validate = await enrollgate(["validate", "base", "--gdmf", "gdmf.json", "--now", "2026-12-01"], {
      cwd: dir,
    });
    expect(validate.stdout).toContain("error target-not-in-feed");
  });

  it("exits 1 when more devices than --max-newly-blocked are newly blocked, and 0 at the limit", async () => {
    const dir = await tempDir({ "base/rules.yaml": BASE, "head/rules.yaml": HEAD, "fleet.csv": FLEET });
    const args = ["diff", "--base", "base", "--head", "head", "--inventory", "fleet.csv", "--now", "2026-12-01"];
    const over = await enrollgate([...args, "--max-newly-blocked", "41"], { cwd: dir });
    expect(over.code).toBe(1);
    expect(over.stdout).toContain("\n42 devices newly blocked: more than --max-newly-blocked 41\n");
    const at = await enrollgate([...args, "--max-newly-blocked", "42"], { cwd: dir });
    expect(at.code).toBe(0);
  });

  it("prints a pull-request comment, annotations, or JSON", async () => {
    const dir = await tempDir({ "base/rules.yaml": BASE, "head/rules.yaml": HEAD, "fleet.csv": FLEET });
    const args = ["diff", "--base", "base", "--head", "head", "--inventory", "fleet.csv", "--now", "2026-12-01"];
    const md = await enrollgate([...args, "--format", "markdown"], { cwd: dir });
    expect(md.stdout.split("\n").slice(0, 4)).toEqual([
      "<!-- enrollgate-diff -->",
      "### enrollgate diff: base → head",
      "",
      "**42 devices newly blocked**, 0 newly allowed. Rules: 1 changed, 0 added, 0 removed.",
    ]);
    const gh = await enrollgate(args, { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
    expect(gh.stdout.split("\n")[0]).toBe(
      "::warning file=head/rules.yaml,line=2,col=11,title=enrollgate diff%3A rule iphone-floor changed::minimum: 26.5 → 26.6.1; 42 devices change outcome (42 newly blocked)",
    );
    const json = JSON.parse((await enrollgate([...args, "--format", "json"], { cwd: dir })).stdout) as {
      impact: { newlyBlocked: number };
    };
    expect(json.impact.newlyBlocked).toBe(42);
  });

  it.each([
    [["--inventory", "missing.csv"], "--inventory missing.csv: no such file"],
    [["--inventory", "bad.csv"], 'bad.csv:3: osVersion "26,5" is not an OS version'],
    [["--max-newly-blocked", "-1", "--inventory", "fleet.csv"], "--max-newly-blocked"],
    [["--max-newly-blocked", "3"], "--max-newly-blocked counts devices: give them with --inventory FILE"],
    [["--now", "soon"], '--now "soon" is not a date'],
  ])("exits 2 on bad input: %j", async (extra, message) => {
    const dir = await tempDir({
      "base/rules.yaml": BASE,
      "head/rules.yaml": HEAD,
      "fleet.csv": FLEET,
      "bad.csv": 'product,osVersion\n"iPhone15,2",26.5\n"iPhone15,2","26,5"\n',
    });
    const r = await enrollgate(["diff", "--base", "base", "--head", "head", ...extra], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("exits 2, with the findings, when a set does not compile", async () => {
    const dir = await tempDir({
      "base/rules.yaml": BASE,
      "head/rules.yaml": "rules:\n  - { id: a, platform: iOS, minimum: 26.6 }\n",
    });
    const r = await enrollgate(["diff", "--base", "base", "--head", "head"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("head/rules.yaml:2:38 error version-not-string");
    expect(r.stderr).toContain("the head policies in head do not compile");
  });

  it("decides 100,000 inventory rows, counting every one", async () => {
    const models = ["iPhone15,2", "iPhone15,3", "iPhone17,3", "iPhone11,8", "iPad13,16"];
    const versions = ["26.4", "26.5", "26.6.1", "18.5", "18.7"];
    const rows = ["product,osVersion,build,serial,udid"];
    for (let i = 0; i < 100_000; i++) {
      rows.push(`"${models[i % 5] ?? ""}",${versions[Math.floor(i / 5) % 5] ?? ""},,S${i},U${i}`);
    }
    const dir = await tempDir({
      "base/rules.yaml": BASE,
      "head/rules.yaml": HEAD,
      "fleet.csv": `${rows.join("\n")}\n`,
    });
    const r = await enrollgate(
      [
        "diff",
        "--base",
        "base",
        "--head",
        "head",
        "--inventory",
        "fleet.csv",
        "--now",
        "2026-12-01",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { impact: { devices: number; newlyBlocked: number; groups: unknown[] } };
    // Newly blocked: iPhone15,2, 15,3 and 17,3 on 26.5, 4,000 rows each; on 26.4, 18.5 and 18.7 they are asked
    // for 26.6.1 instead of 26.5: 12 groups of the 25 combinations.
    expect(json.impact).toMatchObject({ devices: 100_000, newlyBlocked: 12_000, changed: 48_000 });
    expect(json.impact.groups).toHaveLength(12);
  });
});

describe("enrollgate diff --base REF:DIR", () => {
  it("reads the base set from git and leaves the working tree as it was", async () => {
    const dir = await repo({ "p/rules.yaml": BASE, "fleet.csv": FLEET }, { "p/rules.yaml": HEAD });
    const status = git(dir, "status", "--porcelain");
    const r = await enrollgate(
      ["diff", "--base", "main:p", "--head", "p", "--inventory", "fleet.csv", "--now", "2026-12-01"],
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("enrollgate diff: main:p → p,");
    expect(r.stdout).toContain("  changed  iphone-floor (iOS)  p/rules.yaml:2\n      minimum: 26.5 → 26.6.1\n");
    expect(r.stdout).toContain("  42 iPhone15,2 on iOS 26.5: allowed (compliant) → blocked by iphone-floor");
    expect(git(dir, "status", "--porcelain")).toBe(status);
    expect(await readFile(join(dir, "p/rules.yaml"), "utf8")).toBe(HEAD);
  });

  it("names removed rules where they were in git, and reads from a subdirectory", async () => {
    const dir = await repo(
      { "sub/p/rules.yaml": BASE },
      { "sub/p/rules.yaml": HEAD.split("\n").slice(0, 2).join("\n") + "\n" },
    );
    const r = await enrollgate(["diff", "--base", "HEAD:p", "--head", "p", "--now", "2026-12-01"], {
      cwd: join(dir, "sub"),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  removed  xs-floor (iOS)  was at HEAD:p/rules.yaml:3\n");
    expect(r.stdout).toContain("Weakens protection:\n  rule xs-floor removed (was iOS iPhone11,*, minimum 18.6)\n");
  });

  it("reads the snapshots and files the base set names from the same commit, confined to its tree", async () => {
    const gdmf = await readFile(sharedPath("feeds", "gdmf-2026-08-22.json"), "utf8");
    const floor = 'rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone15,*"], minimum: "26.6" }\n';
    const latest = floor.replace(" }", ", target: latest }");
    const dir = await repo(
      { "p/rules.yaml": latest, "p/enrollgate.yaml": "feeds: { gdmf: feeds/gdmf.json }\n", "p/feeds/gdmf.json": gdmf },
      { "p/rules.yaml": floor, "p/enrollgate.yaml": "format: json\n" },
    );
    await rm(join(dir, "p/feeds"), { recursive: true });
    await writeFile(join(dir, "fleet.csv"), FLEET);
    const r = await enrollgate(
      ["diff", "--base", "HEAD:p", "--head", "p", "--inventory", "fleet.csv", "--now", "2026-08-23"],
      { cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // The base resolves `latest` from the snapshot in its commit; the working tree has none.
    expect(r.stdout).toContain(
      "  42 iPhone15,2 on iOS 26.5: blocked by iphone-floor, asked for 26.6.1 → blocked by iphone-floor, asked for 26.6\n",
    );
    expect(r.stdout).toContain('  feeds: {"gdmf":"feeds/gdmf.json"} → (not set)\n');
  });

  it("reads the base's SOFA snapshots from git too, not from the working tree", async () => {
    const sofa = await readFile(sharedPath("feeds", "sofa-2026-08-22", "ios_data_feed.json"), "utf8");
    const dir = await repo(
      { "p/rules.yaml": BASE, "p/enrollgate.yaml": "feeds: { sofa: feeds/sofa.json }\n", "p/feeds/sofa.json": sofa },
      { "p/enrollgate.yaml": "format: json\n" },
    );
    // The head no longer names a snapshot and the working tree no longer has it; the base's is in its commit.
    await rm(join(dir, "p/feeds"), { recursive: true });
    const r = await enrollgate(["diff", "--base", "HEAD:p", "--head", "p", "--now", "2026-12-01"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  feeds: {"sofa":"feeds/sofa.json"} → (not set)\n');
    // A snapshot the working tree holds in its place is not the base's either.
    await mkdir(join(dir, "p/feeds"));
    await writeFile(join(dir, "p/feeds/sofa.json"), '{"not": "a SOFA feed"}');
    const again = await enrollgate(["diff", "--base", "HEAD:p", "--head", "p", "--now", "2026-12-01"], { cwd: dir });
    expect([again.code, again.stderr]).toEqual([0, ""]);
  });

  it("refuses a policy file in git that is a symlink out of the set's tree", async () => {
    const dir = await tempDir({ "secret.yaml": "rules: []\n", "p/rules.yaml": BASE });
    await symlink("../secret.yaml", join(dir, "p/leak.yaml"));
    git(dir, "init", "-q", "-b", "main");
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "base");
    const r = await enrollgate(["diff", "--base", "main:p", "--head", "p"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "main:p/leak.yaml:1:1 error file-outside-policy-dir the file cannot be read: it is a symlink to ../secret.yaml, outside the policy directory",
    );
  });

  it.each([
    ["a ref that does not exist", "origin/main:p", "there is no commit origin/main in this repository"],
    ["a ref that looks like an option", "--upload-pack=touch pwned:p", "is not a git ref"],
    ["a range", "main..HEAD:p", "is not a git ref"],
    ["a directory the commit does not have", "main:nope", "main has no directory nope"],
    ["a directory outside the repository", "main:../..", "is outside the repository"],
  ])("exits 2 on %s, with a clear message and no side effect", async (_what, base, message) => {
    const dir = await repo({ "p/rules.yaml": BASE });
    const r = await enrollgate(["diff", `--base=${base}`, "--head", "p"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(git(dir, "status", "--porcelain")).toBe("");
  });

  it("exits 2 outside a git repository", async () => {
    const dir = await tempDir({ "p/rules.yaml": BASE });
    const r = await enrollgate(["diff", "--base", "main:p", "--head", "p"], {
      cwd: dir,
      env: { GIT_CEILING_DIRECTORIES: dir },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^enrollgate: --base main:p: .*not a git repository/);
  });
});

describe("enrollgate diff --inventory with a decision log", () => {
  it("replays what a real gate decided, each device once as it was last seen", async () => {
    const ca = await createCA();
    const device = await createIdentity(ca, { kind: "ecdsa" });
    const gate = await spawnGate({ "p/rules.yaml": BASE, "ca.pem": ca.pem }, [
      "--verify",
      "enforce",
      "--trust-anchor",
      "ca.pem",
    ]);
    try {
      const enroll = async (fields: Record<string, string | boolean>) => {
        const der = await signCms(machineInfoPlist(fields), device);
        await fetch(`${gate.url}/mdm/enroll`, { headers: { "x-apple-aspen-deviceinfo": base64(der) } });
      };
      // The same iPhone twice: first on 26.4 (blocked), then updated to 26.5.
      await enroll({ UDID: "U-1", SERIAL: "S-1", PRODUCT: "iPhone15,2", OS_VERSION: "26.4", VERSION: "23E246" });
      await enroll({ UDID: "U-1", SERIAL: "S-1", PRODUCT: "iPhone15,2", OS_VERSION: "26.5", VERSION: "23F77" });
      await enroll({ UDID: "U-2", SERIAL: "S-2", PRODUCT: "iPhone17,3", OS_VERSION: "26.5", VERSION: "23F77" });
      await enroll({
        UDID: "U-3",
        SERIAL: "S-3",
        PRODUCT: "iPhone11,8",
        OS_VERSION: "18.5",
        VERSION: "22F76",
        MDM_CAN_REQUEST_SOFTWARE_UPDATE: false,
      });
      await fetch(`${gate.url}/mdm/enroll`);
    } finally {
      await gate.stop();
    }
    const log = gate.running.lines.map((l) => JSON.stringify(l)).join("\n");
    expect(gate.running.lines.filter((l) => l.event === "decision")).toHaveLength(5);
    await writeFile(join(gate.dir, "gate.log"), `${log}\n`);
    const headDir = await tempDir({ "rules.yaml": HEAD });
    const r = await enrollgate(
      ["diff", "--base", "p", "--head", headDir, "--inventory", "gate.log", "--now", "2026-12-01", "--format", "json"],
      { cwd: gate.dir },
    );
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout) as {
      inventory: { folded: number; withoutMachineInfo: number };
      impact: {
        devices: number;
        newlyBlocked: number;
        groups: Array<{ model: string; osVersion: string; devices: number }>;
      };
    };
    expect(json.inventory).toMatchObject({ folded: 1, withoutMachineInfo: 1 });
    expect(json.impact).toMatchObject({ devices: 3, newlyBlocked: 2 });
    expect(json.impact.groups.map((g) => [g.model, g.osVersion, g.devices])).toEqual([
      ["iPhone15,2", "26.5", 1],
      ["iPhone17,3", "26.5", 1],
    ]);
  });
});
