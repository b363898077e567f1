// A place in a policy file reads `file:line:col` wherever enrollgate names it:
// validate's reports, the test runner, the gate's log and the error a library
// gets from a set that does not compile. One function writes it.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { assertCompiled, compile, enrollmentGate, loadPolicySet, PolicySetError, startServer } from "enrollgate";
import { run } from "enrollgate/cli";
import { captureLog } from "./helpers/http.js";
import { compileFiles } from "./helpers/policies.js";
import { projectPath, readProject } from "./helpers/project.js";
import { tempDir } from "./helpers/tmp.js";

const BROKEN = {
  "p/rules.yaml": "rules:\n  - id: floor\n    platform: iOS\n    minimum: 26.6\n",
  "p/rules.test.yaml":
    "cases:\n  - { name: a, facts: { product: 'iPhone17,3', osVersion: '26.5' }, expect: { decision: block, reason: below-minimum } }\n",
};
const WHERE = "p/rules.yaml:4:14";
const FINDING = `${WHERE} version-not-string "minimum" is the YAML number 26.6; write it as a quoted string: "26.6"`;

async function cli(args: string[], cwd: string): Promise<string> {
  let out = "";
  await run(args, { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {}, cwd });
  return out;
}

describe("a finding's place", () => {
  it("reads file:line:col in validate, junit, the test runner, the gate's log and startup error, and a library's PolicySetError", async () => {
    const dir = await tempDir(BROKEN);
    expect((await cli(["validate", "p"], dir)).split("\n")[0]).toBe(FINDING.replace(WHERE, `${WHERE} error`));
    expect(await cli(["validate", "p", "--format", "junit"], dir)).toContain(
      `>${FINDING.replace(WHERE, `${WHERE} error`).replace(/"/g, "&quot;")}</failure>`,
    );
    expect((await cli(["test", "p"], dir)).split("\n")[0]).toBe(`✗ ${FINDING}`);

    const log = captureLog();
    const gate = enrollmentGate({ policies: "p", cwd: dir, verify: "off", logger: log.logger, env: {} });
    await expect(gate.ready).rejects.toThrow(PolicySetError);
    gate.store.close();
    expect(log.lines.find((l) => l.event === "policy-reload-failed")).toMatchObject({ findings: [FINDING] });
    await expect(
      startServer({
        policies: "p",
        host: "127.0.0.1",
        port: 0,
        overrides: {},
        logger: captureLog().logger,
        env: {},
        cwd: dir,
        watch: false,
      }),
    ).rejects.toThrow(`\n${FINDING}`);

    const source = await loadPolicySet("p", { cwd: dir });
    expect(() => assertCompiled(compile(source), "p")).toThrow(`\n${FINDING}`);
  });

  it("is written by formatLocation alone in src/", () => {
    const sources = (function walk(dir: string): string[] {
      return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : path.endsWith(".ts") ? [path] : [];
      });
    })(projectPath("src"));
    // `${x.file}:${x.line}:${x.column}`, `${source}:${line}:${column ?? 1}` and the like.
    const byHand = /\$\{[^}]*\}:\$\{[^}]*\bline\b[^}]*\}:\$\{[^}]*\b(column|col)\b[^}]*\}/;
    const offenders = sources.filter(
      (path) => !path.endsWith("location.ts") && byHand.test(readProject(relative(projectPath(), path))),
    );
    expect(sources.length).toBeGreaterThan(50);
    expect(offenders.map((p) => relative(projectPath(), p))).toEqual([]);
    expect(byHand.test("`${f.file}:${f.line}:${f.column} ${f.code}`")).toBe(true);
  });
});

describe("assertCompiled, for a library that calls compile() itself", () => {
  it("returns the compiled set", () => {
    const set = assertCompiled(
      compileFiles({ "rules.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6" }\n' }),
    );
    expect(set.rules.map((r) => r.id)).toEqual(["floor"]);
  });

  it("throws a PolicySetError carrying the findings, its message naming the errors as file:line:col code message", async () => {
    const dir = await tempDir({
      ...BROKEN,
      "p/more.yaml": "rules:\n  - { id: other, platform: iOS, minimum: '26.6', target: '26.5' }\n",
    });
    let error: unknown;
    try {
      assertCompiled(compile(await loadPolicySet("p", { cwd: dir })), "p");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicySetError);
    const e = error as PolicySetError;
    expect(e.code).toBe("policy-set-invalid");
    expect(e.findings.map((f) => f.code)).toEqual(["target-below-minimum", "version-not-string"]);
    expect(e.message.split("\n")).toEqual([
      "the policy set in p does not compile: the policy set has errors",
      "p/more.yaml:2:58 target-below-minimum target 26.5 is below minimum 26.6: a device that installs it would still be blocked",
      FINDING,
    ]);
  });

  it("lets a set with errors only in its test files through, as the gate does", () => {
    const result = compileFiles({
      "rules.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6" }\n',
      "a.test.yaml": "cases: []\n",
    });
    expect(result.ok).toBe(false);
    expect(assertCompiled(result).rules).toHaveLength(1);
  });

  it("names no directory when given none", () => {
    expect(() => assertCompiled(compileFiles({ "rules.yaml": "rules: [" }))).toThrow(
      /^the policy set does not compile: the policy set has errors\nrules\.yaml:1:\d+ yaml-syntax /,
    );
  });
});
