// `enrollgate coverage` output: text for a terminal, Markdown for a
// pull-request comment, JSON for tools (the report as it is), and HTML
// (coverage-html.ts). Every string from the feeds and the policies is
// escaped for the format it lands in.
import { exploitedText, feedsLine, floorText, summaryLine, targetText } from "./coverage-cells.js";
import { renderCoverageHtml } from "./coverage-html.js";
import type { CoverageModel, CoverageReport } from "./coverage.js";
import { COVERAGE_PLATFORMS, type CoverageOutput, type CoverageStatus } from "./coverage-names.js";

/** A coverage report as text, Markdown (a pull-request comment), JSON, or one self-contained HTML page. */
export function formatCoverage(report: CoverageReport, output: CoverageOutput): string {
  switch (output) {
    case "text":
      return coverageText(report);
    case "markdown":
      return coverageMarkdown(report);
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "html":
      return renderCoverageHtml(report);
  }
}

/** Terminal text keeps to printable ASCII-ish: a hostile name cannot move the cursor or clear the screen. */
function plain(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, "?");
}

function table(rows: ReadonlyArray<ReadonlyArray<string>>, indent = "  "): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
  );
}

function coverageText(report: CoverageReport): string {
  const sofa = report.feeds.sofa.length > 0;
  const lines = [
    `Coverage at ${report.now} of ${report.summary.models} models Apple's feed lists (${feedsLine(report)}; policies ${report.policies.revision})`,
    `  ${summaryLine(report)}`,
  ];
  for (const platform of COVERAGE_PLATFORMS) {
    const models = report.models.filter((m) => m.platform === platform);
    if (models.length === 0) continue;
    lines.push("", `${platform}: ${models.length} model${models.length === 1 ? "" : "s"}`);
    const head = ["MODEL", "RULE", "FLOOR", "TARGET", "NEWEST", "STATUS", ...(sofa ? ["EXPLOITED OPEN"] : [])];
    const rows = models.map((m) => [
      plain(m.model),
      m.rule ?? "-",
      floorText(m),
      targetText(m),
      m.newest ?? "-",
      m.status,
      ...(sofa ? [exploitedText(m)] : []),
    ]);
    lines.push(...table([head, ...rows]));
  }
  return `${lines.join("\n")}\n`;
}

/** Text inside a Markdown table cell: no markup, no HTML, no cell breaks. */
export function markdownCell(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_{}[\]()#+!|~]/g, (c) => `\\${c}`)
    .replace(/\r\n|[\r\n\u2028\u2029]/g, " ");
}

const BADGES: Readonly<Record<CoverageStatus, string>> = {
  unreachable: "⛔ unreachable",
  exposed: "⚠️ exposed",
  uncovered: "❔ uncovered",
  "audit-only": "👁️ audit-only",
  unsupported: "➖ unsupported",
  ok: "✅ ok",
};

function markdownRow(m: CoverageModel, withPlatform: boolean, sofa: boolean, withNote: boolean): string {
  const cells = [
    ...(withPlatform ? [m.platform] : []),
    // A model id from outside (the feed) cannot end the row, split the cell or close the code span.
    `\`${m.model.replace(/[`|\r\n\u2028\u2029]/g, "?")}\``,
    markdownCell(m.name ?? ""),
    markdownCell(m.rule ?? "-"),
    markdownCell(floorText(m)),
    markdownCell(targetText(m)),
    markdownCell(m.newest ?? "-"),
    BADGES[m.status],
    ...(sofa ? [markdownCell(exploitedText(m))] : []),
    ...(withNote ? [markdownCell(m.note)] : []),
  ];
  return `| ${cells.join(" | ")} |`;
}

function coverageMarkdown(report: CoverageReport): string {
  const sofa = report.feeds.sofa.length > 0;
  const head = (withPlatform: boolean, withNote: boolean) => {
    const cols = [
      ...(withPlatform ? ["Platform"] : []),
      "Model",
      "Name",
      "Rule",
      "Floor",
      "Target",
      "Newest",
      "Status",
      ...(sofa ? ["Exploited CVEs open at the floor"] : []),
      ...(withNote ? ["Why"] : []),
    ];
    return [`| ${cols.join(" | ")} |`, `|${cols.map(() => " --- |").join("")}`];
  };
  const out = [
    "### Enrollment coverage",
    "",
    `${report.summary.models} models Apple's feed lists, at ${report.now}: ${summaryLine(report)}.`,
    `Feeds: ${markdownCell(feedsLine(report))}; policies \`${report.policies.revision}\`.`,
  ];
  const attention = report.models.filter((m) => m.status === "unreachable" || m.status === "exposed");
  if (attention.length > 0) {
    out.push("", "#### Needs attention", "", ...head(true, true));
    for (const m of attention) out.push(markdownRow(m, true, sofa, true));
  }
  for (const platform of COVERAGE_PLATFORMS) {
    const models = report.models.filter((m) => m.platform === platform);
    if (models.length === 0) continue;
    out.push("", "<details>", `<summary>${platform}: ${models.length} models</summary>`, "", ...head(false, true));
    for (const m of models) out.push(markdownRow(m, false, sofa, true));
    out.push("", "</details>");
  }
  return `${out.join("\n")}\n`;
}
