// Structurally valid policy documents → the typed model. What the JSON Schema
// cannot say (an impossible date) becomes a finding here.
import { parseBuild } from "../apple/build.js";
import { parseOsVersion } from "../apple/version.js";
import { parsePolicyDate } from "./dates.js";
import { isTimeOfDay, normalizeLocalDateTime } from "./deadline.js";
import { compileGlob, type ModelGlob } from "./glob.js";
import type { Finding, SourceRange } from "./findings.js";
import { describedFacts, type DeviceDescription } from "./facts.js";
import {
  DEFAULT_SETTINGS,
  type Deadline,
  type EnrolledPolicy,
  type PolicyPlatform,
  type Settings,
  type TargetSpec,
  type TestCase,
  type TestExpectation,
  type TokenRef,
} from "./model.js";
import { PolicyRule } from "./rule-object.js";
import { finding, type DataPath, type ParsedSource } from "./source.js";

/** A rule with the means to point at any of its fields. */
export interface RuleDraft {
  readonly rule: PolicyRule;
  /** Its model globs, compiled once for the checks and the index. */
  readonly globs: ReadonlyArray<ModelGlob> | null;
  at(field: DataPath, part?: "key" | "value"): SourceRange;
}

/**
 * Defines `key` as computed on first read: positions need the positioned YAML
 * AST, which clean files never build otherwise.
 */
export function lazily<T extends object>(target: T, key: string, compute: () => unknown): T {
  let done = false;
  let value: unknown;
  Object.defineProperty(target, key, {
    enumerable: true,
    get() {
      if (!done) {
        value = compute();
        done = true;
      }
      return value;
    },
  });
  return target;
}

// Shapes the schema has already guaranteed.
interface RawRule {
  id: string;
  platform: PolicyPlatform;
  models?: string[];
  minimum: string;
  minimumBuild?: string;
  target?: string;
  targetBuild?: string;
  betaProgram?: { description: string; token: TokenRef };
  message?: string;
  description?: string;
  mode?: "enforce" | "audit";
  activeFrom?: string;
  exempt?: { serials: string[]; until?: string };
  whenUnavailable?: "allow" | "block";
  adu?: { provider: string; name: string; manufacturer?: string };
  enrolled?: {
    target?: string;
    targetBuild?: string;
    deadline: string | { daysAfterRelease?: number; at: string };
    detailsURL?: string;
  };
}

interface RawCase {
  name: string;
  now?: string;
  facts: DeviceDescription;
  expect: TestExpectation;
}

function targetSpec(text: string | undefined, minimum: string): TargetSpec {
  if (text === "latest") return { kind: "latest" };
  if (text === "latest-in-major") return { kind: "latest-in-major" };
  const t = text ?? minimum;
  return { kind: "version", version: parseOsVersion(t), text: t };
}

type Locate = (field: DataPath, part?: "key" | "value") => SourceRange;

/** The deadline as written, or a finding saying why it is not one (the schema has checked its shape). */
function deadlineOf(
  raw: string | { daysAfterRelease?: number; at: string },
  at: Locate,
  rule: string,
): Deadline | Finding {
  const where = ["enrolled", "deadline"];
  if (typeof raw === "string") {
    const local = normalizeLocalDateTime(raw);
    if (local !== null) return { kind: "local", localDateTime: local };
    return finding(at(where), "invalid-deadline", "error", `deadline ${raw} is not a real date and time`, rule);
  }
  const days = raw.daysAfterRelease;
  if (isTimeOfDay(raw.at)) {
    if (days !== undefined) return { kind: "after-release", daysAfterRelease: days, at: raw.at };
    return finding(
      at([...where, "at"], "key"),
      "invalid-deadline",
      "error",
      `deadline at ${raw.at} needs daysAfterRelease (days after Apple released the target), or write the date: deadline: 2026-12-15T${raw.at}:00`,
      rule,
    );
  }
  const local = normalizeLocalDateTime(raw.at);
  if (local === null)
    return finding(
      at([...where, "at"]),
      "invalid-deadline",
      "error",
      `deadline ${raw.at} is not a real date and time`,
      rule,
    );
  if (days === undefined) return { kind: "local", localDateTime: local };
  return finding(
    at(where),
    "deadline-both-ways",
    "error",
    `the deadline is given both ways, as the date ${raw.at} and as ${days} days after release; keep one: deadline: ${local}, or deadline: { daysAfterRelease: ${days}, at: "${raw.at.slice(11, 16)}" }`,
    rule,
  );
}

