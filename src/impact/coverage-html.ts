// `enrollgate coverage --format html`: one self-contained page, a matrix of
// platforms × statuses and a table per platform, coloured by status. No
// script, no external asset: styles are inline, and the page's own Content
// Security Policy forbids loading anything, so it can be opened from a CI
// artifact or an email attachment without reaching the network. Every string
// from the feeds and the policies is escaped; the colours come with a symbol
// and a word, and meet WCAG AA contrast, so colour is never the only cue.
import { formatLocation } from "../location.js";
import type { CoverageModel, CoverageReport } from "./coverage.js";
import { COVERAGE_PLATFORMS, COVERAGE_STATUSES, type CoverageStatus } from "./coverage-names.js";
import { exploitedText, feedsLine, floorText, STATUS_SYMBOLS, summaryLine, targetText } from "./coverage-cells.js";

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

const MEANINGS: Readonly<Record<CoverageStatus, string>> = {
  unreachable:
    "The newest version Apple offers the model is below its floor, or its target is not offered to it: the gate lets it in at any version (whenUnavailable: allow) or never (block).",
  exposed: "A device at the floor runs exposed to actively exploited vulnerabilities (per SOFA).",
  uncovered: "No rule matches the model: the gate allows it at any version.",
  "audit-only": "Only audit rules match: devices below the floor are logged, not blocked.",
  unsupported: "The model cannot run an OS that can be asked to update at enrollment.",
  ok: "A rule sets a floor the model can reach, with nothing known to be exploited left open.",
};

/**
 * Light backgrounds for rows (dark text on them: contrast above 12:1); strong ones for chips (white text on them:
 * above 4.5:1).
 */
