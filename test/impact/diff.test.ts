// diffPolicySets and formatDiff on policy sets written here: rule changes
// field by field, what weakens protection, the devices whose outcome changes,
// and each format's escaping of what policies and inventories hold.
import { describe, expect, it } from "vitest";
import { diffPolicySets, formatDiff, readInventories, type PolicyDiff } from "enrollgate";
import { mustCompile, ruleFile } from "../helpers/policies.js";

const NOW = Date.parse("2026-12-01T00:00:00Z");

const XS = { id: "iphone-xs-floor", platform: "iOS", models: ["iPhone11,*"], minimum: "18.6" };
const FLOOR = { id: "iphone-floor", platform: "iOS", models: ["iPhone15,*", "iPhone17,*"], minimum: "26.5" };
const IPAD = { id: "ipad-floor", platform: "iPadOS", minimum: "26.0", mode: "audit" };

function diffOf(
  base: Array<Record<string, unknown>>,
  head: Array<Record<string, unknown>>,
  inventory?: string,
  maxNewlyBlocked?: number,
): PolicyDiff {
  return diffPolicySets(
    mustCompile({ "base/rules.yaml": ruleFile(...base) }),
    mustCompile({ "head/rules.yaml": ruleFile(...head) }),
    {
      base: "base",
      head: "head",
      now: NOW,
      ...(inventory !== undefined
        ? { inventory: { files: ["fleet.csv"], read: readInventories([{ name: "fleet.csv", text: inventory }]) } }
        : {}),
      ...(maxNewlyBlocked !== undefined ? { maxNewlyBlocked } : {}),
    },
  );
}

describe("rule changes", () => {
  it("lists changed, added and removed rules, each where it is: the head set's line, or the base set's", () => {
    const d = diffOf(
      [XS, FLOOR, IPAD],
      [
        { ...FLOOR, minimum: "26.6.1", models: ["iPhone15,*", "iPhone18,*"] },
        { ...IPAD, mode: "enforce" },
        {
          id: "vision-floor",
          platform: "visionOS",
          minimum: "26.6",
        },
      ],
    );
    expect(d.rules).toEqual([
      {
        kind: "changed",
        id: "iphone-floor",
        platform: "iOS",
        head: { file: "head/rules.yaml", line: 2, column: 9 },
        base: { file: "base/rules.yaml", line: 7, column: 9 },
        fields: [
          {
            field: "models",
            before: "iPhone15,*, iPhone17,*",
            after: "iPhone15,*, iPhone18,*",
            added: ["iPhone18,*"],
            removed: ["iPhone17,*"],
          },
          { field: "minimum", before: "26.5", after: "26.6.1" },
        ],
      },
      {
        kind: "changed",
        id: "ipad-floor",
        platform: "iPadOS",
        head: { file: "head/rules.yaml", line: 8, column: 9 },
        base: { file: "base/rules.yaml", line: 13, column: 9 },
        fields: [{ field: "mode", before: "audit", after: "enforce" }],
      },
      expect.objectContaining({
        kind: "added",
        id: "vision-floor",
        head: { file: "head/rules.yaml", line: 12, column: 9 },
      }),
      {
        kind: "removed",
        id: "iphone-xs-floor",
        platform: "iOS",
        base: { file: "base/rules.yaml", line: 2, column: 9 },
      },
    ]);
  });

  it("compares every field a rule has: build, target, dates, exemptions, beta program, message, whenUnavailable, adu", () => {
    const before = { ...FLOOR, exempt: { serials: ["A", "B"], until: "2027-01-31" } };
    const after = {
      ...FLOOR,
      minimumBuild: "23F80",
      target: "26.6",
      targetBuild: "23G36",
      activeFrom: "2026-12-15",
      exempt: { serials: ["B", "C"], until: "2027-03-01" },
      whenUnavailable: "block",
      betaProgram: { description: "iOS 27 seed", token: { env: "IOS27_BETA_TOKEN" } },
      message: "Update iOS",
      description: "SEC-2",
      adu: { provider: "Contoso", name: "iOS" },
    };
    const fields = diffOf([before], [after]).rules[0];
    expect(fields?.kind === "changed" ? fields.fields.map((f) => f.field) : []).toEqual([
      "minimumBuild",
      "target",
      "targetBuild",
      "activeFrom",
      "exempt.serials",
      "exempt.until",
      "whenUnavailable",
      "betaProgram",
      "message",
      "description",
      "adu",
    ]);
    expect(formatDiff("text", diffOf([before], [after]))).toContain("exempt.serials: +C -A");
  });

  it("says nothing of a target that follows its minimum, and nothing of a rule that did not change", () => {
    expect(diffOf([XS, FLOOR], [XS, { ...FLOOR, minimum: "26.6" }]).rules).toEqual([
      expect.objectContaining({ id: "iphone-floor", fields: [{ field: "minimum", before: "26.5", after: "26.6" }] }),
    ]);
  });

  it("shows a rule renamed and otherwise unchanged as a rename, not a removal and an addition", () => {
    const d = diffOf([XS, FLOOR], [XS, { ...FLOOR, id: "iphone-baseline" }]);
    expect(d.rules).toEqual([
      expect.objectContaining({ kind: "renamed", id: "iphone-baseline", from: "iphone-floor" }),
    ]);
    expect(d.weakenings.map((w) => w.message)).toEqual([
      "rule iphone-floor removed (was iOS iPhone15,*, iPhone17,*, minimum 26.5)",
    ]);
  });

  it("names every change that weakens protection", () => {
    const d = diffOf([FLOOR, XS], [{ ...FLOOR, minimum: "26.4", mode: "audit" }]);
    expect(d.weakenings.map((w) => w.message)).toEqual([
      "rule iphone-floor: minimum lowered from 26.5 to 26.4",
      "rule iphone-floor: mode relaxed from enforce to audit",
      "rule iphone-xs-floor removed (was iOS iPhone11,*, minimum 18.6)",
    ]);
  });
});

