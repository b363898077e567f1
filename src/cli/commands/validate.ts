// `enrollgate validate [DIR...]`: schema, semantic and cross-checks; findings with file:line:col.
import type { Command } from "commander";
import type { Finding } from "../../policy/findings.js";
import { countBySeverity } from "../../policy/findings.js";
import { formatReport, REPORT_FORMATS, type ReportFormat } from "../../report/format-report.js";
import { resolveNow } from "../clock.js";
import { EXIT, type CliIO, type ExitCode } from "../io.js";
import { addSecretsDirOption, choice } from "../options.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { loadAndCompile } from "../policies.js";

interface ValidateOptions extends FeedFlagOptions {
  format?: ReportFormat;
  secretsDir?: string[];
  strict?: boolean;
  now?: string;
}

/** `findingsDocs`: where docs/findings.md is published for this version, if package.json says (SARIF links to it). */
export function registerValidate(
  program: Command,
  io: CliIO,
  exit: (code: ExitCode) => void,
  version: string,
  findingsDocs?: string,
): void {
  const command = program
    .command("validate")
    .description("check policy directories: schema, semantics and cross-checks, with file:line:col findings")
    .argument("[dirs...]", "policy directories", ["policies"])
    .addOption(
      choice(
        "--format <format>",
        "text, json, github (default under GITHUB_ACTIONS=true), sarif or junit",
        REPORT_FORMATS,
      ),
    )
    .option("--strict", "treat warnings as errors")
    .option("--now <time>", "evaluate dates at this instant (YYYY-MM-DD or RFC 3339); default: now");
  addFeedOptions(addSecretsDirOption(command)).action(async (dirs: string[], options: ValidateOptions) => {
    const format: ReportFormat = options.format ?? (io.env.GITHUB_ACTIONS === "true" ? "github" : "text");
    const now = resolveNow(options.now);
    const findings: Finding[] = [];
    const files: string[] = [];
    for (const dir of dirs) {
      const result = await loadAndCompile(
        dir,
        io,
        { now, purpose: "validate" },
        feedFlags(options),
        options.secretsDir,
      );
      findings.push(...result.findings);
      files.push(...result.checked);
    }
    const final =
      options.strict === true
        ? findings.map((f) => (f.severity === "warning" ? { ...f, severity: "error" as const } : f))
        : findings;
    io.stdout(
      formatReport(format, {
        findings: final,
        files,
        version,
        ...(findingsDocs !== undefined ? { findingsDocsUrl: findingsDocs } : {}),
      }),
    );
    exit(countBySeverity(final).errors > 0 ? EXIT.failed : EXIT.ok);
  });
}
