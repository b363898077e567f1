// action.yml, run as a runner runs a composite action (test/helpers/github-action.ts):
// from a checkout of this repository (its git files, as `uses:` fetches
// them), in the workspace of a policy repository, offline (npm answered from
// package-lock.json and the cache, see test/helpers/npm.ts), with npm's global
// prefix in a temporary directory. The first run installs enrollgate from the
// checkout; the later runs are later uses of the action in the same job.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAction, runAction, type ActionRun, type RunOptions } from "../helpers/github-action.js";
import { lockfileRegistry, npmEnv } from "../helpers/npm.js";
import { projectPath, readProject } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";

const ACTION = parseAction(readProject("action.yml"));
const MANIFEST = JSON.parse(readProject("package.json")) as { version: string };

/** The action's checkout: the repository's files as git has them (untracked new ones too), no node_modules or dist. */
async function checkout(): Promise<string> {
  const dir = await tempDir();
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: projectPath(),
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f !== "" && existsSync(projectPath(f)));
  for (const f of files) {
    await mkdir(dirname(join(dir, f)), { recursive: true });
    await cp(projectPath(f), join(dir, f));
  }
  return dir;
}

/** A policy repository: the example policies and a GDMF snapshot. */
async function workspace(extra: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir({ "feeds/gdmf.json": readProject("test/corpus/gdmf.json"), ...extra });
  await cp(projectPath("policies"), join(dir, "policies"), { recursive: true });
  for (const [file, text] of Object.entries(extra)) await writeFile(join(dir, file), text);
  return dir;
}

let base: Omit<RunOptions, "workspace" | "inputs">;
let first: ActionRun;
let firstWorkspace: string;
let prefix: string;

beforeAll(async () => {
  prefix = await tempDir();
  const env = npmEnv(await lockfileRegistry(), { npm_config_prefix: prefix });
  base = { actionPath: await checkout(), runnerTemp: await tempDir(), env };
  firstWorkspace = await workspace();
  first = await runAction(ACTION, { ...base, workspace: firstWorkspace, inputs: { "upload-sarif": "true" } });
}, 300_000);

/** A later use of the action in the same job: enrollgate is installed and on PATH already. */
const again = (workspaceDir: string, inputs: Record<string, string>) =>
  runAction(ACTION, { ...base, workspace: workspaceDir, inputs, earlier: { run: first, reuse: ["install"] } });

