// The two YAML readings of a policy file agree: the fast one (js-yaml) and the
// positioned one (yaml), which also handles everything the fast one sends it.
import { readdirSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseSource } from "../src/policy/source.js";
import { generatePolicySet } from "../support/policy-sets.js";
import { mustCompile } from "./helpers/policies.js";
import { projectPath, readProject } from "./helpers/project.js";

const read = (text: string) => parseSource({ path: "f.yaml", text });

describe("the fast and the positioned readings", () => {
  const examples = readdirSync(projectPath("policies")).filter((f) => f.endsWith(".yaml"));

  it.each(examples)("agree on policies/%s", (file) => {
    const text = readProject("policies", file);
    expect(read(text).source?.value).toEqual(parse(text) ?? null);
  });

  it("agree on a generated set of 1,000 rules", () => {
    for (const text of Object.values(generatePolicySet({ rules: 1000, files: 3 }).files)) expect(read(text).source?.value).toEqual(parse(text));
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
    expect(src?.locate(["rules", 0, "minimum"])).toEqual({ file: "f.yaml", line: 4, column: 14, endLine: 4, endColumn: 19 });
    expect(src?.scalarAt(["rules", 0, "minimum"])).toMatchObject({ value: 17.1, source: "17.10" });
  });

  it("sends aliases to yaml, which keeps them (within its limit)", () => {
    const r = read("x: &m ['iPhone15,2']\nrules:\n  - {id: a, platform: iOS, minimum: '17.0', models: *m}\n");
    expect(r.findings).toEqual([]);
    expect(r.source?.value).toEqual({ x: ["iPhone15,2"], rules: [{ id: "a", platform: "iOS", minimum: "17.0", models: ["iPhone15,2"] }] });
  });

  it("gives compiled rules their position on demand, in JSON too", () => {
    const set = mustCompile({ "a.yaml": "rules:\n  - id: first\n    platform: iOS\n    minimum: '17.0'\n  - id: second\n    platform: macOS\n    minimum: '14.0'\n" });
    const second = set.rules.find((r) => r.id === "second");
    expect(second?.source).toMatchObject({ file: "a.yaml", line: 5, column: 9 });
    const json = JSON.parse(JSON.stringify(second)) as { id: string; source: { line: number }; minimumText: string };
    expect(json).toMatchObject({ id: "second", minimumText: "14.0", source: { line: 5 } });
    expect(Object.isFrozen(second)).toBe(true);
  });
});
