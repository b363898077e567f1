// Files a policy names (issue 11, class 11): a policy change in git must never
// make the gate read the server's files, block on a FIFO, or read a policy
// file from outside its directory. Checked where it matters: the real
// `enrollgate validate` and the real `enrollgate serve`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CmsError, parsePemCertificates } from "enrollgate/apple";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { BIN, enrollgate } from "../helpers/cli.js";
import { eventually } from "../helpers/http.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

interface JsonFinding {
  file: string;
  line: number;
  column: number;
  severity: string;
  code: string;
  message: string;
}

const beta = (id: string, platform: string, file: string) =>
  `  - id: ${id}\n    platform: ${platform}\n    minimum: "26.6.1"\n    betaProgram:\n      description: Beta\n      token: { file: ${file} }\n`;

async function validate(
  cwd: string,
  args: string[] = [],
): Promise<{ code: number | null; findings: JsonFinding[]; stdout: string }> {
  const r = await enrollgate(["validate", "p", "--format", "json", ...args], { cwd });
  expect(r.stderr).toBe("");
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings, stdout: r.stdout };
}

const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

describe("files a policy names, in validate", () => {
  it("a token file at /etc/passwd is an error at the token's line, and none of its contents is shown", async () => {
    const dir = await tempDir({ "p/rules.yaml": `rules:\n${beta("floor", "iOS", "/etc/passwd")}` });
    const { code, findings, stdout } = await validate(dir);
    expect(code).toBe(1);
    expect(findings).toEqual([
      expect.objectContaining({
        file: "p/rules.yaml",
        line: 7,
        column: 22,
        severity: "error",
        code: "token-file-refused",
        message:
          "beta program token file /etc/passwd is refused: it is outside the policy directory; a file a policy names must be inside the policy directory or a directory given with --secrets-dir (secretsDirs)",
      }),
    ]);
    const firstLine = readFileSync("/etc/passwd", "utf8").split("\n")[0] ?? "";
    expect(stdout).not.toContain(firstLine);
  });

  it("a token file reached through .. or through a symlink that leaves the directory is an error", async () => {
    const dir = await tempDir({
      "p/rules.yaml": `rules:\n${beta("dots", "iOS", "../outside/token")}${beta("link", "iPadOS", "secret-link")}`,
      "outside/token": "not for the policy\n",
    });
    await symlink(join(dir, "outside/token"), join(dir, "p/secret-link"));
    const { code, findings } = await validate(dir);
    expect(code).toBe(1);
    expect(findings.map((f) => [f.line, f.code, f.message])).toEqual([
      [
        7,
        "token-file-refused",
        expect.stringMatching(
          /^beta program token file \.\.\/outside\/token is refused: it is outside the policy directory;/,
        ),
      ],
      [
        13,
        "token-file-refused",
        expect.stringContaining(`it is outside the policy directory (it resolves to ${join(dir, "outside/token")})`),
      ],
    ]);
  });

  it("a token in a --secrets-dir is accepted, named directly or through a symlink in the policy directory", async () => {
    const dir = await tempDir({ "secrets/beta-token": "seed-token\n" });
    await mkdir(join(dir, "p"));
    await writeFile(
      join(dir, "p/rules.yaml"),
      `rules:\n${beta("direct", "iOS", join(dir, "secrets/beta-token"))}${beta("linked", "iPadOS", "beta-link")}`,
    );
    await symlink(join(dir, "secrets/beta-token"), join(dir, "p/beta-link"));
    expect(await validate(dir, ["--secrets-dir", "secrets"])).toMatchObject({ code: 0, findings: [] });
    // Without the operator's flag, the same files are refused.
    const without = await validate(dir);
    expect(without.code).toBe(1);
    expect(without.findings.map((f) => f.code)).toEqual(["token-file-refused", "token-file-refused"]);
  });

  it("a token file that does not exist in a secrets directory is only a warning (CI has no secrets)", async () => {
    const dir = await tempDir({ "p/rules.yaml": `rules:\n${beta("floor", "iOS", "/run/enrollgate-secrets/beta")}` });
    const { code, findings } = await validate(dir, ["--secrets-dir", "/run/enrollgate-secrets"]);
    expect(code).toBe(0);
    expect(findings).toEqual([expect.objectContaining({ line: 7, severity: "warning", code: "beta-token-unset" })]);
  });

  it("secretsDirs cannot be set from enrollgate.yaml, which lives in the policy repository", async () => {
    const dir = await tempDir({ "p/enrollgate.yaml": "secretsDirs: [/etc]\n", "p/rules.yaml": "rules: []\n" });
    const { code, findings } = await validate(dir);
    expect(code).toBe(1);
    expect(findings).toEqual([
      expect.objectContaining({ file: "p/enrollgate.yaml", line: 1, code: "schema-unknown-key" }),
    ]);
  });

  it("a FIFO as token file, trust anchor and policy file: validate finishes, with an error for each", async () => {
    const dir = await tempDir({
      "p/rules.yaml": `rules:\n${beta("floor", "iOS", "token-pipe")}`,
      "p/enrollgate.yaml": "verify: enforce\ntrustAnchors: [anchor-pipe]\n",
    });
    mkfifo(join(dir, "p/token-pipe"));
    mkfifo(join(dir, "p/anchor-pipe"));
    mkfifo(join(dir, "p/fifo.yaml"));
    const { code, findings } = await validate(dir);
    expect(code).toBe(1);
    expect(findings.map((f) => [f.file, f.line, f.code, f.message])).toEqual([
      [
        "p/enrollgate.yaml",
        2,
        "trust-anchor-refused",
        "trust anchor anchor-pipe is refused: it is a FIFO, not a regular file",
      ],
      ["p/fifo.yaml", 1, "file-unreadable", "the file is a FIFO, not a regular file"],
      [
        "p/rules.yaml",
        7,
        "token-file-refused",
        "beta program token file token-pipe is refused: it is a FIFO, not a regular file",
      ],
    ]);
  });

  it("a feed snapshot enrollgate.yaml names outside the directory, or as a FIFO, stops validate with the reason and none of its contents", async () => {
    const outside = await tempDir({
      "p/enrollgate.yaml": "feeds:\n  gdmf: /etc/passwd\n",
      "p/rules.yaml": "rules: []\n",
    });
    const a = await enrollgate(["validate", "p"], { cwd: outside });
    expect(a.code).toBe(2);
    expect(a.stderr).toBe(
      "enrollgate: the snapshot /etc/passwd is refused: it is outside the policy directory and the secrets directories, where snapshots enrollgate.yaml names must be\n",
    );
    const fifo = await tempDir({
      "p/enrollgate.yaml": "feeds:\n  adu:\n    catalog: adu.json\n",
      "p/rules.yaml": "rules: []\n",
    });
    mkfifo(join(fifo, "p/adu.json"));
    const b = await enrollgate(["validate", "p"], { cwd: fifo });
    expect(b.code).toBe(2);
    expect(b.stderr).toBe(
      `enrollgate: the snapshot ${join(fifo, "p/adu.json")} is refused: it is a FIFO, not a regular file\n`,
    );
  });

  it("a policy file that is a symlink out of the directory is refused; one that stays inside is read", async () => {
    const dir = await tempDir({
      "p/team/rules.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6.1" }\n',
      "elsewhere/rules.yaml": 'rules:\n  - { id: planted, platform: iOS, minimum: "1.0" }\n',
    });
    await symlink(join(dir, "p/team/rules.yaml"), join(dir, "p/inside.yaml"));
    await symlink(join(dir, "elsewhere/rules.yaml"), join(dir, "p/outside.yaml"));
    await symlink("/etc/passwd", join(dir, "p/passwd.yaml"));
    const { code, findings } = await validate(dir);
    expect(code).toBe(1);
    expect(findings.map((f) => [f.file, f.line, f.code, f.message])).toEqual([
      // inside.yaml is read: the same rule twice.
      ["p/inside.yaml", 2, "duplicate-rule-id", expect.any(String)],
      [
        "p/outside.yaml",
        1,
        "file-outside-policy-dir",
        `the file is a symlink to ${join(dir, "elsewhere/rules.yaml")}, outside the policy directory; policy files are read only inside it`,
      ],
      [
        "p/passwd.yaml",
        1,
        "file-outside-policy-dir",
        "the file is a symlink to /etc/passwd, outside the policy directory; policy files are read only inside it",
      ],
      ["p/team/rules.yaml", 2, "duplicate-rule-id", expect.any(String)],
    ]);
  });
});

