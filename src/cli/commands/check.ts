// `enrollgate check`: one decision for one device, explained.
import type { Command } from "commander";
import { redactToken } from "../../apple/software-update-required.js";
import { formatReport } from "../../report/index.js";
import { decide } from "../../policy/decide.js";
import type { CompiledPolicySet } from "../../policy/compile.js";
import type { Decision } from "../../policy/model.js";
import { renderBody, type ResponseFormat } from "../../policy/render.js";
import { resolveNow } from "../clock.js";
import { addFactOptions, factsFrom, type FactFlags } from "../facts.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { loadAndCompile } from "../policies.js";

interface CheckOptions extends FactFlags, FeedFlagOptions {
  policies: string;
  json?: boolean;
  now?: string;
}

/** DESIGN.md's `check --json` shape. */
export function decisionJson(decision: Decision, format: ResponseFormat): Record<string, unknown> {
  const body = decision.body === null ? null : redactToken(decision.body);
  return {
    decision: decision.decision,
    reason: decision.reason,
    rule: decision.rule,
    response: body === null ? null : { status: 403, contentType: renderBody(body, format).contentType, body },
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

export function explainDecision(decision: Decision, set: CompiledPolicySet, format: ResponseFormat): string {
  const lines = [`${decision.decision.toUpperCase()}  ${decision.reason}${decision.rule !== null ? `  (rule ${decision.rule})` : ""}`, decision.summary];
  if (decision.considered.length > 0) {
    const width = Math.max(...decision.considered.map((c) => c.rule.length));
    lines.push("", "Rules considered:");
    for (const c of decision.considered) lines.push(`  ${pad(c.rule, width)}  ${pad(c.mode, 7)}  ${pad(c.outcome, 9)}  ${c.detail}`);
  }
  if (decision.platform !== null) {
    const others = set.index.count(decision.platform) - decision.considered.length;
    if (others > 0) lines.push(`  (${others} other ${decision.platform} rule${others === 1 ? "" : "s"} did not match this model)`);
  }
  if (decision.body !== null) {
    const rendered = renderBody(redactToken(decision.body), format);
    lines.push("", `${decision.reason === "audit-only" ? "Would have answered" : "Answer"}: ${rendered.status} ${rendered.contentType}`, rendered.body.toString("utf8").trimEnd());
  }
  return `${lines.join("\n")}\n`;
}

export function registerCheck(program: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const command = program
    .command("check")
    .description("decide for one device and explain why")
    .requiredOption("--policies <dir>", "the policy directory")
    .option("--json", 'print {"decision","reason","rule","response"} as JSON')
    .option("--now <time>", "decide at this instant (YYYY-MM-DD or RFC 3339); default: now");
  addFeedOptions(addFactOptions(command)).action(async (options: CheckOptions) => {
    const facts = await factsFrom(options, io.cwd);
    const now = resolveNow(options.now);
    const result = await loadAndCompile(options.policies, io, { now, purpose: "validate" }, feedFlags(options));
    if (result.set === null) {
      io.stderr(formatReport("text", { findings: result.findings.filter((f) => f.severity === "error"), files: result.checked, version }));
      throw new UsageError(`the policies in ${options.policies} do not compile; fix the errors above`);
    }
    const decision = decide(result.set, facts, now);
    // check has no request to negotiate with: plist only when the set is set to plist.
    const format: ResponseFormat = result.set.settings.format === "plist" ? "plist" : "json";
    io.stdout(options.json === true ? `${JSON.stringify(decisionJson(decision, format))}\n` : explainDecision(decision, result.set, format));
    exit(decision.decision === "block" ? EXIT.failed : EXIT.ok);
  });
}
