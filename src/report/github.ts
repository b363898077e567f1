// GitHub Actions workflow commands: annotations on the pull request's diff.
// https://docs.github.com/actions/reference/workflow-commands-for-github-actions
import { countBySeverity } from "../policy/findings.js";
import type { ValidationReport } from "./report.js";

/** Escapes a command's message. */
export function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escapes a command property value: also ':' and ','. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export function formatGithub(report: ValidationReport): string {
  const lines = report.findings.map((f) => {
    const props = [
      `file=${escapeProperty(f.file)}`,
      `line=${f.line}`,
      `col=${f.column}`,
      `endLine=${f.endLine}`,
      `endColumn=${f.endColumn}`,
      `title=${escapeProperty(`enrollgate ${f.code}${f.rule !== undefined ? ` (${f.rule})` : ""}`)}`,
    ];
    return `::${f.severity} ${props.join(",")}::${escapeData(f.message)}`;
  });
  const { errors, warnings } = countBySeverity(report.findings);
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  lines.push(`enrollgate: ${n(report.files.length, "file")} checked, ${n(errors, "error")}, ${n(warnings, "warning")}`);
  return `${lines.join("\n")}\n`;
}