describe("files a policy names, at the gate", () => {
  const floor = 'rules:\n  - { id: floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';
  let device: Identity;
  beforeAll(async () => {
    device = await createIdentity(await createCA(), { kind: "ecdsa" });
  });
  const header = async (os: string) => ({
    "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os }), device)),
  });

  it("serve refuses to start on a token file at /etc/passwd, naming the line", async () => {
    const dir = await tempDir({ "p/rules.yaml": `rules:\n${beta("floor", "iOS", "/etc/passwd")}` });
    const r = await enrollgate(["serve", "--policies", "p", "--host", "127.0.0.1", "--port", "0", "--verify", "off"], {
      cwd: dir,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^enrollgate: the policy set in p does not compile: the policy set has errors\np\/rules.yaml:7:22 token-file-refused beta program token file \/etc\/passwd is refused: it is outside the policy directory/,
    );
    expect(r.stderr).not.toContain(readFileSync("/etc/passwd", "utf8").split("\n")[0] ?? "");
  });

  it("serve refuses a beta token from a variable whose name does not end in _BETA_TOKEN (the server's ADU token, say), and its value never leaves", async () => {
    const secret = "the-servers-adu-token-value";
    const env = { ENROLLGATE_ADU_TOKEN: secret, IOS_BETA_TOKEN: "seed" };
    const dir = await tempDir({
      "p/rules.yaml": `rules:\n  - id: floor\n    platform: iOS\n    minimum: "26.6.1"\n    betaProgram:\n      description: Beta\n      token: { env: ENROLLGATE_ADU_TOKEN }\n`,
    });
    const port = await freePort();
    const gate = run(
      process.execPath,
      [BIN, "serve", "--policies", "p", "--host", "127.0.0.1", "--port", String(port), "--verify", "off", "--no-watch"],
      { cwd: dir, env },
    );
    await listening(gate);
    if (gate.child.exitCode === null) {
      // It started: what a device below the minimum would receive.
      const body = await (await fetch(`http://127.0.0.1:${port}/mdm/enroll`, { headers: await header("26.5") })).text();
      gate.child.kill("SIGTERM");
      expect(body).not.toContain(secret);
    }
    expect(await gate.exited).toBe(2);
    expect(gate.stderr()).toMatch(
      /p\/rules.yaml:7:21 token-env-refused beta program token variable ENROLLGATE_ADU_TOKEN is refused: a policy may take a token only from BETA_TOKEN or a variable whose name ends in _BETA_TOKEN/,
    );
    expect(gate.stderr()).not.toContain(secret);
    const checked = await enrollgate(["validate", "p", "--format", "json"], { cwd: dir, env });
    expect((JSON.parse(checked.stdout) as { findings: JsonFinding[] }).findings.map((f) => [f.line, f.code])).toEqual([
      [7, "token-env-refused"],
    ]);
    expect(checked.code).toBe(1);
    // Named as the convention says, it is served.
    await writeFile(
      join(dir, "p/rules.yaml"),
      readFileSync(join(dir, "p/rules.yaml"), "utf8").replace("ENROLLGATE_ADU_TOKEN", "IOS_BETA_TOKEN"),
    );
    expect((await enrollgate(["validate", "p"], { cwd: dir, env })).code).toBe(0);
  });

  it("serve given a FIFO as --trust-anchor (the operator's own path) exits 2 instead of waiting on it", async () => {
    const dir = await tempDir({ "p/rules.yaml": floor });
    mkfifo(join(dir, "pipe.pem"));
    const r = await enrollgate(
      ["serve", "--policies", "p", "--host", "127.0.0.1", "--port", "0", "--trust-anchor", "pipe.pem"],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "enrollgate: the policy set in p does not compile: trust anchor pipe.pem cannot be read: it is a FIFO, not a regular file\n",
    );
  });

  it("a trust anchor file of BEGIN lines without an END is read in one pass: serve exits 2 naming it", async () => {
    // Anchor files are parsed on the serving thread. 1 MiB of this held a lazy regular expression for 10 s a reload.
    const dir = await tempDir({
      "p/rules.yaml": floor,
      "p/enrollgate.yaml": "trustAnchors: [anchors.pem]\n",
      "p/anchors.pem": "-----BEGIN CERTIFICATE-----\n".repeat(37_000),
    });
    const r = await enrollgate(["serve", "--policies", "p", "--host", "127.0.0.1", "--port", "0"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "enrollgate: the policy set in p does not compile: the policy set has errors\np/enrollgate.yaml:1:16 trust-anchor-invalid trust anchor anchors.pem holds no PEM certificate\n",
    );
  });

  it("parsePemCertificates scans PEM text once, whatever it holds", () => {
    // A regular expression with a lazy [\s\S]+? needs longer than the test may run for this.
    expect(() => parsePemCertificates("-----BEGIN CERTIFICATE-----\n".repeat(150_000), "hostile.pem")).toThrow(
      new CmsError("hostile.pem holds no PEM certificate"),
    );
    // Certificates among text and unterminated blocks are still read.
    const pem = readFileSync(sharedPath("apple", "certs", "apple-root-ca.pem"), "utf8");
    expect(
      parsePemCertificates(`notes\n${pem}notes\n${pem}-----BEGIN CERTIFICATE-----\n`, "bundle.pem").map(
        (c) => c.subject,
      ),
    ).toEqual(Array(2).fill("C=US\nO=Apple Inc.\nOU=Apple Certification Authority\nCN=Apple Root CA"));
  });

  it("serves a beta token from a --secrets-dir", async () => {
    const dir = await tempDir({ "secrets/beta": "seed-token-123\n" });
    await mkdir(join(dir, "p"));
    await writeFile(join(dir, "p/rules.yaml"), `rules:\n${beta("floor", "iOS", join(dir, "secrets/beta"))}`);
    const port = await freePort();
    const gate = run(
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
        "--verify",
        "off",
        "--secrets-dir",
        "secrets",
        "--no-watch",
      ],
      { cwd: dir },
    );
    try {
      await listening(gate);
      const res = await fetch(`http://127.0.0.1:${port}/mdm/enroll`, { headers: await header("26.5") });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        details: { RequireBetaProgram: { Description: "Beta", Token: "seed-token-123" } },
      });
    } finally {
      gate.child.kill("SIGTERM");
      await gate.exited;
    }
  });

  describe("a running gate whose reload meets a FIFO", () => {
    let dir: string;
    let gate: Running;
    let url: string;
    beforeAll(async () => {
      dir = await tempDir({ "p/rules.yaml": floor });
      const port = await freePort();
      gate = run(
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
          "--verify",
          "off",
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
    const failures = () => gate.lines.filter((l) => l.event === "policy-reload-failed");
    const metric = async (name: string) =>
      Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? "NaN");

    it.each([
      [
        "as a policy file",
        async () => mkfifo(join(dir, "p/fifo.yaml")),
        "p/fifo.yaml:1:1 file-unreadable the file is a FIFO, not a regular file",
      ],
      [
        "as a token file",
        async () => {
          mkfifo(join(dir, "p/token"));
          await writeFile(join(dir, "p/rules.yaml"), `${floor}${beta("seed", "iPadOS", "token")}`);
        },
        "p/rules.yaml:8:22 token-file-refused beta program token file token is refused: it is a FIFO, not a regular file",
      ],
      [
        "as a trust anchor",
        async () => {
          mkfifo(join(dir, "p/anchor.pem"));
          await writeFile(join(dir, "p/enrollgate.yaml"), "trustAnchors: [anchor.pem]\n");
        },
        "p/enrollgate.yaml:1:16 trust-anchor-refused trust anchor anchor.pem is refused: it is a FIFO, not a regular file",
      ],
    ])("%s: the reload fails visibly and the last good set keeps answering", async (_what, plant, finding) => {
      const before = failures().length;
      const revision = ((await (await fetch(`${url}/readyz`)).json()) as { revision: string }).revision;
      await plant();
      gate.child.kill("SIGHUP");
      await eventually(() => failures().length > before, "the failed reload");
      expect(failures().at(-1)).toMatchObject({ level: 50, findings: [finding], keeping: revision });
      expect(await metric("enrollgate_policy_reload_failures_total")).toBe(before + 1);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/mdm/enroll`, { headers: await header("26.5") })).status).toBe(403);
      expect((await fetch(`${url}/mdm/enroll`, { headers: await header("26.6.1") })).status).toBe(200);
      // Put things right for the next case: the gate reloads again.
      await rm(join(dir, "p"), { recursive: true });
      await mkdir(join(dir, "p"));
      await writeFile(join(dir, "p/rules.yaml"), floor);
    });
  });
});
