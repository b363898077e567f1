// The two YAML readings of a policy file agree: the fast one (js-yaml) and the
// positioned one (yaml), which also handles everything the fast one sends it.
import { readdirSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { firstTooDeep, parseSource } from "enrollgate/policy";
import { generatePolicySet } from "../../support/policy-sets.js";
import { mustCompile } from "../helpers/policies.js";
import { projectPath, readProject } from "../helpers/project.js";

const read = (text: string) => parseSource({ path: "f.yaml", text });

describe("the fast and the positioned readings", () => {
  const examples = readdirSync(projectPath("policies")).filter((f) => f.endsWith(".yaml"));

  it.each(examples)("agree on policies/%s", (file) => {
    const text = readProject("policies", file);
    expect(read(text).source?.value).toEqual(parse(text) ?? null);
  });

  it("agree on a generated set of 1,000 rules", () => {
    for (const text of Object.values(generatePolicySet({ rules: 1000, files: 3 }).files))
      expect(read(text).source?.value).toEqual(parse(text));
  });

  it.each([
    ["dates stay strings", "activeFrom: 2026-12-01\n", { activeFrom: "2026-12-01" }],
    ["floats stay numbers", "minimum: 17.10\n", { minimum: 17.1 }],
    ["YAML 1.2 booleans", "a: true\nb: True\nc: yes\nd: off\n", { a: true, b: true, c: "yes", d: "off" }],
    ["nulls", "a: ~\nb: null\nc:\n", { a: null, b: null, c: null }],
    ["quoted commas", 'models: ["iPhone15,*"]\n', { models: ["iPhone15,*"] }],
    ["a merge key is just a key", "<<: {a: 1}\n", { "<<": { a: 1 } }],
  ])("agree: %s", (_what, text, value) => {
    expect(read(text).source?.value).toEqual(value);
    expect(parse(text)).toEqual(value);
  });

  it("points at positions in a file read the fast way", () => {
    const src = read("rules:\n  - id: a\n    platform: iOS\n    minimum: 17.10\n").source;
    expect(src?.locate(["rules", 0, "minimum"])).toEqual({
      file: "f.yaml",
      line: 4,
      column: 14,
      endLine: 4,
      endColumn: 19,
    });
    expect(src?.scalarAt(["rules", 0, "minimum"])).toMatchObject({ value: 17.1, source: "17.10" });
  });

  it("sends aliases to yaml, which keeps them (within its limit)", () => {
    const r = read("x: &m ['iPhone15,2']\nrules:\n  - {id: a, platform: iOS, minimum: '17.0', models: *m}\n");
    expect(r.findings).toEqual([]);
    expect(r.source?.value).toEqual({
      x: ["iPhone15,2"],
      rules: [{ id: "a", platform: "iOS", minimum: "17.0", models: ["iPhone15,2"] }],
    });
  });

  it("gives compiled rules their position on demand, in JSON too", () => {
    const set = mustCompile({
      "a.yaml":
        "rules:\n  - id: first\n    platform: iOS\n    minimum: '17.0'\n  - id: second\n    platform: macOS\n    minimum: '14.0'\n",
    });
    const second = set.rules.find((r) => r.id === "second");
    expect(second?.source).toMatchObject({ file: "a.yaml", line: 5, column: 9 });
    const json = JSON.parse(JSON.stringify(second)) as { id: string; source: { line: number }; minimumText: string };
    expect(json).toMatchObject({ id: "second", minimumText: "14.0", source: { line: 5 } });
    expect(Object.isFrozen(second)).toBe(true);
  });
});

describe("nesting depth, measured before parsing", () => {
  const nest = (depth: number) => `rules: ${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}\n`;

  it("accepts 64 levels (the mapping and 63 lists) and refuses 65, at the 64th bracket", () => {
    expect(firstTooDeep(nest(64))).toBeNull();
    expect(read(nest(64)).findings).toEqual([]);
    expect(firstTooDeep(nest(65))).toBe("rules: ".length + 63);
    expect(read(nest(65)).findings).toEqual([
      {
        file: "f.yaml",
        line: 1,
        column: 71,
        endLine: 1,
        endColumn: 72,
        severity: "error",
        code: "yaml-too-deep",
        message: "the document nests more than 64 levels deep here; policy files need a handful",
      },
    ]);
  });

  it("counts block nesting by indentation, a list under a key at its column as a level", () => {
    // k0: / - k1: / "  - k2:" ...: each line opens a list and a mapping.
    const keys = (n: number) =>
      ["k0:", ...Array.from({ length: n }, (_, i) => `${"  ".repeat(i)}- k${i + 1}:`), ""].join("\n");
    expect(firstTooDeep(keys(31))).toBeNull();
    expect(firstTooDeep(keys(32))).not.toBeNull();
    expect(firstTooDeep(`${"- ".repeat(64)}x\n`)).toBeNull();
    expect(firstTooDeep(`${"- ".repeat(65)}x\n`)).toBe(128);
  });

  it.each([
    ["in a quoted string", `message: "${"[".repeat(500)}"\n`],
    ["in a single-quoted string over lines", `message: '${"{".repeat(300)}\n  ${"[".repeat(300)}'\n`],
    ["in a plain scalar", `message: Update ${"[".repeat(500)}\n`],
    ["in a comment", `# ${"[".repeat(500)}\nrules: []\n`],
    ["in a block scalar", `message: |\n  ${"[".repeat(500)}\n  ${"- ".repeat(200)}\nrules: []\n`],
  ])("ignores brackets and dashes %s", (_what, text) => {
    expect(firstTooDeep(text)).toBeNull();
  });

  it("measures the example policies at a handful of levels", () => {
    for (const file of readdirSync(projectPath("policies")).filter((f) => f.endsWith(".yaml"))) {
      expect(firstTooDeep(readProject("policies", file), 6), file).toBeNull();
    }
  });
});
