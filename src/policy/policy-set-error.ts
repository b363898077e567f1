// A policy set that does not compile, as an error that carries its findings:
// what `enrollmentGate().ready` rejects with, and what `assertCompiled()`
// throws for a library that calls compile() itself.
import { EnrollgateError } from "../errors.js";
import type { CompileResult, CompiledPolicySet } from "./compile.js";
import { formatFinding, type Finding } from "./findings.js";

/** How many error findings a message lists; the error's `findings` has them all. */
const SHOWN = 20;

/**
 * Why a policy set could not become active: the first line names the set and
 * the reason, then one line per error finding (the first 20) as
 * `file:line:col code message`.
 */
export function describeFailure(dir: string | undefined, error: string, findings: ReadonlyArray<Finding>): string {
  const errors = findings.filter((f) => f.severity === "error");
  const shown = errors.slice(0, SHOWN).map((f) => formatFinding(f, { severity: false }));
  if (errors.length > shown.length) shown.push(`... and ${errors.length - shown.length} more`);
  const set = dir === undefined ? "the policy set" : `the policy set in ${dir}`;
  return `${set} does not compile: ${error}${shown.length > 0 ? `\n${shown.join("\n")}` : ""}`;
}

/** A policy set that does not compile; `findings` holds every finding, warnings included. */
export class PolicySetError extends EnrollgateError<"policy-set-invalid"> {
  override readonly name = "PolicySetError";

  constructor(
    message: string,
    readonly findings: ReadonlyArray<Finding>,
  ) {
    super("policy-set-invalid", message);
  }
}

/**
 * The compiled set of a compile() result, or a PolicySetError carrying the
 * findings when there is none. As at the gate, errors in test files alone do
 * not stop the set (`result.ok` tells those apart). `dir` names the set in
 * the message.
 *
 * @example
 * const set = assertCompiled(compile(await loadPolicySet("policies"), { env: process.env }), "policies");
 * // or it throws: PolicySetError: the policy set in policies does not compile: the policy set has errors
 * //               policies/iphone.yaml:6:14 version-not-string "minimum" is the YAML number 17.1; ...
 */
export function assertCompiled(result: CompileResult, dir?: string): CompiledPolicySet {
  if (result.set !== null) return result.set;
  throw new PolicySetError(describeFailure(dir, "the policy set has errors", result.findings), result.findings);
}
