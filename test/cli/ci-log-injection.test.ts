// Text from outside printed by the real commands: a device's DDM status
// report, an inventory's header, a policy's test names, a snapshot that is
// not JSON. In a CI log a line that starts with `::` is a GitHub Actions
// workflow command (an annotation, add-mask, stop-commands), and in a table a
// line feed is a row of its own: none of them may start a line.
import { describe, expect, it } from "vitest";
import { enrollgate, type CliResult } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = `rules:
  - id: iphone-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.6.1"
    enrolled:
      deadline: 2026-12-15T18:00:00
`;

const INJECTED = "\n::error title=forged::all devices compliant";

/** Every line either stream printed that a runner would read as the forged workflow command. */
function commands(r: CliResult): string[] {
  return `${r.stdout}\n${r.stderr}`.split(/\r?\n|\r/).filter((l) => l.trimStart().startsWith("::error title=forged"));
}

describe("text from outside never starts a line of its own", () => {
  it("ddm status: a device that reports a serial and a model with line feeds gets one table row", async () => {
    const report = {
      StatusItems: {
        device: {
          identifier: { "serial-number": `C02${INJECTED}`, udid: `U1${INJECTED}` },
          model: { identifier: `iPhone17,3${INJECTED}\nC03  iPhone17,3  26.7  iphone-floor  compliant` },
          "operating-system": { family: "iOS", version: "26.5" },
        },
      },
      Errors: [{ StatusItem: `x${INJECTED}`, Reasons: [{ Code: `c${INJECTED}`, Description: `d${INJECTED}` }] }],
    };
    const dir = await tempDir({ "p/rules.yaml": RULES, "report.json": JSON.stringify(report) });
    const r = await enrollgate(["ddm", "status", "--policies", "p", "--now", "2026-12-01", "report.json"], {
      cwd: dir,
    });
    expect(commands(r)).toEqual([]);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^C02\\u000a::error title=forged::all devices compliant +iPhone17,3\\u000a::error/);
    expect(rows[1]).toContain("\\u000aC03  iPhone17,3  26.7  iphone-floor  compliant");
    // --json carries the values as they were reported: JSON escapes them.
    const json = await enrollgate(
      ["ddm", "status", "--policies", "p", "--now", "2026-12-01", "--json", "report.json"],
      { cwd: dir },
    );
    expect(commands(json)).toEqual([]);
    expect((JSON.parse(json.stdout) as Array<{ serial: string }>)[0]?.serial).toBe(`C02${INJECTED}`);
  });

  it("ddm status: a report that is not JSON is named on one line, whatever JSON.parse quotes of it", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "report.json": `x${INJECTED}\n` });
    const r = await enrollgate(["ddm", "status", "--policies", "p", "--now", "2026-12-01", "report.json"], {
      cwd: dir,
    });
    expect(r.code).toBe(2);
    expect(commands(r)).toEqual([]);
    expect(r.stderr).toMatch(/^enrollgate: report\.json: not JSON: .*x\\u000a::error/);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("diff: an inventory column enrollgate does not read is named on one line", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "inventory.csv": `product,osVersion,"notes${INJECTED}"\n"iPhone17,3",26.5,x\n`,
    });
    const r = await enrollgate(
      [
        "diff",
        "--base",
        "p",
        "--head",
        "p",
        "--inventory",
        "inventory.csv",
        "--now",
        "2026-12-01",
        "--format",
        "github",
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    expect(commands(r)).toEqual([]);
    expect(r.stderr).toBe(
      "enrollgate: note: inventory.csv: columns not read: notes\\u000a::error title=forged::all devices compliant\n",
    );
  });

  it("test: a test case's name with a line feed is printed on its line", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "p/rules.test.yaml": `cases:
  - name: ${JSON.stringify(`an iPhone 16 on 26.5 is blocked${INJECTED}`)}
    facts: { product: "iPhone17,3", osVersion: "26.5" }
    expect: { decision: block, reason: below-minimum }
  - name: ${JSON.stringify(`an iPhone 16 on 26.5 is allowed${INJECTED}`)}
    facts: { product: "iPhone17,3", osVersion: "26.5" }
    expect: { decision: allow, reason: compliant }
`,
    });
    for (const env of [{}, { GITHUB_ACTIONS: "true" }]) {
      const r = await enrollgate(["test", "p", "--now", "2026-12-01"], { cwd: dir, env });
      expect(r.code).toBe(1);
      expect(commands(r)).toEqual([]);
      expect(r.stdout).toContain(
        "  ✓ an iPhone 16 on 26.5 is blocked\\u000a::error title=forged::all devices compliant\n",
      );
      expect(r.stdout).toContain(
        "  ✗ an iPhone 16 on 26.5 is allowed\\u000a::error title=forged::all devices compliant  (",
      );
    }
  });

  it("validate: a SOFA snapshot that is not JSON is named on one line", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "sofa.json": `{"OSVersions": x${INJECTED}` });
    const r = await enrollgate(["validate", "p", "--sofa", "sofa.json", "--now", "2026-12-01"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(commands(r)).toEqual([]);
    expect(r.stderr).toContain("x\\u000a::error");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});
