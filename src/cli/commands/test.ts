// `enrollgate test [DIR...]`: runs the *.test.yaml cases against the policies.
import type { Command } from "commander";
import { formatLocation } from "../../location.js";
import { formatFinding, type Finding, type SourceRange } from "../../policy/findings.js";
import { printable } from "../../printable.js";
import { escapeData, escapeProperty } from "../../report/github.js";
import type { TestReport } from "../../policy/testing.js";
import { junitDocument, type JunitCase } from "../../report/junit.js";
import { resolveNow } from "../clock.js";
import { EXIT, type CliIO, type ExitCode } from "../io.js";
import { addSecretsDirOption, choice } from "../options.js";
import { loadAndCompile } from "../policies.js";

interface TestOptions {
  requireTests?: boolean;
  secretsDir?: string[];
  now?: string;
  format?: "text" | "junit" | "github";
}

interface DirOutcome {
  dir: string;
  errors: Finding[];
  report: TestReport | null;
}

function text(outcomes: DirOutcome[]): { out: string; failed: number; passed: number } {
  const lines: string[] = [];
  let failed = 0;
  let passed = 0;
  for (const o of outcomes) {
    for (const f of o.errors) {
      lines.push(`✗ ${formatFinding(f, { severity: false })}`);
      failed++;
    }
    if (o.report === null) continue;
    let file = "";
    for (const r of o.report.results) {
      if (r.test.source.file !== file) {
        file = r.test.source.file;
        lines.push(file);
      }
      if (r.problems.length === 0) {
        lines.push(`  ✓ ${printable(r.test.name)}`);
        passed++;
      } else {
        lines.push(`  ✗ ${printable(r.test.name)}  (${formatLocation(r.test.source)})`);
        for (const p of r.problems) lines.push(`      ${p}`);
        lines.push(`      decided: ${r.decision.summary}`);
        failed++;
      }
    }
    for (const rule of o.report.untested) {
      lines.push(`✗ ${formatLocation(rule.source)} rule-untested rule "${rule.id}" has no test case that expects it`);
      failed++;
    }
  }
  lines.push("", `${passed} passed, ${failed} failed`);
  return { out: `${lines.join("\n")}\n`, failed, passed };
}

function junit(outcomes: DirOutcome[]): string {
  const cases: JunitCase[] = [];
  for (const o of outcomes) {
    for (const f of o.errors)
      cases.push({
        classname: f.file,
        name: `${f.code} at ${f.line}:${f.column}`,
        failure: { message: f.message, type: f.code, text: `${formatLocation(f)} ${f.message}` },
      });
    for (const r of o.report?.results ?? []) {
      cases.push({
        classname: r.test.source.file,
        name: r.test.name,
        ...(r.problems.length > 0
          ? {
              failure: {
                message: r.problems.join("; "),
                type: "assertion",
                text: `${r.problems.join("\n")}\ndecided: ${r.decision.summary}`,
              },
            }
          : {}),
      });
    }
    for (const rule of o.report?.untested ?? []) {
      cases.push({
        classname: rule.source.file,
        name: `rule ${rule.id} is tested`,
        failure: {
          message: "no test case expects this rule",
          type: "rule-untested",
          text: formatLocation(rule.source),
        },
      });
    }
  }
  return junitDocument("enrollgate test", cases);
}

/**
 * GitHub Actions annotations on each failure (at the case, the finding or the
 * untested rule), followed by the text report for the log.
 */
function github(outcomes: DirOutcome[]): { out: string; failed: number } {
  const annotations: string[] = [];
  const annotate = (at: SourceRange, title: string, message: string) =>
    annotations.push(
      `::error file=${escapeProperty(at.file)},line=${at.line},col=${at.column},endLine=${at.endLine},endColumn=${at.endColumn},title=${escapeProperty(title)}::${escapeData(message)}`,
    );
  for (const o of outcomes) {
    for (const f of o.errors)
      annotate(f, `enrollgate ${f.code}${f.rule !== undefined ? ` (${f.rule})` : ""}`, f.message);
    for (const r of o.report?.results ?? [])
      if (r.problems.length > 0)
        annotate(
          r.test.source,
          `enrollgate test: ${r.test.name}`,
          `${r.problems.join("\n")}\ndecided: ${r.decision.summary}`,
        );
    for (const rule of o.report?.untested ?? [])
      annotate(
        rule.source,
        `enrollgate rule-untested (${rule.id})`,
        `rule "${rule.id}" has no test case that expects it`,
      );
  }
  const t = text(outcomes);
  return { out: `${annotations.map((a) => `${a}\n`).join("")}${t.out}`, failed: t.failed };
}

export function registerTest(program: Command, io: CliIO, exit: (code: ExitCode) => void): void {
  const command = program
    .command("test")
    .description("run the *.test.yaml cases of policy directories")
    .argument("[dirs...]", "policy directories", ["policies"])
    .option("--require-tests", "fail every rule that no test case expects")
    .option("--now <time>", "decide at this instant unless a case sets its own now; default: now")
    .addOption(
      choice("--format <format>", "text, junit or github (default under GITHUB_ACTIONS=true)", [
        "text",
        "junit",
        "github",
      ]),
    );
  addSecretsDirOption(command).action(async (dirs: string[], options: TestOptions) => {
    const now = resolveNow(options.now);
    const { runTests } = await import("../../policy/testing.js");
    const outcomes: DirOutcome[] = [];
    for (const dir of dirs) {
      const result = await loadAndCompile(dir, io, { now, purpose: "validate" }, {}, options.secretsDir);
      const errors = result.findings.filter((f) => f.severity === "error");
      const report =
        result.set === null
          ? null
          : runTests(result.set, result.tests, { now, requireTests: options.requireTests === true });
      if (report !== null && result.tests.length === 0 && errors.length === 0) {
        errors.push({
          file: dir,
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 1,
          severity: "error",
          code: "test-no-cases",
          message: `no *.test.yaml files in ${dir}`,
        });
      }
      outcomes.push({ dir, errors, report });
    }
    const format = options.format ?? (io.env.GITHUB_ACTIONS === "true" ? "github" : "text");
    if (format === "github") {
      const g = github(outcomes);
      io.stdout(g.out);
      exit(g.failed > 0 ? EXIT.failed : EXIT.ok);
      return;
    }
    if (format === "junit") {
      io.stdout(junit(outcomes));
      const failed = outcomes.some(
        (o) => o.errors.length > 0 || (o.report?.failed ?? 0) > 0 || (o.report?.untested.length ?? 0) > 0,
      );
      exit(failed ? EXIT.failed : EXIT.ok);
      return;
    }
    const t = text(outcomes);
    io.stdout(t.out);
    exit(t.failed > 0 ? EXIT.failed : EXIT.ok);
  });
}
