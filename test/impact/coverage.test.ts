// coverage(): every model Apple's feed lists, the rule that decides it, and
// what its floor leaves open; and its text, Markdown and JSON forms. On a
// policy set written here, against the real GDMF and SOFA snapshots.
import { describe, expect, it } from "vitest";
import { coverage, type CoverageModel, type CoverageReport, formatCoverage } from "enrollgate";
import { feedAvailability, parseGdmf, parseSofa, sofaVulnerabilities } from "enrollgate/feeds";
import { mustCompile } from "../helpers/policies.js";
import { readShared } from "../helpers/shared.js";

const GDMF = parseGdmf(readShared("feeds", "gdmf-2026-08-22.json"), "gdmf-2026-08-22.json");
const SOFA = [parseSofa(readShared("feeds", "sofa-2026-08-22", "ios_data_feed.json"), "ios_data_feed.json")];
const NOW = Date.parse("2026-09-01T00:00:00Z");

const RULES = `rules:
  - id: exposed-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.1"
    target: latest
  - id: ok-floor
    platform: iOS
    models: ["iPhone16,*"]
    minimum: "26.6.1"
  - id: stranding-floor
    platform: iOS
    models: ["iPhone11,*"]
    minimum: "26.0"
    whenUnavailable: block
  - id: mac-audit
    platform: macOS
    mode: audit
    models: ["J413AP"]
    minimum: "26.6.2"
`;

function report(rules = RULES, sofa = true): CoverageReport {
  // As the command compiles it: the feeds' availability, feed findings as warnings.
  const set = mustCompile(
    { "rules.yaml": rules },
    {
      now: NOW,
      feedSeverity: "warning",
      availability: feedAvailability({ gdmf: GDMF, adu: null }),
      ...(sofa ? { vulnerabilities: sofaVulnerabilities(SOFA) } : {}),
    },
  );
  return coverage(set, GDMF, { now: NOW, ...(sofa ? { sofa: SOFA } : {}) });
}

const row = (r: CoverageReport, model: string): CoverageModel | undefined => r.models.find((m) => m.model === model);

describe("coverage()", () => {
  const r = report();

  it("lists every model Apple's feed lists, per platform, with a status each", () => {
    expect(r.summary).toEqual({
      unreachable: 4,
      exposed: 5,
      uncovered: 174,
      "audit-only": 1,
      unsupported: 100,
      ok: 2,
      models: 286,
    });
    expect(
      r.models
        .filter((m) => m.platform === "iOS")
        .map((m) => m.model)
        .slice(17, 24),
    ).toEqual(["iPhone11,2", "iPhone11,4", "iPhone11,6", "iPhone11,8", "iPhone12,1", "iPhone12,3", "iPhone12,5"]);
  });

  it("marks a floor that leaves actively exploited CVEs open, naming each with its fix", () => {
    expect(row(r, "iPhone17,3")).toMatchObject({
      status: "exposed",
      rule: "exposed-floor",
      minimum: "26.1",
      target: "26.6.1",
      targetAvailable: true,
      newest: "26.6.1",
      reachesMinimum: true,
      name: "iPhone 16",
      exploited: [
        { cve: "CVE-2025-14174", fixedIn: "26.2", inKEV: true },
        { cve: "CVE-2025-43529", fixedIn: "26.2", inKEV: true },
        { cve: "CVE-2026-20700", fixedIn: "26.3", inKEV: true },
      ],
      note: "a device at 26.1 is exposed to 3 actively exploited vulnerabilities, fixed in 26.2, 26.3",
    });
  });

  it("marks models that cannot reach their floor, models no rule covers, audit-only and unsupported models", () => {
    expect(row(r, "iPhone11,8")).toMatchObject({
      status: "unreachable",
      rule: "stranding-floor",
      newest: "18.7.10",
      reachesMinimum: false,
      note: "the newest version offered to it, 18.7.10, is below the minimum 26.0; whenUnavailable: block keeps it from enrolling",
    });
    expect(row(r, "iPhone12,1")).toMatchObject({
      status: "uncovered",
      rule: null,
      note: "no active iOS rule matches it",
    });
    expect(row(r, "J413AP")).toMatchObject({ status: "audit-only", rule: "mac-audit", product: null });
    expect(row(r, "iPhone8,1")).toMatchObject({ status: "unsupported", newest: "15.8.8" });
    expect(row(r, "iPhone16,1")).toMatchObject({ status: "ok", rule: "ok-floor", exploited: [] });
  });

  it("without SOFA, says nothing about vulnerabilities: no model is exposed, and the cell is unknown", () => {
    const plain = report(RULES, false);
    expect(plain.summary.exposed).toBe(0);
    expect(row(plain, "iPhone17,3")).toMatchObject({ status: "ok", exploited: null });
    expect(plain.feeds.sofa).toEqual([]);
  });

  it("counts the models each rule decides, with where it is defined", () => {
    expect(r.rules.map((x) => [x.id, x.models, `${x.file}:${x.line}`])).toEqual([
      ["exposed-floor", 5, "rules.yaml:2"],
      ["ok-floor", 2, "rules.yaml:7"],
      ["stranding-floor", 4, "rules.yaml:11"],
      ["mac-audit", 1, "rules.yaml:16"],
    ]);
  });
});

describe("formatCoverage()", () => {
  const r = report();

  it("text: a table per platform, the summary first", () => {
    const text = formatCoverage(r, "text");
    expect(text.split("\n").slice(0, 2)).toEqual([
      expect.stringMatching(
        /^Coverage at 2026-09-01T00:00:00\.000Z of 286 models Apple's feed lists \(GDMF \w+, SOFA iOS 2026-08-22; policies \w+\)$/,
      ),
      "  4 unreachable, 5 exposed, 174 uncovered, 1 audit-only, 100 unsupported, 2 ok",
    ]);
    expect(text).toContain(
      "  iPhone17,3  exposed-floor    26.1    26.6.1              26.6.1   exposed      CVE-2025-14174 (26.2), CVE-2025-43529 (26.2), CVE-2026-20700 (26.3)\n",
    );
  });

  it("markdown: a pull-request comment with the models that need attention first", () => {
    const md = formatCoverage(r, "markdown");
    expect(md).toMatch(/^### Enrollment coverage\n/);
    const attention = md.slice(md.indexOf("#### Needs attention"), md.indexOf("<details>"));
    expect(attention.split("\n").filter((l) => l.startsWith("| iOS"))).toHaveLength(9);
    expect(attention).toContain(
      "| iOS | `iPhone17,3` | iPhone 16 | exposed-floor | 26.1 | 26.6.1 | 26.6.1 | ⚠️ exposed | CVE-2025-14174 \\(26.2\\), CVE-2025-43529 \\(26.2\\), CVE-2026-20700 \\(26.3\\) |",
    );
  });

  it("json: the report as it is, tagged with its format", () => {
    const json = JSON.parse(formatCoverage(r, "json")) as CoverageReport;
    expect(json.format).toBe("enrollgate-coverage/1");
    expect(json.models).toHaveLength(286);
    expect(json).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it("escapes what the policies say: no markup in Markdown or HTML, no terminal control in text", () => {
    const hostile = report(`rules:
  - id: evil
    platform: iOS
    models: ["iPhone16,*"]
    minimum: "26.6.1"
    description: "<img src=x onerror=alert(1)> | [link](http://x) \\u001b[2J"
`);
    const html = formatCoverage(hostile, "html");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(formatCoverage(hostile, "text")).not.toContain("\u001b");
  });
});
