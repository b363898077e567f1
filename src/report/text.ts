// `file:line:col severity code message`, one finding per line, then a count.
import { countBySeverity, formatFinding } from "../policy/findings.js";
import type { ValidationReport } from "./report.js";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function formatText(report: ValidationReport): string {
  const lines = report.findings.map((f) => formatFinding(f));
  const { errors, warnings } = countBySeverity(report.findings);
  const checked = plural(report.files.length, "file");
  lines.push(
    errors + warnings === 0
      ? `${checked} checked, no findings`
      : `${checked} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}`,
  );
  return `${lines.join("\n")}\n`;
}
