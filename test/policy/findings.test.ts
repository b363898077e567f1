// Every finding the validator reports, at its exact line and column, on a
// small broken file.
import { describe, expect, it } from "vitest";
import type { Finding } from "enrollgate";
import { FINDING_CODES } from "enrollgate/policy";
import { parseSchemaFreeAppleDoc } from "../helpers/apple.js";
import { compileFiles } from "../helpers/policies.js";

type Expected = Omit<Partial<Finding>, "message"> & Pick<Finding, "code" | "line" | "column">;

function only(files: Record<string, string>, options: Parameters<typeof compileFiles>[1] = {}): Finding {
  const { findings } = compileFiles(files, options);
  expect(findings, JSON.stringify(findings, null, 1)).toHaveLength(1);
  return findings[0] as Finding;
}

function expectFinding(f: Finding, expected: Expected & { message?: string | RegExp }) {
  const { message, ...rest } = expected;
  expect(f).toMatchObject(rest);
  if (message instanceof RegExp) expect(f.message).toMatch(message);
  else if (message !== undefined) expect(f.message).toBe(message);
}

const head = "# yaml-language-server: $schema=../schemas/policy.schema.json\nrules:\n";

describe("YAML problems", () => {
  it("a syntax error where it is", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS: macOS\n    minimum: "17.0"\n` });
    expectFinding(f, {
      code: "yaml-syntax",
      severity: "error",
      file: "a.yaml",
      line: 4,
      column: 15,
      message: "Nested mappings are not allowed in compact mappings",
    });
  });

  it("a duplicated key", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    platform: macOS\n    minimum: "17.0"\n` });
    expectFinding(f, { code: "yaml-syntax", line: 5, column: 5, message: /unique/ });
  });

  it("nesting past 64 levels, where it passes them", () => {
    const f = only({ "a.yaml": `rules:\n  - id: a\n    models: ${"[".repeat(80)}${"]".repeat(80)}\n` });
    expectFinding(f, {
      code: "yaml-too-deep",
      line: 3,
      column: 74,
      message: "the document nests more than 64 levels deep here; policy files need a handful",
    });
  });

  it("a second document", () => {
    const f = only({ "a.yaml": `rules: []\n---\nrules: []\n` });
    expectFinding(f, { code: "yaml-multiple-documents", line: 2, column: 1 });
  });

  it("aliases that expand exponentially", () => {
    let text = "x0: &x0 [a]\n";
    for (let i = 1; i < 30; i++) text += `x${i}: &x${i} [*x${i - 1}, *x${i - 1}]\n`;
    const f = only({ "a.yaml": `${text}rules: []\n` });
    expectFinding(f, { code: "yaml-aliases", line: 2, column: 10, message: /Excessive alias count/ });
  });
});

