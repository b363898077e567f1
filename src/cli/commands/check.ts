// `enrollgate check`: one decision for one device, explained.
import type { Command } from "commander";
import { FINDING_CODES, formatFinding } from "../../policy/findings.js";
import type { ResponseFormat } from "../../policy/render.js";
import { resolveNow } from "../clock.js";
import { addFactOptions, factsFrom, type FactFlags } from "../facts.js";
import { EXIT, type CliIO, type ExitCode } from "../io.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { addSecretsDirOption } from "../options.js";
import { compiledSet, loadAndCompile } from "../policies.js";

interface CheckOptions extends FactFlags, FeedFlagOptions {
  policies: string;
  json?: boolean;
  now?: string;
  secretsDir?: string[];
}

export function registerCheck(program: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const command = program
    .command("check")
    .description("decide for one device and explain why")
    .requiredOption("--policies <dir>", "the policy directory")
    .option("--json", 'print {"decision","reason","rule","response"} as JSON')
    .option("--now <time>", "decide at this instant (YYYY-MM-DD or RFC 3339); default: now");
  addFeedOptions(addSecretsDirOption(addFactOptions(command))).action(async (options: CheckOptions) => {
    const facts = await factsFrom(options, io.cwd);
    const now = resolveNow(options.now);
    const result = await loadAndCompile(
      options.policies,
      io,
      { now, purpose: "validate", feedSeverity: "warning" },
      feedFlags(options),
      options.secretsDir,
    );
    const set = compiledSet(result, options.policies, io, version);
    // What the feeds say against the set is an error for validate but a warning for the gate, which checks
    // each device against the feed when it decides: check decides the same way, and says so.
    for (const f of result.findings)
      if (f.severity === "warning" && FINDING_CODES[f.code].severity === "error")
        io.stderr(
          `enrollgate: warning: ${formatFinding(f, { severity: false })} (the gate serves with this warning)\n`,
        );
    const [{ decide }, { decisionJson, explainDecision }, { deviceExposure, explainExposure }] = await Promise.all([
      import("../../policy/decide.js"),
      import("../explain.js"),
      import("../exposure.js"),
    ]);
    const decision = decide(set, facts, now);
    const wouldBe =
      decision.reason === "cannot-request-update" ? decide(set, { ...facts, canRequestUpdate: true }, now) : undefined;
    // check has no request to negotiate with: plist only when the set is set to plist.
    const format: ResponseFormat = set.settings.format === "plist" ? "plist" : "json";
    // With SOFA: the actively exploited vulnerabilities the device is exposed to (JSON: an added `exploited`).
    const exposure = deviceExposure(set, facts, decision);
    io.stdout(
      options.json === true
        ? `${JSON.stringify({ ...decisionJson(decision, format), ...(exposure !== null ? { exploited: exposure.open } : {}) })}\n`
        : explainDecision(decision, set, format, wouldBe) + (exposure !== null ? explainExposure(exposure, facts) : ""),
    );
    exit(decision.decision === "block" ? EXIT.failed : EXIT.ok);
  });
}
