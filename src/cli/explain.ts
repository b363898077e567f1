// How `check` shows a decision: DESIGN.md's JSON shape, or an explanation
// for people. Beta tokens are always redacted.
import { redactToken } from "../apple/software-update-required.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import type { Decision } from "../policy/model.js";
import { renderBody, type ResponseFormat } from "../policy/render.js";

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

/**
 * Decisions made before any rule is looked at: the gate lets the device
 * through because the answer could not help it.
 */
const NOT_ASKED: Partial<Record<Decision["reason"], string>> = {
  "unsupported-os":
    "the gate lets through a device it cannot send com.apple.softwareupdate.required to, whatever the rules say.",
  "cannot-request-update":
    "Setup Assistant cannot update a device that does not report MDM_CAN_REQUEST_SOFTWARE_UPDATE: true, so the gate lets it through rather than strand it, whatever the rules say.",
};

/** `wouldBe`: for a device that cannot be asked to update, the decision had it been able to. */
export function explainDecision(
  decision: Decision,
  set: CompiledPolicySet,
  format: ResponseFormat,
  wouldBe?: Decision,
): string {
  const lines = [
    `${decision.decision.toUpperCase()}  ${decision.reason}${decision.rule !== null ? `  (rule ${decision.rule})` : ""}`,
    decision.summary,
  ];
  if (decision.considered.length > 0) {
    const width = Math.max(...decision.considered.map((c) => c.rule.length));
    lines.push("", "Rules considered:");
    for (const c of decision.considered)
      lines.push(`  ${pad(c.rule, width)}  ${pad(c.mode, 7)}  ${pad(c.outcome, 9)}  ${c.detail}`);
  }
  const unasked = NOT_ASKED[decision.reason];
  if (unasked !== undefined) {
    lines.push("", `No rule was evaluated: ${unasked}`);
    if (wouldBe !== undefined)
      lines.push(
        `Were it to report MDM_CAN_REQUEST_SOFTWARE_UPDATE: true: ${wouldBe.decision.toUpperCase()}  ${wouldBe.reason}${wouldBe.rule !== null ? `  (rule ${wouldBe.rule})` : ""}`,
        wouldBe.summary,
      );
  } else if (decision.platform !== null) {
    const others = set.index.count(decision.platform) - decision.considered.length;
    if (others > 0)
      lines.push(`  (${others} other ${decision.platform} rule${others === 1 ? "" : "s"} did not match this model)`);
  }
  if (decision.body !== null) {
    const rendered = renderBody(redactToken(decision.body), format);
    lines.push(
      "",
      `${decision.reason === "audit-only" ? "Would have answered" : "Answer"}: ${rendered.status} ${rendered.contentType}`,
      rendered.body.toString("utf8").trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}