describe("schema findings", () => {
  it("an unknown key at the key, with a suggestion", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimun: "17.0"\n    minimum: "17.0"\n` });
    expectFinding(f, {
      code: "schema-unknown-key",
      line: 5,
      column: 5,
      endLine: 5,
      endColumn: 12,
      rule: "a",
      message: 'unknown key "minimun" in item 1 (did you mean "minimum"?)',
    });
  });

  it("a missing key at its parent mapping", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n` });
    expectFinding(f, {
      code: "schema-missing-key",
      line: 3,
      column: 5,
      rule: "a",
      message: 'missing required key "minimum" in item 1',
    });
  });

  it("a wrong type at the value", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimum: "17.0"\n    models: iPhone15,2\n` });
    expectFinding(f, { code: "schema-type", line: 6, column: 13, message: '"models" must be a list' });
  });

  it("a YAML float used as a version, at the value", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimum: 17.10\n` });
    expectFinding(f, {
      code: "version-not-string",
      line: 5,
      column: 14,
      endColumn: 19,
      message: '"minimum" is the YAML number 17.10; write it as a quoted string: "17.10"',
    });
  });

  it("a YAML integer used as a version", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimum: 17\n` });
    expectFinding(f, { code: "version-not-string", line: 5, column: 14 });
  });

  it("a malformed version string", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimum: "17.x"\n` });
    expectFinding(f, {
      code: "invalid-version",
      line: 5,
      column: 14,
      message: /"minimum": "17.x" is not an Apple OS version/,
    });
  });

  it("a malformed build", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimum: "17.0"\n    minimumBuild: 21g93\n` });
    expectFinding(f, { code: "invalid-build", line: 6, column: 19, message: /"21g93" is not an Apple build number/ });
  });

  it("an impossible date", () => {
    const f = only({
      "a.yaml": `${head}  - id: a\n    platform: iOS\n    minimum: "17.0"\n    activeFrom: 2026-02-30\n`,
    });
    expectFinding(f, { code: "invalid-date", line: 6, column: 17, message: '"2026-02-30" is not a real date' });
  });

  it("a value outside its set, with the near miss", () => {
    const f = only({ "a.yaml": `${head}  - id: a\n    platform: ios\n    minimum: "17.0"\n` });
    expectFinding(f, {
      code: "schema-value",
      line: 4,
      column: 15,
      message: '"platform" must be one of iOS, iPadOS, macOS, visionOS, not ios (did you mean "iOS"?)',
    });
  });

  it("a bad rule id", () => {
    const f = only({ "a.yaml": `${head}  - id: Bad_ID\n    platform: iOS\n    minimum: "17.0"\n` });
    expectFinding(f, { code: "schema-value", line: 3, column: 9, message: /rule id "Bad_ID" must be lowercase/ });
  });
});

describe("one pass shows as much as it can", () => {
  it("a structurally broken rule does not hide another rule's semantic findings", () => {
    const { findings } = compileFiles({
      "a.yaml":
        'rules:\n  - id: broken\n    platform: iOS\n    minimum: 17.1\n  - id: fine\n    platform: iOS\n    models: ["Mac*"]\n    minimum: "17.0"\n',
    });
    expect(findings.map((f) => [f.code, f.line, f.column])).toEqual([
      ["version-not-string", 4, 14],
      ["model-never-matches", 7, 14],
    ]);
  });
});

describe("semantic findings", () => {
  const rule = (id: string, extra = "") => `  - id: ${id}\n    platform: iOS\n    minimum: "18.0"\n${extra}`;

  it("duplicate rule ids across files, naming both places", () => {
    const { findings } = compileFiles({
      "a.yaml": `rules:\n${rule("floor")}`,
      "b.yaml": `rules:\n${rule("other", '    models: ["iPhone15,*"]\n')}${rule("floor")}`,
    });
    expect(findings.map((f) => [f.code, f.file, f.line, f.column, f.message])).toEqual([
      ["duplicate-rule-id", "a.yaml", 2, 9, 'rule id "floor" is also defined at b.yaml:6:9'],
      ["duplicate-rule-id", "b.yaml", 6, 9, 'rule id "floor" is also defined at a.yaml:2:9'],
    ]);
    expect(findings[0]?.related).toEqual([
      { file: "b.yaml", line: 6, column: 9, endLine: 6, endColumn: 14, message: '"floor" defined here' },
    ]);
  });

  it("target below minimum, at the target", () => {
    const f = only({ "a.yaml": `rules:\n${rule("a", '    target: "16.7"\n')}` });
    expectFinding(f, {
      code: "target-below-minimum",
      line: 5,
      column: 13,
      rule: "a",
      message: "target 16.7 is below minimum 18.0: a device that installs it would still be blocked",
    });
  });

  it("a literal beta token", () => {
    const f = only({
      "a.yaml": `rules:\n${rule("a", "    betaProgram:\n      description: Beta\n      token: abc123\n")}`,
    });
    expectFinding(f, { code: "literal-beta-token", severity: "error", line: 7, column: 14, rule: "a" });
  });

  it("an unset token variable: a warning when validating", () => {
    const f = only({
      "a.yaml": `rules:\n${rule("a", "    betaProgram:\n      description: Beta\n      token: { env: BETA_TOKEN }\n")}`,
    });
    expectFinding(f, {
      code: "beta-token-unset",
      severity: "warning",
      line: 7,
      column: 21,
      message: /environment variable BETA_TOKEN is not set/,
    });
  });

  it("an unset token variable: an error when serving", () => {
    const result = compileFiles(
      {
        "a.yaml": `rules:\n${rule("a", "    betaProgram:\n      description: Beta\n      token: { env: BETA_TOKEN }\n")}`,
      },
      { purpose: "serve" },
    );
    expect(result.set).toBeNull();
    expectFinding(result.findings[0] as Finding, {
      code: "beta-token-unset",
      severity: "error",
      line: 7,
      column: 21,
      message: /the gate will not serve without it/,
    });
  });

  it("a token file, read through the injected reader", () => {
    const text = `rules:\n${rule("a", "    betaProgram:\n      description: Beta\n      token: { file: secrets/beta }\n")}`;
    const read = (p: string) => (p === "/policies/secrets/beta" ? "file-token\n" : null);
    expect(compileFiles({ "a.yaml": text }, { readFile: read, purpose: "serve" }).set?.rules[0]?.token).toBe(
      "file-token",
    );
    expectFinding(only({ "a.yaml": text }), {
      code: "beta-token-unset",
      line: 7,
      column: 22,
      message: /token file secrets\/beta cannot be read/,
    });
  });

  it("a token file the reader refuses: an error even when validating", () => {
    const text = `rules:\n${rule("a", "    betaProgram:\n      description: Beta\n      token: { file: /etc/shadow }\n")}`;
    const read = () => ({ ok: false as const, refused: true, problem: "it is outside the policy directory" });
    expectFinding(only({ "a.yaml": text }, { readFile: read }), {
      code: "token-file-refused",
      severity: "error",
      line: 7,
      column: 22,
      rule: "a",
      message: "beta program token file /etc/shadow is refused: it is outside the policy directory",
    });
  });

  it("a trust anchor file the reader refuses, at its entry in enrollgate.yaml", () => {
    const read = (path: string, kind: string) =>
      kind === "trust-anchor" && path === "/policies/pipe.pem"
        ? { ok: false as const, refused: true, problem: "it is a FIFO, not a regular file" }
        : null;
    const f = only(
      { "enrollgate.yaml": "verify: enforce\ntrustAnchors:\n  - apple\n  - pipe.pem\n", "r.yaml": "rules: []\n" },
      { readFile: read },
    );
    expectFinding(f, {
      code: "trust-anchor-refused",
      file: "enrollgate.yaml",
      line: 4,
      column: 5,
      message: "trust anchor pipe.pem is refused: it is a FIFO, not a regular file",
    });
  });

  it("a model glob that can never match its platform", () => {
    const f = only({ "a.yaml": `rules:\n${rule("a", '    models: ["iPhone15,*", "Mac*"]\n')}` });
    expectFinding(f, {
      code: "model-never-matches",
      line: 5,
      column: 28,
      message: 'model "Mac*" can never match a iOS device\'s PRODUCT or SOFTWARE_UPDATE_DEVICE_ID',
    });
  });

  it("an exemption that has ended (a warning)", () => {
    const f = only(
      { "a.yaml": `rules:\n${rule("a", "    exempt:\n      serials: [F2LXK0Q1HG7F]\n      until: 2026-10-31\n")}` },
      { now: Date.parse("2026-11-22T00:00:00Z") },
    );
    expectFinding(f, { code: "exemption-expired", severity: "warning", line: 7, column: 14 });
  });

  it("an exemption still running is fine", () => {
    expect(
      compileFiles(
        { "a.yaml": `rules:\n${rule("a", "    exempt:\n      serials: [F2LXK0Q1HG7F]\n      until: 2026-11-22\n")}` },
        { now: Date.parse("2026-11-22T23:00:00Z") },
      ).findings,
    ).toEqual([]);
  });

  it("a rule made unreachable by a stricter one of the same scope (a warning)", () => {
    const { findings } = compileFiles({
      "a.yaml": `rules:\n  - id: strict\n    platform: iOS\n    minimum: "17.6"\n  - id: lax\n    platform: iOS\n    minimum: "17.2"\n`,
    });
    expect(findings).toHaveLength(1);
    expectFinding(findings[0] as Finding, {
      code: "rule-unreachable",
      severity: "warning",
      line: 5,
      column: 9,
      rule: "lax",
      message: 'rule "lax" never decides: "strict" (a.yaml:2:9) covers the same devices and always decides first',
    });
  });

  it("but not when the stricter rule starts later, or exempts more", () => {
    const later = `rules:\n  - id: strict\n    platform: iOS\n    minimum: "17.6"\n    activeFrom: 2027-01-01\n  - id: lax\n    platform: iOS\n    minimum: "17.2"\n`;
    expect(compileFiles({ "a.yaml": later }).findings).toEqual([]);
    const exempting = `rules:\n  - id: strict\n    platform: iOS\n    minimum: "17.6"\n    exempt: { serials: [ABC] }\n  - id: lax\n    platform: iOS\n    minimum: "17.2"\n`;
    expect(compileFiles({ "a.yaml": exempting }).findings).toEqual([]);
  });

  it("an audit rule under an enforce rule of the same scope never reports", () => {
    const f = only({
      "a.yaml": `rules:\n  - id: enforce\n    platform: iOS\n    minimum: "17.6"\n  - id: audit\n    platform: iOS\n    minimum: "17.6"\n    mode: audit\n`,
    });
    expectFinding(f, { code: "rule-unreachable", line: 5, column: 9, rule: "audit" });
  });

  it("a beta program no blocked device can receive (a warning)", () => {
    const f = only(
      {
        "a.yaml": `rules:\n  - id: a\n    platform: iOS\n    minimum: "17.5"\n    betaProgram:\n      description: Beta\n      token: { env: T_BETA_TOKEN }\n`,
      },
      { env: { T_BETA_TOKEN: "t" } },
    );
    expectFinding(f, {
      code: "beta-program-unsupported",
      severity: "warning",
      line: 5,
      column: 5,
      message: "no iOS device below 17.5 accepts details.RequireBetaProgram; the 403 will not carry the beta program",
    });
  });

  it("target: latest without a feed", () => {
    const f = only({ "a.yaml": `rules:\n${rule("a", "    target: latest\n")}` });
    expectFinding(f, { code: "target-needs-feed", line: 5, column: 13 });
  });

  it("a body that fails Apple's schema is a compile error naming the rule", () => {
    // A stricter stand-in for Apple's schema: OSVersion must be three components.
    const strict = parseSchemaFreeAppleDoc(`title: Strict Error
payload:
  supportedOS:
    iOS: { introduced: '17.0' }
payloadkeys:
- key: code
  type: <string>
  presence: required
- key: details
  type: <dictionary>
  presence: required
  subkeys:
  - key: OSVersion
    type: <string>
    presence: required
    format: ^\\d+\\.\\d+\\.\\d+$
`);
    const result = compileFiles({ "a.yaml": `rules:\n${rule("two-part")}` }, { errorSchema: strict });
    expect(result.set).toBeNull();
    expectFinding(result.findings[0] as Finding, {
      code: "body-invalid",
      line: 2,
      column: 9,
      rule: "two-part",
      message:
        'rule "two-part": the 403 body for iOS 17.0+ fails Apple\'s schema: details.OSVersion: must match pattern "^\\d+\\.\\d+\\.\\d+$"',
    });
  });
});

describe("test file findings", () => {
  const rules = `rules:\n  - id: floor\n    platform: iOS\n    minimum: "17.0"\n`;

  it("a case naming a rule that does not exist", () => {
    const f = only({
      "a.yaml": rules,
      "a.test.yaml":
        'cases:\n  - name: x\n    facts: { product: "iPhone15,2" }\n    expect: { decision: block, reason: below-minimum, rule: flor }\n',
    });
    expectFinding(f, {
      code: "test-unknown-rule",
      file: "a.test.yaml",
      line: 4,
      column: 61,
      message: 'test "x" expects rule "flor", which no policy file defines',
    });
  });

  it("an unquoted model inside { } explains the comma", () => {
    const f = only({
      "a.yaml": rules,
      "a.test.yaml":
        "cases:\n  - name: x\n    facts: { product: iPhone15,2 }\n    expect: { decision: block, reason: below-minimum }\n",
    });
    expectFinding(f, {
      code: "schema-unknown-key",
      file: "a.test.yaml",
      line: 3,
      column: 32,
      message: 'unknown key "2" in "facts" (inside { }, a comma ends a value: quote values such as "iPhone15,2")',
    });
  });

  it("a test file with no cases", () => {
    const f = only({ "a.yaml": rules, "a.test.yaml": "cases: []\n" });
    expectFinding(f, { code: "test-no-cases", file: "a.test.yaml", line: 1, column: 8 });
  });

  it("does not stop the policy set from compiling", () => {
    const result = compileFiles({ "a.yaml": rules, "a.test.yaml": "cases: []\n" });
    expect(result.ok).toBe(false);
    expect(result.set).not.toBeNull();
  });
});

describe("settings", () => {
  it("an unknown setting", () => {
    const f = only({ "enrollgate.yaml": "format: json\nverfy: enforce\n", "rules.yaml": "rules: []\n" });
    expectFinding(f, {
      code: "schema-unknown-key",
      file: "enrollgate.yaml",
      line: 2,
      column: 1,
      message: 'unknown key "verfy" (did you mean "verify"?)',
    });
  });

  it("an empty settings file means defaults", () => {
    expect(
      compileFiles({ "enrollgate.yaml": "# nothing yet\n", "rules.yaml": "rules: []\n" }).set?.settings,
    ).toMatchObject({ format: "json", verify: "enforce", bodyLimit: 65536 });
  });

  it("settings are read", () => {
    expect(
      compileFiles({
        "enrollgate.yaml": "format: negotiate\nverify: audit\nbodyLimit: 2048\n",
        "rules.yaml": "rules: []\n",
      }).set?.settings,
    ).toMatchObject({ format: "negotiate", verify: "audit", bodyLimit: 2048 });
  });
});

describe("a policy directory without rule files", () => {
  it("is an error: serving it would allow every device", () => {
    const f = only({ "enrollgate.yaml": "format: json\n" });
    expectFinding(f, {
      code: "no-rule-files",
      file: "/policies",
      line: 1,
      column: 1,
      message: '/policies holds no rule file (*.yaml); write "rules: []" in one to enforce nothing on purpose',
    });
  });

  it("an empty rule file is an error of its own", () => {
    const f = only({ "rules.yaml": "rules: []\n", "old.yaml": "# nothing left\n" });
    expectFinding(f, {
      code: "empty-rule-file",
      file: "old.yaml",
      line: 1,
      column: 1,
      message: /write rules: \[\] to enforce nothing on purpose$/,
    });
  });

  it("is fine with an explicit empty rule list", () => {
    expect(compileFiles({ "rules.yaml": "rules: []\n" }).set?.rules).toEqual([]);
  });
});

describe("the catalogue", () => {
  it("has a title, a meaning and a fix for every code", () => {
    for (const [code, info] of Object.entries(FINDING_CODES)) {
      expect(info.title, code).not.toBe("");
      expect(info.meaning, code).not.toBe("");
      expect(info.fix, code).not.toBe("");
    }
  });
});