const FLEET = [
  "product,osVersion,build,serial,count",
  '"iPhone15,2",26.5,23F77,,42',
  '"iPhone15,2",26.6.1,23G83,,10',
  '"iPhone17,3",26.4,23E246,,5',
  '"iPhone11,8",18.5,22F76,,7',
  '"iPhone11,8",18.5,22F76,QA1,1',
  '"iPad13,16",25.0,,,3',
].join("\n");

describe("device impact", () => {
  it("counts the devices whose decision, reason, rule or target changes, by platform, model and OS version", () => {
    const d = diffOf(
      [XS, FLOOR],
      [
        { ...XS, minimum: "18.7", exempt: { serials: ["QA1"] } },
        { ...FLOOR, minimum: "26.6.1" },
      ],
      FLEET,
    );
    expect(d.impact).toMatchObject({
      devices: 68,
      blockedBefore: 13,
      blockedAfter: 54,
      newlyBlocked: 42,
      newlyAllowed: 1,
      changed: 55,
    });
    expect(
      formatDiff("text", d)
        .split("\n")
        .filter((l) => /^ {2}\d/.test(l)),
    ).toEqual([
      "  42 iPhone15,2 on iOS 26.5: allowed (compliant) → blocked by iphone-floor, asked for 26.6.1",
      "  1 iPhone11,8 on iOS 18.5: blocked by iphone-xs-floor, asked for 18.6 → allowed (exempt, iphone-xs-floor)",
      "  7 iPhone11,8 on iOS 18.5: blocked by iphone-xs-floor, asked for 18.6 → blocked by iphone-xs-floor, asked for 18.7",
      "  5 iPhone17,3 on iOS 26.4: blocked by iphone-floor, asked for 26.5 → blocked by iphone-floor, asked for 26.6.1",
    ]);
  });

  it("decides each distinct device once, yet keeps apart devices only an exemption tells apart", () => {
    const rows = Array.from({ length: 500 }, (_, i) => `"iPhone11,8",18.5,22F76,S${i}`).join("\n");
    const d = diffOf([XS], [{ ...XS, exempt: { serials: ["S7", "S9"] } }], `product,osVersion,build,serial\n${rows}\n`);
    expect(d.impact).toMatchObject({ devices: 500, changed: 2, newlyAllowed: 2, distinct: 3 });
  });

  it("counts devices newly allowed, and other changes apart from both", () => {
    const d = diffOf(
      [FLOOR, IPAD],
      [
        { ...FLOOR, minimum: "26.4" },
        { ...IPAD, minimum: "26.1" },
      ],
      FLEET,
    );
    expect(d.impact).toMatchObject({ newlyBlocked: 0, newlyAllowed: 5 });
    expect(d.impact?.groups.map((g) => [g.change, g.devices])).toEqual([
      ["newly-allowed", 5],
      ["changed", 3],
    ]);
  });
});

