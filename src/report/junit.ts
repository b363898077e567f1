// JUnit XML: one test case per checked file, failing when the file has errors;
// warnings go to the case's system-out.
import { formatFinding } from "../policy/findings.js";
import type { ValidationReport } from "./report.js";

/** Escapes text for XML 1.0; characters XML cannot carry are written as visible \uXXXX text. */
export function xmlEscape(s: string): string {
  return s
    .replace(
      /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu,
      (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`,
    )
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

export interface JunitCase {
  readonly name: string;
  readonly classname: string;
  readonly failure?: { readonly message: string; readonly type: string; readonly text: string };
  readonly systemOut?: string;
}

/** Renders test cases as a JUnit document (shared by validate and test). */
export function junitDocument(suite: string, cases: ReadonlyArray<JunitCase>): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const body = cases.map((c) => {
    const parts = [`    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}">`];
    if (c.failure !== undefined) {
      parts.push(
        `      <failure message="${xmlEscape(c.failure.message)}" type="${xmlEscape(c.failure.type)}">${xmlEscape(c.failure.text)}</failure>`,
      );
    }
    if (c.systemOut !== undefined) parts.push(`      <system-out>${xmlEscape(c.systemOut)}</system-out>`);
    parts.push("    </testcase>");
    return parts.join("\n");
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(suite)}" tests="${cases.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
    ...body,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

export function formatJunit(report: ValidationReport): string {
  const files = [...new Set([...report.files, ...report.findings.map((f) => f.file)])];
  const cases = files.map((file): JunitCase => {
    const mine = report.findings.filter((f) => f.file === file);
    const errors = mine.filter((f) => f.severity === "error");
    const warnings = mine.filter((f) => f.severity === "warning");
    return {
      name: file,
      classname: "enrollgate.validate",
      ...(errors.length > 0
        ? {
            failure: {
              message: `${errors.length} error${errors.length === 1 ? "" : "s"}: ${errors[0]?.message ?? ""}`,
              type: errors[0]?.code ?? "error",
              text: errors.map((f) => formatFinding(f)).join("\n"),
            },
          }
        : {}),
      ...(warnings.length > 0 ? { systemOut: warnings.map((f) => formatFinding(f)).join("\n") } : {}),
    };
  });
  return junitDocument("enrollgate validate", cases);
}
