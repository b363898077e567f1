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

export function formatReport(format: ReportFormat, report: ValidationReport): string {
  return FORMATTERS[format](report);
}
