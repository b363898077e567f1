// What every findings formatter receives.
import type { Finding } from "../policy/findings.js";

export interface ValidationReport {
  readonly findings: ReadonlyArray<Finding>;
  /** Every file that was checked, as shown in findings. */
  readonly files: ReadonlyArray<string>;
  /** enrollgate's version, for tool metadata. */
  readonly version: string;
}

export type ReportFormat = "text" | "json" | "github" | "sarif" | "junit";
export const REPORT_FORMATS: ReadonlyArray<ReportFormat> = ["text", "json", "github", "sarif", "junit"];
