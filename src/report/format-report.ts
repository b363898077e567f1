// Findings formatters by name.
import { formatGithub } from "./github.js";
import { formatJson } from "./json.js";
import { formatJunit } from "./junit.js";
import type { ReportFormat, ValidationReport } from "./report.js";
import { formatSarif } from "./sarif.js";
import { formatText } from "./text.js";

export { REPORT_FORMATS, type ReportFormat, type ValidationReport } from "./report.js";

const FORMATTERS: Record<ReportFormat, (report: ValidationReport) => string> = {
  text: formatText,
  json: formatJson,
  github: formatGithub,
  sarif: formatSarif,
  junit: formatJunit,
};

/**
 * Findings as `enrollgate validate --format` prints them: `text`
 * (`file:line:col severity code message`), `json`, `github` (workflow
 * annotations), `sarif` (SARIF 2.1.0 for code scanning) or `junit`.
 *
 * @example
 * import { compile, formatReport, loadPolicySet } from "enrollgate";
 *
 * const result = compile(await loadPolicySet("policies"), { env: process.env, now: Date.now() });
 * process.stdout.write(formatReport("sarif", { findings: result.findings, files: result.checked, version: "0.1.0" }));
 */
export function formatReport(format: ReportFormat, report: ValidationReport): string {
  return FORMATTERS[format](report);
}