describe("the formats", () => {
  const hostile = {
    ...FLOOR,
    minimum: "26.6.1",
    message:
      "| **0 devices newly blocked** |\n</details><script>alert(1)</script> @octocat #12 [x](https://evil.example) \u001b[2J\u202e",
  };
  const d = () => diffOf([FLOOR], [hostile], FLEET, 10);

  it("markdown is a pull-request comment: marker, summary first, tables, and nothing a policy can turn into markup", () => {
    const md = formatDiff("markdown", d());
    const lines = md.split("\n");
    expect(lines[0]).toBe("<!-- enrollgate-diff -->");
    expect(lines[3]).toBe(
      ":x: **42 devices newly blocked**, more than the 10 allowed (`--max-newly-blocked`). Rules: 1 changed, 0 added, 0 removed.",
    );
    expect(md).not.toContain("<script");
    expect(md).not.toContain("](");
    expect(md).not.toMatch(/@\w|(?<!&)#\d|[\u001b\u202e]/);
    const row = lines.find((l) => l.startsWith("| <code>iphone&#45;floor") || l.startsWith("| <code>iphone-floor"));
    // One row, three cells: the message cannot end a cell or the table.
    expect(row?.split(/(?<!\\)\|/).length).toBe(5);
    expect(row).toContain("&#64;&#8203;octocat");
  });

  it("markdown folds long lists into collapsible details", () => {
    const rows = Array.from({ length: 30 }, (_, i) => `"iPhone15,${i}",26.${i % 5},,,${i + 1}`).join("\n");
    const md = formatDiff(
      "markdown",
      diffOf([FLOOR], [{ ...FLOOR, minimum: "26.6.1" }], `product,osVersion,build,serial,count\n${rows}\n`),
    );
    expect(md).toMatch(/<details><summary>\d+ more groups \(\d+ devices\)<\/summary>/);
    expect(md.match(/^\| \d+ \| iOS /gm)?.length).toBe(30);
  });

  it("github annotates each changed rule at its line in the head set, escaped as GitHub requires", () => {
    const out = formatDiff("github", d()).split("\n");
    expect(out[0]).toMatch(
      /^::warning file=head\/rules\.yaml,line=2,col=9,title=enrollgate diff%3A rule iphone-floor changed::minimum: 26\.5 → 26\.6\.1; message: \(not set\) → \| \*\*0 devices newly blocked\*\* \|\\u000a<\/details>.*; 47 devices change outcome \(42 newly blocked\)$/,
    );
    expect(out[0]).not.toContain("\u001b");
    expect(out[0]).toContain("\\u001b[2J");
    // Nothing from the policy starts a line of the log, where GitHub would read it as a command.
    expect(out[1]).toBe("::error title=enrollgate diff::42 devices newly blocked: more than --max-newly-blocked 10");
    expect(out.slice(2).filter((l) => l.trimStart().startsWith("::"))).toEqual([]);
  });

  it("text never passes a control character to the terminal", () => {
    const text = formatDiff("text", d());
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202e]/);
    expect(text).toContain("\\u001b[2J\\u202e");
  });

  it("json has a stable, versioned shape", () => {
    const json = JSON.parse(
      formatDiff("json", diffOf([XS, FLOOR], [{ ...FLOOR, minimum: "26.6.1" }], FLEET, 100)),
    ) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      "version",
      "base",
      "head",
      "now",
      "rules",
      "settings",
      "weakenings",
      "inventory",
      "impact",
      "maxNewlyBlocked",
      "exceeded",
    ]);
    expect(json).toMatchObject({
      version: 1,
      now: "2026-12-01T00:00:00.000Z",
      rules: [
        { kind: "changed", id: "iphone-floor", head: { file: "head/rules.yaml", line: 2, column: 9 }, from: null },
        { kind: "removed", id: "iphone-xs-floor", head: null, base: { file: "base/rules.yaml", line: 2 }, fields: [] },
      ],
      weakenings: [{ change: "rule-removed", rule: "iphone-xs-floor" }],
      inventory: { files: ["fleet.csv"], folded: 0, withoutMachineInfo: 0 },
      impact: {
        devices: 68,
        newlyBlocked: 42,
        groups: expect.arrayContaining([
          {
            platform: "iOS",
            model: "iPhone15,2",
            osVersion: "26.5",
            devices: 42,
            change: "newly-blocked",
            before: { decision: "allow", reason: "compliant", rule: null, target: null },
            after: { decision: "block", reason: "below-minimum", rule: "iphone-floor", target: "26.6.1" },
          },
        ]),
      },
      maxNewlyBlocked: 100,
      exceeded: false,
    });
  });
});
