// The words of a coverage row, shared by every output format.
import type { CoverageModel, CoverageReport } from "./coverage.js";
import { COVERAGE_STATUSES, type CoverageStatus } from "./coverage-names.js";

/** Symbols that carry each status without colour (the HTML page colours them too). */
export const STATUS_SYMBOLS: Readonly<Record<CoverageStatus, string>> = {
  unreachable: "✕",
  exposed: "!",
  uncovered: "?",
  "audit-only": "◐",
  unsupported: "–",
  ok: "✓",
};

/** "12 unreachable, 3 exposed, ... 246 ok": the statuses that occur, most urgent first. */
export function summaryLine(report: CoverageReport): string {
  const parts = COVERAGE_STATUSES.filter((s) => report.summary[s] > 0).map((s) => `${report.summary[s]} ${s}`);
  return parts.length === 0 ? "no models" : parts.join(", ");
}

/** What the feeds were: "GDMF 1a2b3c4d5e6f, SOFA iOS 2026-08-22". */
export function feedsLine(report: CoverageReport): string {
  return [
    `GDMF ${report.feeds.gdmf.revision}`,
    ...report.feeds.sofa.map((f) => `SOFA ${f.feed} ${f.asOf ?? f.revision}`),
  ].join(", ");
}

/** The exploited cell: unknown without SOFA data, "none", or the CVE ids. */
export function exploitedText(m: CoverageModel): string {
  if (m.exploited === null) return "-";
  if (m.exploited.length === 0) return "none";
  return m.exploited.map((o) => `${o.cve} (${o.fixedIn})`).join(", ");
}

export function targetText(m: CoverageModel): string {
  if (m.rule === null) return "-";
  if (m.target === null) return "none";
  return m.targetAvailable === false ? `${m.target} (not offered)` : m.target;
}

export function floorText(m: CoverageModel): string {
  if (m.minimum === null) return "-";
  return m.minimumBuild === null ? m.minimum : `${m.minimum} (${m.minimumBuild})`;
}
