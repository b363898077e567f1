// The findings formatters: text, json, github, sarif, junit.
import { DOMParser } from "@xmldom/xmldom";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { type Finding, formatReport } from "enrollgate";
import { FINDING_CODES } from "enrollgate/policy";
import { escapeData, escapeProperty } from "enrollgate/report";

const findings: Finding[] = [
  {
    file: "policies/a.yaml",
    line: 5,
    column: 14,
    endLine: 5,
    endColumn: 19,
    severity: "error",
    code: "version-not-string",
    message: '"minimum" is the YAML number 17.10; write it as a quoted string: "17.10"',
    rule: "iphone-floor",
  },
  {
    file: "policies/b.yaml",
    line: 2,
    column: 9,
    endLine: 2,
    endColumn: 14,
    severity: "warning",
    code: "rule-unreachable",
    message: '100% covered, by: "strict"\nsecond line\r',
    rule: "lax",
    related: [{ file: "policies/b.yaml", line: 7, column: 9, endLine: 7, endColumn: 15, message: "strict decides" }],
  },
  {
    file: "policies/c.test.yaml",
    line: 1,
    column: 8,
    endLine: 1,
    endColumn: 10,
    severity: "error",
    code: "test-no-cases",
    message: "no cases <here> & 'there'",
  },
];
const report = {
  findings,
  files: ["policies/a.yaml", "policies/b.yaml", "policies/c.test.yaml", "policies/d.yaml"],
  version: "1.2.3",
};

describe("text", () => {
  it("prints file:line:col severity code message, one line each (line breaks in a message become spaces), then a count", () => {
    expect(formatReport("text", report).split("\n")).toEqual([
      'policies/a.yaml:5:14 error version-not-string "minimum" is the YAML number 17.10; write it as a quoted string: "17.10"',
      'policies/b.yaml:2:9 warning rule-unreachable 100% covered, by: "strict" second line ',
      "policies/c.test.yaml:1:8 error test-no-cases no cases <here> & 'there'",
      "4 files checked: 2 errors, 1 warning",
      "",
    ]);
  });

  it("says so when there is nothing to report", () => {
    expect(formatReport("text", { findings: [], files: ["a.yaml"], version: "1" })).toBe(
      "1 file checked, no findings\n",
    );
  });
});

describe("json", () => {
  it("has DESIGN.md's exact shape", () => {
    const parsed = JSON.parse(formatReport("json", report)) as {
      findings: Array<Record<string, unknown>>;
      errors: number;
      warnings: number;
    };
    expect(Object.keys(parsed)).toEqual(["findings", "errors", "warnings"]);
    expect(parsed.errors).toBe(2);
    expect(parsed.warnings).toBe(1);
    expect(parsed.findings[0]).toEqual({
      file: "policies/a.yaml",
      line: 5,
      column: 14,
      endLine: 5,
      endColumn: 19,
      severity: "error",
      code: "version-not-string",
      message: '"minimum" is the YAML number 17.10; write it as a quoted string: "17.10"',
      rule: "iphone-floor",
    });
    expect(parsed.findings[2]?.rule).toBeNull();
  });
});

describe("github", () => {
  it("escapes %, CR and LF in messages, and also : and , in properties", () => {
    expect(escapeData("100%\r\nx: y, z")).toBe("100%25%0D%0Ax: y, z");
    expect(escapeProperty("a:b,c%\n")).toBe("a%3Ab%2Cc%25%0A");
  });

  it("prints one annotation per finding", () => {
    const lines = formatReport("github", report).trimEnd().split("\n");
    expect(lines[0]).toBe(
      '::error file=policies/a.yaml,line=5,col=14,endLine=5,endColumn=19,title=enrollgate version-not-string (iphone-floor)::"minimum" is the YAML number 17.10; write it as a quoted string: "17.10"',
    );
    expect(lines[1]).toBe(
      '::warning file=policies/b.yaml,line=2,col=9,endLine=2,endColumn=14,title=enrollgate rule-unreachable (lax)::100%25 covered, by: "strict"%0Asecond line%0D',
    );
    expect(lines).toHaveLength(4);
  });
});

