// The `enrolled` block of a rule: schema, positions and semantic checks, as
// for every other key.
import { describe, expect, it } from "vitest";
import { formatFinding } from "enrollgate";
import { feedAvailability, parseGdmf } from "enrollgate/feeds";
import { compileFiles } from "../helpers/policies.js";
import { GDMF, NOW } from "../ddm/fixtures.js";

const feed = () => feedAvailability({ gdmf: parseGdmf(JSON.stringify(GDMF)) });

function findings(enrolled: string, options: { feed?: boolean; minimum?: string; now?: number } = {}): string[] {
  const text = `rules:
  - id: iphone-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "${options.minimum ?? "26.6.1"}"
    enrolled:
${enrolled
  .trim()
  .split("\n")
  .map((l) => `      ${l}`)
  .join("\n")}
`;
  const result = compileFiles(
    { "rules.yaml": text },
    { now: options.now ?? NOW, ...(options.feed === true ? { availability: feed() } : {}) },
  );
  return result.findings.map((f) => formatFinding(f));
}

describe("a rule's enrolled block", () => {
  it("compiles a target, build, date-time deadline and details page to plain data", () => {
    const result = compileFiles(
      {
        "rules.yaml": `rules:
  - id: iphone-floor
    platform: iOS
    minimum: "26.6.1"
    enrolled:
      target: "26.6.1"
      targetBuild: "23G83"
      deadline: 2026-12-15T18:00
      detailsURL: https://it.example.com/updates
`,
      },
      { now: NOW },
    );
    expect(result.findings).toEqual([]);
    expect(result.set?.rules[0]?.enrolled).toEqual({
      target: { kind: "version", version: { major: 26, minor: 6, patch: 1, extra: null }, text: "26.6.1" },
      targetBuild: "23G83",
      deadline: { kind: "local", localDateTime: "2026-12-15T18:00:00" },
      detailsURL: "https://it.example.com/updates",
    });
  });

  it("defaults the target to the rule's, and reads days after release", () => {
    const result = compileFiles(
      {
        "rules.yaml": `rules:
  - id: iphone-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.6.1"
    enrolled:
      deadline: { daysAfterRelease: 14, at: "18:00" }
`,
      },
      { now: NOW, availability: feed() },
    );
    expect(result.findings).toEqual([]);
    expect(result.set?.rules[0]?.enrolled).toMatchObject({
      target: { kind: "version", text: "26.6.1" },
      deadline: { kind: "after-release", daysAfterRelease: 14, at: "18:00" },
    });
  });

  it("refuses a target below the minimum, at its line and column", () => {
    expect(findings(`target: "26.5"\ndeadline: 2026-12-15T18:00:00`)).toEqual([
      "rules.yaml:7:15 error target-below-minimum enrolled target 26.5 is below minimum 26.6.1: an enrolled device that installs it would still be below the floor",
    ]);
  });

  it("warns of a deadline already past at --now", () => {
    expect(findings(`deadline: 2026-08-01T18:00:00`)).toEqual([
      "rules.yaml:7:17 warning deadline-passed the deadline 2026-08-01T18:00:00 has passed at 2026-08-25T12:00:00.000Z on the first clocks to reach it; a device below 26.6.1 that gets the declaration now installs it at once",
    ]);
  });

  it("warns that a supplemental target takes two steps", () => {
    const out = findings(`target: "26.6.1 (a)"\ndeadline: 2026-12-15T18:00:00`);
    expect(out).toContain(
      "rules.yaml:7:15 warning enrolled-supplemental-target enrolled target 26.6.1 (a) is a supplemental version, which Apple installs only on 26.6.1: devices below 26.6.1 get two configurations, first 26.6.1, then 26.6.1 (a), both by the deadline",
    );
  });

  it("refuses a deadline given both ways, with a time zone, without a time, or impossible", () => {
    expect(findings(`deadline: { daysAfterRelease: 14, at: "2026-12-15T18:00" }`)).toEqual([
      'rules.yaml:7:17 error deadline-both-ways the deadline is given both ways, as the date 2026-12-15T18:00 and as 14 days after release; keep one: deadline: 2026-12-15T18:00:00, or deadline: { daysAfterRelease: 14, at: "18:00" }',
    ]);
    expect(findings(`deadline: 2026-12-15T18:00:00Z`)).toEqual([
      "rules.yaml:7:17 error invalid-deadline deadline 2026-12-15T18:00:00Z has a time zone; Apple's TargetLocalDateTime is the device's own clock: write 2026-12-15T18:00:00",
    ]);
    expect(findings(`deadline: 2026-12-15`)).toEqual([
      "rules.yaml:7:17 error invalid-deadline deadline 2026-12-15 needs a time of day on the device's clock: 2026-12-15T18:00:00, say",
    ]);
    expect(findings(`deadline: 2026-02-30T18:00:00`)).toEqual([
      "rules.yaml:7:17 error invalid-deadline deadline 2026-02-30T18:00:00 is not a real date and time",
    ]);
  });

  it("refuses daysAfterRelease without Apple's feed, and a target the feed does not offer", () => {
    expect(findings(`deadline: { daysAfterRelease: 14, at: "18:00" }`)).toEqual([
      "rules.yaml:7:19 error deadline-needs-feed deadline: 14 days after release at 18:00 counts from Apple's release date in the GDMF feed; configure one (--gdmf FILE, or feeds.gdmf in enrollgate.yaml), or write the date",
    ]);
    const out = findings(`target: "26.6.3"\ndeadline: 2026-12-15T18:00:00`, { feed: true });
    expect(out.filter((f) => f.includes("enrolled-target-not-in-feed"))).toEqual([
      "rules.yaml:7:15 error enrolled-target-not-in-feed Apple's feed does not list iOS 26.6.3, and Apple enforces only versions it offers: enrolled devices would never install it",
    ]);
  });

  it("refuses unknown keys and a detailsURL that is not a web address", () => {
    expect(findings(`deadline: 2026-12-15T18:00:00\ndetailsURL: javascript:alert(1)`)).toEqual([
      'rules.yaml:8:19 error schema-value "detailsURL": "javascript:alert(1)" is not a web address (https://...)',
    ]);
    expect(findings(`deadline: 2026-12-15T18:00:00\ntargetOS: "27.0"`).join("\n")).toMatch(/targetOS/);
  });
});
