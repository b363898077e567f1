// Issue 15's rough edges in `enrollgate test` and `validate` through the real
// bin: annotations for GitHub Actions, test case names used twice, and the
// files a set names (trust anchors) checked on disk.
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { projectPath } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";
import { readFile } from "node:fs/promises";

const RULES = 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6" }\n';
const CASES = [
  "cases:",
  "  - name: old iPhone",
  '    facts: { product: "iPhone15,2", osVersion: "26.5" }',
  "    expect: { decision: allow, reason: compliant }",
  "  - name: new iPhone",
  '    facts: { product: "iPhone15,2", osVersion: "26.6" }',
  "    expect: { decision: allow, reason: compliant, rule: floor }",
  "",
].join("\n");

describe("enrollgate test --format github", () => {
  const report = [
    "p/a.test.yaml",
    "  ✗ old iPhone  (p/a.test.yaml:2:11)",
    "      decision: expected allow, got block",
    "      reason: expected compliant, got below-minimum",
    "      decided: iPhone15,2 on iOS 26.5 is below floor's minimum 26.6; asked to update to 26.6",
    "  ✗ new iPhone  (p/a.test.yaml:5:11)",
    "      rule: expected floor, got none",
    "      decided: iPhone15,2 on iOS 26.6 meets every rule that applies to it",
    "",
    "0 passed, 2 failed",
    "",
  ].join("\n");
  const annotations = [
    "::error file=p/a.test.yaml,line=2,col=11,endLine=2,endColumn=21,title=enrollgate test%3A old iPhone::decision: expected allow, got block%0Areason: expected compliant, got below-minimum%0Adecided: iPhone15,2 on iOS 26.5 is below floor's minimum 26.6; asked to update to 26.6",
    "::error file=p/a.test.yaml,line=5,col=11,endLine=5,endColumn=21,title=enrollgate test%3A new iPhone::rule: expected floor, got none%0Adecided: iPhone15,2 on iOS 26.6 meets every rule that applies to it",
    "",
  ].join("\n");

  it("annotates each failing case at its name, then prints the report for the log", async () => {
    const dir = await tempDir({ "p/a.yaml": RULES, "p/a.test.yaml": CASES });
    const r = await enrollgate(["test", "p", "--format", "github", "--now", "2026-09-01"], { cwd: dir });
    expect(r).toMatchObject({ code: 1, stderr: "", stdout: annotations + report });
  });

  it("is the default under GITHUB_ACTIONS=true, and text stays the default elsewhere", async () => {
    const dir = await tempDir({ "p/a.yaml": RULES, "p/a.test.yaml": CASES });
    const inCi = await enrollgate(["test", "p", "--now", "2026-09-01"], { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
    expect(inCi.stdout).toBe(annotations + report);
    const local = await enrollgate(["test", "p", "--now", "2026-09-01"], { cwd: dir });
    expect(local.stdout).toBe(report);
  });

  it("annotates findings and untested rules where they are written; a passing run has no annotation", async () => {
    const dir = await tempDir({
      "p/a.yaml": `${RULES}  - { id: mac, platform: macOS, minimum: "26.1" }\n`,
      "p/a.test.yaml": CASES.replace("name: new iPhone", "name: old iPhone"),
    });
    const r = await enrollgate(["test", "p", "--format", "github", "--require-tests", "--now", "2026-09-01"], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("::"))).toEqual([
      '::error file=p/a.test.yaml,line=2,col=11,endLine=2,endColumn=21,title=enrollgate test-duplicate-name::test case name "old iPhone" is also used at p/a.test.yaml:5:11',
      '::error file=p/a.test.yaml,line=5,col=11,endLine=5,endColumn=21,title=enrollgate test-duplicate-name::test case name "old iPhone" is also used at p/a.test.yaml:2:11',
      "::error file=p/a.test.yaml,line=2,col=11,endLine=2,endColumn=21,title=enrollgate test%3A old iPhone::decision: expected allow, got block%0Areason: expected compliant, got below-minimum%0Adecided: iPhone15,2 on iOS 26.5 is below floor's minimum 26.6; asked to update to 26.6",
      "::error file=p/a.test.yaml,line=5,col=11,endLine=5,endColumn=21,title=enrollgate test%3A old iPhone::rule: expected floor, got none%0Adecided: iPhone15,2 on iOS 26.6 meets every rule that applies to it",
      '::error file=p/a.yaml,line=3,col=11,endLine=3,endColumn=14,title=enrollgate rule-untested (mac)::rule "mac" has no test case that expects it',
    ]);
    const fixed = await tempDir({
      "p/a.yaml": RULES,
      "p/a.test.yaml": CASES.replace(
        "decision: allow, reason: compliant }",
        "decision: block, reason: below-minimum }",
      ).replace(
        "expect: { decision: allow, reason: compliant, rule: floor }",
        "expect: { decision: allow, reason: compliant }",
      ),
    });
    const pass = await enrollgate(["test", "p", "--format", "github", "--now", "2026-09-01"], { cwd: fixed });
    expect(pass).toMatchObject({
      code: 0,
      stdout: "p/a.test.yaml\n  ✓ old iPhone\n  ✓ new iPhone\n\n2 passed, 0 failed\n",
    });
  });
});

describe("test case names used twice", () => {
  it("are reported at both cases, across files too, and the run fails", async () => {
    const dir = await tempDir({
      "p/a.yaml": RULES,
      "p/a.test.yaml": CASES,
      "p/b.test.yaml": CASES.split("\n").slice(0, 4).join("\n") + "\n",
    });
    const r = await enrollgate(["test", "p", "--now", "2026-09-01"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual([
      '✗ p/a.test.yaml:2:11 test-duplicate-name test case name "old iPhone" is also used at p/b.test.yaml:2:11',
      '✗ p/b.test.yaml:2:11 test-duplicate-name test case name "old iPhone" is also used at p/a.test.yaml:2:11',
    ]);
  });
});

describe("enrollgate validate checks the files a set names", () => {
  it("a trust anchor that does not exist, or holds no certificate, is an error at its line; one that does passes", async () => {
    const apple = await readFile(projectPath("anchors", "apple.pem"), "utf8");
    const dir = await tempDir({
      "p/a.yaml": RULES,
      "p/enrollgate.yaml":
        "trustAnchors:\n  - apple\n  - anchors/apple.pem\n  - anchors/missing.pem\n  - anchors/notes.txt\n",
      "p/anchors/apple.pem": apple,
      "p/anchors/notes.txt": "our device CA, see the wiki\n",
    });
    const r = await enrollgate(["validate", "p", "--now", "2026-09-01"], { cwd: dir });
    expect(r).toMatchObject({
      code: 1,
      stdout: [
        "p/enrollgate.yaml:4:5 error trust-anchor-missing trust anchor anchors/missing.pem cannot be read: it does not exist; the gate will not load this policy set without it",
        "p/enrollgate.yaml:5:5 error trust-anchor-invalid trust anchor anchors/notes.txt holds no PEM certificate",
        "2 files checked: 2 errors, 0 warnings",
        "",
      ].join("\n"),
    });
  });
});