// What GitHub code scanning requires of an uploaded SARIF file.
const githubSarif = {
  type: "object",
  required: ["version", "runs"],
  properties: {
    version: { const: "2.1.0" },
    $schema: { type: "string" },
    runs: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["tool", "results"],
        properties: {
          tool: {
            type: "object",
            required: ["driver"],
            properties: {
              driver: {
                type: "object",
                required: ["name", "rules"],
                properties: {
                  name: { type: "string", minLength: 1 },
                  rules: {
                    type: "array",
                    items: {
                      type: "object",
                      required: ["id", "shortDescription", "defaultConfiguration"],
                      properties: {
                        id: { type: "string" },
                        shortDescription: { type: "object", required: ["text"] },
                        defaultConfiguration: {
                          type: "object",
                          required: ["level"],
                          properties: { level: { enum: ["none", "note", "warning", "error"] } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          results: {
            type: "array",
            items: {
              type: "object",
              required: ["ruleId", "message", "locations", "level"],
              properties: {
                ruleId: { type: "string" },
                level: { enum: ["none", "note", "warning", "error"] },
                message: { type: "object", required: ["text"], properties: { text: { type: "string", minLength: 1 } } },
                locations: {
                  type: "array",
                  minItems: 1,
                  items: {
                    type: "object",
                    required: ["physicalLocation"],
                    properties: {
                      physicalLocation: {
                        type: "object",
                        required: ["artifactLocation", "region"],
                        properties: {
                          artifactLocation: {
                            type: "object",
                            required: ["uri"],
                            properties: { uri: { type: "string", pattern: "^[^/]" } },
                          },
                          region: {
                            type: "object",
                            required: ["startLine", "startColumn", "endLine", "endColumn"],
                            properties: {
                              startLine: { type: "integer", minimum: 1 },
                              startColumn: { type: "integer", minimum: 1 },
                              endLine: { type: "integer", minimum: 1 },
                              endColumn: { type: "integer", minimum: 1 },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

describe("sarif", () => {
  const sarif = JSON.parse(formatReport("sarif", report)) as {
    runs: Array<{
      tool: { driver: { rules: Array<{ id: string }> } };
      results: Array<{ ruleId: string; ruleIndex: number; relatedLocations?: unknown[] }>;
    }>;
  };

  it("has the structure GitHub code scanning requires", () => {
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(githubSarif);
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
  });

  it("declares every code the validator can report, once", () => {
    const ids = sarif.runs[0]?.tool.driver.rules.map((r) => r.id) ?? [];
    expect(ids).toEqual(Object.keys(FINDING_CODES));
  });

  it("points each result at its declared rule, with related locations", () => {
    const run = sarif.runs[0];
    for (const r of run?.results ?? []) expect(run?.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId);
    expect(run?.results[1]?.relatedLocations).toHaveLength(1);
  });
});

describe("junit", () => {
  const parse = (xml: string) => {
    const problems: string[] = [];
    const doc = new DOMParser({ onError: (level, message) => problems.push(`${level}: ${message}`) }).parseFromString(
      xml,
      "text/xml",
    );
    expect(problems).toEqual([]);
    return doc;
  };

  it("parses as XML with one case per file, failing the files with errors", () => {
    const doc = parse(formatReport("junit", report));
    const cases = Array.from(doc.getElementsByTagName("testcase"));
    expect(cases.map((c) => c.getAttribute("name"))).toEqual([
      "policies/a.yaml",
      "policies/b.yaml",
      "policies/c.test.yaml",
      "policies/d.yaml",
    ]);
    expect(cases.map((c) => c.getElementsByTagName("failure").length)).toEqual([1, 0, 1, 0]);
    expect(doc.getElementsByTagName("testsuites")[0]?.getAttribute("failures")).toBe("2");
    expect(cases[2]?.getElementsByTagName("failure")[0]?.textContent).toBe(
      "policies/c.test.yaml:1:8 error test-no-cases no cases <here> & 'there'",
    );
    expect(cases[1]?.getElementsByTagName("system-out")[0]?.textContent).toBe(
      formatReport("text", report).split("\n")[1],
    );
  });

  it("survives characters XML cannot carry", () => {
    const nasty: Finding = { ...findings[0], message: "bell \u0007 and nul \u0000 and \uFFFE" } as Finding;
    const doc = parse(formatReport("junit", { findings: [nasty], files: [], version: "1" }));
    expect(doc.getElementsByTagName("failure")[0]?.textContent).toMatch(/bell \\u0007 and nul \\u0000 and \\ufffe$/);
  });
});