const COLOURS: Readonly<Record<CoverageStatus, { readonly light: string; readonly strong: string }>> = {
  unreachable: { light: "#fde2e1", strong: "#b42318" },
  exposed: { light: "#fef0c7", strong: "#93370d" },
  uncovered: { light: "#ede9fe", strong: "#5925dc" },
  "audit-only": { light: "#e0eaff", strong: "#3538cd" },
  unsupported: { light: "#f2f4f7", strong: "#475467" },
  ok: { light: "#dcfae6", strong: "#067647" },
};

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #101828; background: #ffffff; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
p.meta { color: #344054; margin: 0 0 4px; }
table { border-collapse: collapse; margin: 4px 0 12px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #d0d5dd; padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f9fafb; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.zero { color: #667085; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.chip { display: inline-block; min-width: 7.5em; padding: 1px 8px; border-radius: 10px; color: #ffffff; font-weight: 600; white-space: nowrap; }
.chip .sym { display: inline-block; width: 1.1em; }
ul.legend { list-style: none; padding: 0; margin: 0; }
ul.legend li { margin: 4px 0; }
tr.row > th { font-weight: 600; white-space: nowrap; }
td.note { color: #344054; max-width: 36em; }
${COVERAGE_STATUSES.map(
  (s) =>
    `.s-${s} { background: ${COLOURS[s].light}; } .chip.s-${s} { background: ${COLOURS[s].strong}; } tr.s-${s} > th { border-left: 6px solid ${COLOURS[s].strong}; }`,
).join("\n")}
`;

function chip(status: CoverageStatus): string {
  return `<span class="chip s-${status}"><span class="sym" aria-hidden="true">${STATUS_SYMBOLS[status]}</span>${status}</span>`;
}

function modelRow(m: CoverageModel, sofa: boolean): string {
  const cells = [
    `<th scope="row" class="mono">${escapeHtml(m.model)}</th>`,
    `<td>${escapeHtml(m.name ?? "")}</td>`,
    `<td class="mono">${escapeHtml(m.rule ?? "-")}${m.mode === "audit" ? " (audit)" : ""}</td>`,
    `<td>${escapeHtml(floorText(m))}</td>`,
    `<td>${escapeHtml(targetText(m))}</td>`,
    `<td>${escapeHtml(m.newest ?? "-")}</td>`,
    `<td class="status">${chip(m.status)}</td>`,
    ...(sofa ? [`<td class="mono">${escapeHtml(exploitedText(m))}</td>`] : []),
    `<td class="note">${escapeHtml(m.note)}</td>`,
  ];
  return `<tr class="row s-${m.status}" data-status="${m.status}">${cells.join("")}</tr>`;
}

function matrix(report: CoverageReport): string {
  const head = COVERAGE_STATUSES.map((s) => `<th scope="col">${chip(s)}</th>`).join("");
  const rows = COVERAGE_PLATFORMS.map((p) => {
    const models = report.models.filter((m) => m.platform === p);
    const cells = COVERAGE_STATUSES.map((s) => {
      const n = models.filter((m) => m.status === s).length;
      return n === 0 ? `<td class="num zero">0</td>` : `<td class="num s-${s}">${n}</td>`;
    }).join("");
    return `<tr><th scope="row">${p}</th>${cells}<td class="num">${models.length}</td></tr>`;
  }).join("\n");
  return `<table class="matrix" id="matrix"><caption>Models by platform and status</caption>
<thead><tr><th scope="col">Platform</th>${head}<th scope="col">All</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function platformTable(report: CoverageReport, platform: string, sofa: boolean): string {
  const models = report.models.filter((m) => m.platform === platform);
  if (models.length === 0) return "";
  const cols = ["Model", "Name", "Rule", "Floor", "Target", "Newest", "Status"];
  if (sofa) cols.push("Exploited CVEs open at the floor (fixed in)");
  cols.push("Why");
  return `<h2 id="platform-${platform}">${platform}</h2>
<table class="models" data-platform="${platform}"><caption>${platform}: ${models.length} model${models.length === 1 ? "" : "s"}</caption>
<thead><tr>${cols.map((c) => `<th scope="col">${c}</th>`).join("")}</tr></thead>
<tbody>
${models.map((m) => modelRow(m, sofa)).join("\n")}
</tbody></table>`;
}

function rulesTable(report: CoverageReport): string {
  const rows = report.rules.map(
    (r) =>
      `<tr><th scope="row" class="mono">${escapeHtml(r.id)}</th><td>${escapeHtml(r.platform)}</td><td>${escapeHtml(r.mode)}</td>` +
      `<td>${escapeHtml(r.minimumBuild === null ? r.minimum : `${r.minimum} (${r.minimumBuild})`)}</td><td>${escapeHtml(r.target)}</td>` +
      `<td>${escapeHtml(r.activeFrom?.slice(0, 10) ?? "")}</td><td class="num">${r.models}</td>` +
      `<td>${escapeHtml(r.description ?? "")}</td><td class="mono">${escapeHtml(formatLocation(r))}</td></tr>`,
  );
  return `<table class="rules"><caption>Rules</caption>
<thead><tr>${["Rule", "Platform", "Mode", "Minimum", "Target", "Active from", "Models decided", "Description", "Defined at"].map((c) => `<th scope="col">${c}</th>`).join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>`;
}

export function renderCoverageHtml(report: CoverageReport): string {
  const sofa = report.feeds.sofa.length > 0;
  const legend = COVERAGE_STATUSES.map((s) => `<li>${chip(s)} ${escapeHtml(MEANINGS[s])}</li>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enrollment coverage at ${escapeHtml(report.now.slice(0, 10))}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Enrollment coverage</h1>
<p class="meta">${report.summary.models} models Apple's feed lists, at ${escapeHtml(report.now)}: ${escapeHtml(summaryLine(report))}.</p>
<p class="meta">Feeds: ${escapeHtml(feedsLine(report))}. Policies: revision <code>${escapeHtml(report.policies.revision)}</code>, ${report.policies.rules} rules.</p>
</header>
<main>
<h2 id="legend">Legend</h2>
<ul class="legend">
${legend}
</ul>
<h2 id="summary">Summary</h2>
${matrix(report)}
${COVERAGE_PLATFORMS.map((p) => platformTable(report, p, sofa)).join("\n")}
<h2 id="rules">Rules</h2>
${rulesTable(report)}
</main>
</body>
</html>
`;
}
