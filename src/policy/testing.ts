// Policy tests: each case in a *.test.yaml file describes a device and what
// the gate must decide for it. Pure: runs decide() on a compiled set.
import { compareOsVersionStrings } from "../apple/version.js";
import type { CompiledPolicySet, CompiledRule } from "./compile.js";
import { decide } from "./decide.js";
import type { Decision, TestCase } from "./model.js";

/** One test case, what was decided for it, and how that differs from what it expects. */
export interface CaseResult {
  readonly test: TestCase;
  readonly decision: Decision;
  /** Empty when the case passed. */
  readonly problems: ReadonlyArray<string>;
}

/** What runTests() found: every case's result, the counts, and (with requireTests) the rules no case expects. */
export interface TestReport {
  readonly results: ReadonlyArray<CaseResult>;
  /** With requireTests: rules no case expects. */
  readonly untested: ReadonlyArray<CompiledRule>;
  readonly passed: number;
  readonly failed: number;
}

function sameVersion(a: string, b: string): boolean {
  try {
    return compareOsVersionStrings(a, b) === 0;
  } catch {
    return a === b;
  }
}

function check(test: TestCase, d: Decision): string[] {
  const e = test.expect;
  const problems: string[] = [];
  if (d.decision !== e.decision) problems.push(`decision: expected ${e.decision}, got ${d.decision}`);
  if (d.reason !== e.reason) problems.push(`reason: expected ${e.reason}, got ${d.reason}`);
  if (e.rule !== undefined && d.rule !== e.rule)
    problems.push(`rule: expected ${e.rule ?? "none"}, got ${d.rule ?? "none"}`);
  const details = d.body?.details;
  if (e.target !== undefined) {
    if (details === undefined) problems.push(`target: expected ${e.target}, but no 403 body`);
    else if (!sameVersion(details.OSVersion, e.target))
      problems.push(`target: expected ${e.target}, got ${details.OSVersion}`);
  }
  if (e.buildVersion !== undefined) {
    const got = details?.BuildVersion ?? null;
    if (got !== e.buildVersion)
      problems.push(`buildVersion: expected ${e.buildVersion ?? "none"}, got ${got ?? "none"}`);
  }
  if (e.betaProgram !== undefined) {
    const got = details?.RequireBetaProgram !== undefined;
    if (got !== e.betaProgram)
      problems.push(`betaProgram: expected ${e.betaProgram ? "present" : "absent"}, got ${got ? "present" : "absent"}`);
  }
  return problems;
}

/**
 * Runs a policy set's test cases (its `*.test.yaml` files, as compile()
 * returns them in `tests`), each at its own `now`, else at `options.now`.
 * With `requireTests`, a rule no case expects is reported in `untested`.
 *
 * @example
 * import { assertCompiled, compile, loadPolicySet, runTests } from "enrollgate";
 *
 * const result = compile(await loadPolicySet("policies"), { env: process.env });
 * const report = runTests(assertCompiled(result, "policies"), result.tests, { now: Date.now(), requireTests: true });
 * for (const r of report.results) if (r.problems.length > 0) console.error(r.test.name, r.problems.join("; "));
 * process.exitCode = report.failed > 0 || report.untested.length > 0 ? 1 : 0;
 */
export function runTests(
  set: CompiledPolicySet,
  cases: ReadonlyArray<TestCase>,
  options: { readonly now: number; readonly requireTests?: boolean },
): TestReport {
  const results = cases.map((test) => {
    const decision = decide(set, test.facts, test.now ?? options.now);
    return { test, decision, problems: check(test, decision) };
  });
  const expected = new Set(cases.map((c) => c.expect.rule).filter((r): r is string => typeof r === "string"));
  const untested = options.requireTests === true ? set.rules.filter((r) => !expected.has(r.id)) : [];
  const failed = results.filter((r) => r.problems.length > 0).length;
  return { results, untested, passed: results.length - failed, failed };
}
