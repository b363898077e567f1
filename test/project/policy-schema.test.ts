// schemas/policy.schema.json as editors use it: the whole file, from its root.
import { readdirSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { projectPath, readProject } from "../helpers/project.js";

const schema = JSON.parse(readProject("schemas", "policy.schema.json")) as Record<string, unknown>;
const validate = new Ajv2020({ strict: true }).compile(schema);
const examples = readdirSync(projectPath("policies")).filter((f) => f.endsWith(".yaml"));

describe("policy.schema.json from its root", () => {
  it.each(examples)("accepts policies/%s", (file) => {
    const text = readProject("policies", file);
    expect(text.startsWith("# yaml-language-server: $schema=../schemas/policy.schema.json\n")).toBe(true);
    expect(validate(parse(text) ?? {}), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ["a rule with a misspelt key", { rules: [{ id: "a", platform: "iOS", minimum: "17.0", minimun: "17.0" }] }],
    ["a version as a number", { rules: [{ id: "a", platform: "iOS", minimum: 17.1 }] }],
    [
      "a literal token",
      { rules: [{ id: "a", platform: "iOS", minimum: "17.0", betaProgram: { description: "b", token: "abc" } }] },
    ],
    ["rules and cases in one file", { rules: [], cases: [] }],
    ["an unknown setting", { verfy: "enforce" }],
  ])("rejects %s", (_what, doc) => {
    expect(validate(doc)).toBe(false);
  });
});
