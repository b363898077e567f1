// SARIF 2.1.0 for GitHub code scanning: every code the validator can report
// is declared as a rule, with its entry in docs/findings.md as help; every
// result has a region.
import { FINDING_CODES, type FindingCode } from "../policy/findings.js";
import type { ValidationReport } from "./report.js";

function ruleName(code: string): string {
  return code.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
}

const CODES = Object.keys(FINDING_CODES) as FindingCode[];

export function formatSarif(report: ValidationReport): string {
  const rules = CODES.map((code) => {
    const info = FINDING_CODES[code];
    const entry = report.findingsDocsUrl === undefined ? undefined : `${report.findingsDocsUrl}#${code}`;
    const page = `docs/findings.md#${code}`;
    return {
      id: code,
      name: ruleName(code),
      shortDescription: { text: info.title },
      fullDescription: { text: info.meaning },
      help: {
        text: `${info.meaning}\n\nFix: ${info.fix}\n\nSee ${entry ?? `${page} in the enrollgate package`}.`,
        markdown: `${info.meaning}\n\n**Fix:** ${info.fix}\n\nSee ${entry !== undefined ? `[${page}](${entry})` : `\`${page}\` in the enrollgate package`}.`,
      },
      ...(entry !== undefined ? { helpUri: entry } : {}),
      defaultConfiguration: { level: info.severity },
      properties: { tags: ["enrollgate", "policy"] },
    };
  });
  const results = report.findings.map((f) => ({
    ruleId: f.code,
    ruleIndex: CODES.indexOf(f.code),
    level: f.severity,
    message: { text: f.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: f.file, uriBaseId: "%SRCROOT%" },
          region: {
            startLine: f.line,
            startColumn: f.column,
            endLine: f.endLine,
            endColumn: Math.max(f.endColumn, f.line === f.endLine ? f.column : 1),
          },
        },
      },
    ],
    ...(f.related !== undefined && f.related.length > 0
      ? {
          relatedLocations: f.related.map((r, id) => ({
            id,
            message: { text: r.message },
            physicalLocation: {
              artifactLocation: { uri: r.file, uriBaseId: "%SRCROOT%" },
              region: { startLine: r.line, startColumn: r.column, endLine: r.endLine, endColumn: r.endColumn },
            },
          })),
        }
      : {}),
    ...(f.rule !== undefined ? { properties: { policyRule: f.rule } } : {}),
  }));
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "enrollgate", semanticVersion: report.version, version: report.version, rules } },
        columnKind: "utf16CodeUnits",
        artifacts: report.files.map((uri) => ({ location: { uri, uriBaseId: "%SRCROOT%" } })),
        results,
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