function enrolledOf(r: RawRule, target: TargetSpec, at: Locate): EnrolledPolicy | Finding | null {
  const e = r.enrolled;
  if (e === undefined) return null;
  const deadline = deadlineOf(e.deadline, at, r.id);
  if ("code" in deadline) return deadline;
  return {
    target: e.target === undefined ? target : targetSpec(e.target, r.minimum),
    targetBuild: e.targetBuild ?? null,
    deadline,
    detailsURL: e.detailsURL ?? null,
  };
}

/** Reads a rule file's rules, skipping those (by index) that failed structural validation. */
export function readRules(
  source: ParsedSource,
  skip: ReadonlySet<number> = new Set(),
): { drafts: RuleDraft[]; findings: Finding[] } {
  const raw = (source.value as { rules: RawRule[] }).rules;
  const drafts: RuleDraft[] = [];
  const findings: Finding[] = [];
  raw.forEach((r, i) => {
    if (skip.has(i)) return;
    const at = (field: DataPath, part?: "key" | "value") => source.locate(["rules", i, ...field], part);
    const date = (field: DataPath, text: string | undefined) => {
      if (text === undefined) return null;
      const d = parsePolicyDate(text);
      if (d === null)
        findings.push(finding(at(field), "invalid-date", "error", `${JSON.stringify(text)} is not a real date`, r.id));
      return d;
    };
    const activeFrom = date(["activeFrom"], r.activeFrom);
    const until = date(["exempt", "until"], r.exempt?.until);
    if ((r.activeFrom !== undefined && activeFrom === null) || (r.exempt?.until !== undefined && until === null))
      return;
    const target = targetSpec(r.target, r.minimum);
    const enrolled = enrolledOf(r, target, at);
    if (enrolled !== null && "code" in enrolled) {
      findings.push(enrolled);
      return;
    }
    const rule = new PolicyRule(
      {
        id: r.id,
        platform: r.platform,
        models: r.models ?? null,
        minimum: parseOsVersion(r.minimum),
        minimumText: r.minimum,
        minimumBuild: r.minimumBuild === undefined ? null : parseBuild(r.minimumBuild),
        minimumBuildText: r.minimumBuild ?? null,
        target,
        targetBuild: r.targetBuild ?? null,
        betaProgram: r.betaProgram ?? null,
        message: r.message ?? null,
        description: r.description ?? null,
        mode: r.mode ?? "enforce",
        activeFrom: activeFrom?.start ?? null,
        exempt:
          r.exempt === undefined
            ? null
            : { serials: new Set(r.exempt.serials), until: until?.end ?? null, untilText: r.exempt.until ?? null },
        whenUnavailable: r.whenUnavailable ?? "allow",
        adu:
          r.adu === undefined
            ? null
            : { provider: r.adu.provider, name: r.adu.name, manufacturer: r.adu.manufacturer ?? "Apple" },
        enrolled,
      },
      () => at(["id"]),
      source.file,
    );
    drafts.push({ rule, globs: r.models === undefined ? null : r.models.map(compileGlob), at });
  });
  return { drafts, findings };
}

export function readTests(source: ParsedSource): { cases: TestCase[]; findings: Finding[] } {
  const raw = (source.value as { cases: RawCase[] }).cases;
  const cases: TestCase[] = [];
  const findings: Finding[] = [];
  if (raw.length === 0) {
    findings.push(
      finding(
        source.locate(["cases"]),
        "test-no-cases",
        "error",
        "the test file has no cases; a test file without cases proves nothing",
      ),
    );
  }
  raw.forEach((c, i) => {
    let now: number | null = null;
    if (c.now !== undefined) {
      const d = parsePolicyDate(c.now);
      if (d === null) {
        findings.push(
          finding(
            source.locate(["cases", i, "now"]),
            "invalid-date",
            "error",
            `${JSON.stringify(c.now)} is not a real date`,
          ),
        );
        return;
      }
      now = d.start;
    }
    const facts = describedFacts(c.facts);
    // Where a case is written matters only when it fails: located on demand.
    const test = lazily({ name: c.name, now, facts, expect: c.expect }, "source", () =>
      source.locate(["cases", i, "name"]),
    );
    cases.push(
      lazily(test, "ruleSource", () =>
        c.expect.rule === undefined ? null : source.locate(["cases", i, "expect", "rule"]),
      ) as TestCase,
    );
  });
  return { cases, findings };
}

export function readSettings(source: ParsedSource | null): Settings {
  if (source === null) return DEFAULT_SETTINGS;
  const raw = (source.value ?? {}) as Partial<Settings>;
  return Object.freeze({ ...DEFAULT_SETTINGS, ...raw });
}
