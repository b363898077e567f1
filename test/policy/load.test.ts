// Reading a policy directory from disk.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, loadPolicySet, PolicyLoadError } from "enrollgate";
import { tempDir } from "../helpers/tmp.js";

const rule = 'rules:\n  - id: a\n    platform: iOS\n    minimum: "17.0"\n';

describe("loadPolicySet", () => {
  it("finds rule, test and settings files recursively, sorted, skipping hidden folders", async () => {
    const dir = await tempDir({
      "enrollgate.yaml": "format: plist\n",
      "b.yaml": rule.replace("id: a", "id: b"),
      "team/a.yml": rule,
      "team/a.test.yaml": "cases: []\n",
      "team/enrollgate.yaml": "rules: []\n",
      ".git/config.yaml": "not: policy\n",
      "node_modules/x.yaml": "not: policy\n",
      "README.md": "# not yaml",
    });
    const source = await loadPolicySet(dir, { cwd: dir });
    expect(source.files.map((f) => [f.path, f.kind])).toEqual([
      ["b.yaml", "rules"],
      ["enrollgate.yaml", "settings"],
      ["team/a.test.yaml", "tests"],
      ["team/a.yml", "rules"],
      ["team/enrollgate.yaml", "rules"],
    ]);
  });

  it("shows paths relative to the working directory", async () => {
    const dir = await tempDir({ "p/a.yaml": rule });
    const source = await loadPolicySet("p", { cwd: dir });
    expect(source.files[0]?.path).toBe("p/a.yaml");
    expect(source.dir).toBe(join(dir, "p"));
  });

  it("reports invalid UTF-8 as a finding, not a crash", async () => {
    const dir = await tempDir({ "a.yaml": new Uint8Array([0x72, 0x75, 0x6c, 0x65, 0x73, 0x3a, 0xff, 0xfe, 0x0a]) });
    const result = compile(await loadPolicySet(dir, { cwd: dir }));
    expect(result.findings).toMatchObject([
      { file: "a.yaml", line: 1, column: 1, code: "file-unreadable", message: "the file is not valid UTF-8" },
    ]);
  });

  it("accepts a byte-order mark", async () => {
    const dir = await tempDir({ "a.yaml": `\uFEFF${rule}` });
    expect(compile(await loadPolicySet(dir, { cwd: dir })).findings).toEqual([]);
  });

  it("refuses an oversized file before reading it", async () => {
    const dir = await tempDir({ "big.yaml": `# ${"x".repeat(17 * 1024 * 1024)}\n` });
    const result = compile(await loadPolicySet(dir, { cwd: dir }));
    expect(result.findings[0]).toMatchObject({
      file: "big.yaml",
      code: "file-unreadable",
      message: /more than the 16 MiB a policy file may have/,
    });
  });

  it("names a missing directory", async () => {
    await expect(loadPolicySet("/nonexistent/policies")).rejects.toThrow(PolicyLoadError);
    await expect(loadPolicySet("/nonexistent/policies")).rejects.toThrow(
      "policy directory /nonexistent/policies does not exist",
    );
  });
});
