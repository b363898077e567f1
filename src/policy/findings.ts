// Findings: what validation reports, each at a file, line and column. The
// catalogue below is every code the validator can report; SARIF output
// declares all of them, and tests keep the catalogue and the code in step.
import { formatLocation } from "../location.js";

export type Severity = "error" | "warning";

export interface Position {
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

export interface SourceRange {
  /** Path relative to the policy directory's parent view: what users see. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export interface RelatedLocation extends SourceRange {
  readonly message: string;
}

export interface Finding extends SourceRange {
  readonly severity: Severity;
  readonly code: FindingCode;
  readonly message: string;
  /** The policy rule id, where one applies. */
  readonly rule?: string;
  readonly related?: ReadonlyArray<RelatedLocation>;
}

interface CodeInfo {
  readonly severity: Severity;
  readonly title: string;
  readonly help: string;
}

export const FINDING_CODES = {
  "yaml-syntax": { severity: "error", title: "YAML syntax error", help: "The file is not valid YAML." },
  "yaml-aliases": { severity: "error", title: "Too many YAML aliases", help: "Aliases that expand exponentially are refused." },
  "yaml-multiple-documents": { severity: "error", title: "More than one YAML document", help: "A policy file holds exactly one YAML document." },
  "yaml-too-deep": { severity: "error", title: "YAML nested too deeply", help: "Policy files nest a few levels; a document nested more than 64 levels deep is refused before it is parsed." },
  "file-too-large": { severity: "error", title: "File too large", help: "Policy files are limited in size." },
  "file-unreadable": { severity: "error", title: "File unreadable", help: "The file could not be read, or is not a regular file (a FIFO, a device)." },
  "file-outside-policy-dir": { severity: "error", title: "Policy file outside the policy directory", help: "A symlink in the policy directory leads outside it; policy files are read only inside the policy directory." },
  "empty-rule-file": { severity: "error", title: "Empty rule file", help: "A rule file holds no rules: key, so it would silently remove the rules it held. Write rules: [] to enforce nothing on purpose." },
  "no-rule-files": { severity: "error", title: "No rule files", help: "The policy directory holds no rule file; an empty set would allow every device. Write rules: [] to enforce nothing on purpose." },
  "schema-unknown-key": { severity: "error", title: "Unknown key", help: "The key is not part of the policy format (schemas/policy.schema.json)." },
  "schema-missing-key": { severity: "error", title: "Missing key", help: "A required key is missing." },
  "schema-type": { severity: "error", title: "Wrong type", help: "The value has the wrong type." },
  "schema-value": { severity: "error", title: "Invalid value", help: "The value is not allowed here." },
  "version-not-string": { severity: "error", title: "Version written as a YAML number", help: "YAML reads 17.10 as the number 17.1; write versions as quoted strings." },
  "invalid-version": { severity: "error", title: "Invalid OS version", help: "An OS version is MAJOR[.MINOR[.PATCH]] with an optional \" (a)\" extra." },
  "invalid-build": { severity: "error", title: "Invalid build number", help: "A build number looks like 21G93, 20A242a or 21E5212f." },
  "invalid-date": { severity: "error", title: "Invalid date", help: "Dates are YYYY-MM-DD or an RFC 3339 date-time." },
  "duplicate-rule-id": { severity: "error", title: "Duplicate rule id", help: "Rule ids are unique across the policy set." },
  "target-below-minimum": { severity: "error", title: "Target below minimum", help: "A device updated to the target would still be below the minimum." },
  "literal-beta-token": { severity: "error", title: "Beta token in git", help: "Beta program tokens never live in git: use token: {env: NAME} or {file: PATH}." },
  "token-file-refused": { severity: "error", title: "Token file refused", help: "A beta token file must be a regular file inside the policy directory or a directory the operator names with --secrets-dir; the gate never reads any other file a policy names." },
  "token-env-refused": { severity: "error", title: "Token variable refused", help: "A beta token comes from BETA_TOKEN or an environment variable whose name ends in _BETA_TOKEN; the gate never reads any other variable a policy names, since the environment holds the server's other secrets." },
  "trust-anchor-refused": { severity: "error", title: "Trust anchor file refused", help: "A trust anchor file named in enrollgate.yaml must be a regular file inside the policy directory or a directory the operator names with --secrets-dir." },
  "beta-token-unset": { severity: "warning", title: "Beta token not available", help: "The token's environment variable or file is not available; the gate refuses to serve without it." },
  "model-never-matches": { severity: "error", title: "Model glob never matches", help: "No device of the rule's platform has a PRODUCT or SOFTWARE_UPDATE_DEVICE_ID this glob matches." },
  "exemption-expired": { severity: "warning", title: "Exemption expired", help: "The exemption's until date has passed; it no longer exempts anyone." },
  "rule-unreachable": { severity: "warning", title: "Rule unreachable", help: "A stricter rule of the same scope always decides first, so this rule never decides." },
  "beta-program-unsupported": { severity: "warning", title: "Beta program cannot be sent", help: "No device this rule blocks runs an OS that accepts details.RequireBetaProgram." },
  "target-needs-feed": { severity: "error", title: "Target needs the GDMF feed", help: "latest and latest-in-major are resolved from Apple's GDMF feed; configure one." },
  "body-invalid": { severity: "error", title: "403 body fails Apple's schema", help: "The rule's response does not validate against schemas/softwareupdate.required.yaml." },
  "test-unknown-rule": { severity: "error", title: "Test names an unknown rule", help: "A test case expects a rule id that no policy file defines." },
  "test-no-cases": { severity: "error", title: "Test file without cases", help: "A test file must hold at least one case." },
  "rule-untested": { severity: "error", title: "Rule without a test case", help: "With --require-tests every rule needs a test case that expects it." },
  "target-not-in-feed": { severity: "error", title: "Target not in Apple's feed", help: "Apple's GDMF feed does not list the target version for the rule's platform." },
  "target-expired": { severity: "error", title: "Target no longer offered", help: "Apple's GDMF feed lists the target version only with an expiration date that has passed." },
  "models-without-target": { severity: "warning", title: "Models that cannot install the target", help: "Apple's GDMF feed lists models the rule matches, but not for the target version; whenUnavailable decides what they get." },
  "adu-update-missing": { severity: "error", title: "ADU update not imported", help: "The rule's ADU update at the target version is not imported into Azure Device Update." },
  "adu-incompatible": { severity: "error", title: "ADU update not compatible", help: "The ADU update has no compatibility entry for a model the rule names." },
  "adu-case-mismatch": { severity: "warning", title: "ADU compatibility differs in letter case", help: "A compatibility entry matches only when letter case is ignored; it does not count as a match." },
  "adu-unknown": { severity: "warning", title: "ADU could not be asked", help: "Azure Device Update could not be reached, so whether the target is imported is unknown (an error with --strict)." },
} as const satisfies Record<string, CodeInfo>;

export type FindingCode = keyof typeof FINDING_CODES;

export function codeInfo(code: FindingCode): CodeInfo {
  return FINDING_CODES[code];
}

/**
 * One finding on one line, as `enrollgate validate` prints it:
 * `file:line:col severity code message`. Where only errors are listed (a
 * policy set that does not compile), `{ severity: false }` leaves the
 * severity out. Line breaks in the message become spaces, so that a finding
 * is always one line of a log or a terminal.
 */
export function formatFinding(f: Finding, options: { readonly severity?: boolean } = {}): string {
  const severity = options.severity === false ? "" : `${f.severity} `;
  return `${formatLocation(f)} ${severity}${f.code} ${f.message.replace(/\r\n|[\r\n]/g, " ")}`;
}

export function countBySeverity(findings: ReadonlyArray<Finding>): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const f of findings) {
    if (f.severity === "error") errors++;
    else warnings++;
  }
  return { errors, warnings };
}

/** Stable order: file, line, column, code. */
export function sortFindings(findings: ReadonlyArray<Finding>): Finding[] {
  return [...findings].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.column - b.column ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}
