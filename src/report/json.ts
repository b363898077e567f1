// DESIGN.md's JSON contract:
// {"findings":[{file,line,column,endLine,endColumn,severity,code,message,rule}],"errors":N,"warnings":N}
import { countBySeverity } from "../policy/findings.js";
import type { ValidationReport } from "./report.js";

export function formatJson(report: ValidationReport): string {
  const findings = report.findings.map((f) => ({
    file: f.file,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    endColumn: f.endColumn,
    severity: f.severity,
    code: f.code,
    message: f.message,
    rule: f.rule ?? null,
  }));
  return `${JSON.stringify({ findings, ...countBySeverity(report.findings) })}\n`;
}