describe("action.yml", () => {
  it("is a composite action whose scripts read its inputs from the environment only", () => {
    expect(Object.keys(ACTION.inputs).sort()).toEqual(["adu-catalog", "gdmf", "policies", "strict", "upload-sarif"]);
    for (const step of ACTION.runs.steps) {
      // `${{ inputs.x }}` pasted into a script is a script injection: a crafted input runs as code.
      if (step.run !== undefined) expect(step.run, step.name).not.toContain("${{");
    }
  });

  it("installs enrollgate from its checkout, without TypeScript beside it, and puts it on PATH", () => {
    const install = first.step("Install enrollgate from the action's checkout");
    expect(install.outcome, install.stderr).toBe("success");
    expect(first.path).toEqual([join(prefix, "bin")]);
    const installed = join(prefix, "lib", "node_modules", "enrollgate");
    expect(JSON.parse(readFileSync(join(installed, "package.json"), "utf8"))).toMatchObject({
      version: MANIFEST.version,
    });
    expect(existsSync(join(installed, "node_modules", "typescript"))).toBe(false);
    expect(install.stderr).not.toMatch(/npm warn/i);
  });

  it("validates with annotations, runs the test cases with --require-tests, and uploads the SARIF it asked for", () => {
    const validate = first.step("Validate the policies");
    expect(validate.outcome).toBe("success");
    expect(validate.stdout).toMatch(
      /^::warning file=policies\/beta\.yaml,line=\d+,col=\d+,.*title=enrollgate beta-token-unset \(qa-ios27-seed\)::/m,
    );
    const test = first.step("Test the policies");
    expect(test.outcome, test.stderr).toBe("success");
    expect(test.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    const sarifFile = first.outputs["sarif-file"] ?? "";
    expect(sarifFile).toBe(join(base.runnerTemp, "enrollgate.sarif"));
    const sarif = JSON.parse(readFileSync(sarifFile, "utf8")) as {
      version: string;
      runs: Array<{ results: unknown[] }>;
    };
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.runs[0]?.results).toHaveLength(1);
    expect(first.step("Upload the SARIF to code scanning")).toMatchObject({
      outcome: "success",
      with: { sarif_file: sarifFile, category: "enrollgate" },
    });
  });

  it("fails a pull request whose policies have errors, and still tests them and uploads their findings", async () => {
    const broken = await workspace({
      "policies/broken.yaml": "rules:\n  - id: broken-floor\n    platform: iOS\n    minimum: 17.10\n",
    });
    const run = await again(broken, { gdmf: "feeds/gdmf.json", strict: "true", "upload-sarif": "true" });
    const validate = run.step("Validate the policies");
    expect(validate.outcome).toBe("failure");
    expect(validate.stdout).toMatch(/^::error file=policies\/broken\.yaml,line=4,col=14,.*version-not-string/m);
    // --strict: the unset token is an error; --gdmf: targets the snapshot does not list are errors.
    expect(validate.stdout).toMatch(/^::error file=policies\/beta\.yaml,.*beta-token-unset/m);
    expect(validate.stdout).toMatch(/^::error file=policies\/mac\.yaml,.*target-not-in-feed/m);
    const test = run.step("Test the policies");
    expect(test.outcome).toBe("failure");
    expect(test.stdout).toMatch(/version-not-string/);
    const sarif = JSON.parse(readFileSync(run.outputs["sarif-file"] ?? "", "utf8")) as {
      runs: Array<{ results: Array<{ ruleId: string }> }>;
    };
    expect(sarif.runs[0]?.results.map((r) => r.ruleId)).toEqual(expect.arrayContaining(["version-not-string"]));
    expect(run.step("Upload the SARIF to code scanning").outcome).toBe("success");
  });

  it("uploads no SARIF unless asked, and runs no input as code", async () => {
    const dir = await workspace();
    const plain = await again(dir, {});
    expect(plain.steps.map((s) => [s.name, s.outcome])).toEqual([
      ["Install enrollgate from the action's checkout", "success"],
      ["Validate the policies", "success"],
      ["Test the policies", "success"],
      ["Write the findings as SARIF", "skipped"],
      ["Upload the SARIF to code scanning", "skipped"],
    ]);
    const hostile = await again(dir, { policies: 'policies"; touch pwned; "$(touch pwned2)', gdmf: "$(touch pwned3)" });
    expect(hostile.step("Validate the policies").outcome).toBe("failure");
    for (const f of ["pwned", "pwned2", "pwned3"]) expect(existsSync(join(dir, f)), f).toBe(false);
  });
});

describe("docs/deployment.md's GitHub Action section", () => {
  const page = readProject("docs/deployment.md");
  const start = page.indexOf("\n## GitHub Action\n");
  const end = page.indexOf("\n## ", start + 1);
  const section = page.slice(start, end === -1 ? undefined : end);

  it("lists every input with its default, and its workflow uses only inputs the action has", () => {
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2]?.trim()]);
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(
        Object.entries(ACTION.inputs).map(([name, spec]) => [
          name,
          spec.default === "" ? "(none)" : `\`${spec.default}\``,
        ]),
      ),
    );
    const workflow = parse(/```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "") as {
      jobs: { check: { steps: Array<{ uses?: string; with?: Record<string, unknown> }> } };
    };
    const step = workflow.jobs.check.steps.find((s) => s.uses?.includes("/enrollgate@") === true);
    expect(Object.keys(step?.with ?? {}).filter((k) => !(k in ACTION.inputs))).toEqual([]);
  });
});
