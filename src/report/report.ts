// What every findings formatter receives.
import type { Finding } from "../policy/findings.js";

/** What every findings formatter receives. */
export interface ValidationReport {
  readonly findings: ReadonlyArray<Finding>;
  /** Every file that was checked, as shown in findings. */
  readonly files: ReadonlyArray<string>;
  /** enrollgate's version, for tool metadata. */
  readonly version: string;
  /**
   * The absolute URL of docs/findings.md for this version (see findingsDocsUrl); SARIF links each rule to its entry.
   * Absent: no links.
   */
  readonly findingsDocsUrl?: string;
}

/** The formats formatReport() writes. */
export type ReportFormat = "text" | "json" | "github" | "sarif" | "junit";
/** Every ReportFormat, in the order `--format` lists them. */
export const REPORT_FORMATS: ReadonlyArray<ReportFormat> = ["text", "json", "github", "sarif", "junit"];
