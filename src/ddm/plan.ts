// What the `enrolled` blocks of a compiled set mean for enrolled devices, at
// one instant: which rule governs which device, the steps each rule's devices
// take to its target (two for a supplemental target, one per version for
// `latest`), by when, and the predicate that gives each step to exactly the
// devices below it. Declarations (declarations.ts) and judgements (judge.ts)
// are both read from this plan, so what a device is sent and how it is
// judged cannot disagree.
import {
  declarationSupportedFrom,
  DECLARATION_TYPES,
  statusItemSupportedFrom,
  type DdmStatusItem,
} from "../apple/ddm.js";
import { parseBuild, type Build } from "../apple/build.js";
import { platformOfProduct } from "../apple/platform.js";
import {
  baseVersion,
  compareOsVersions,
  formatOsVersion,
  tryParseOsVersion,
  type OsVersion,
} from "../apple/version.js";
import type { CompiledPolicySet, CompiledRule } from "../policy/compile.js";
import { resolveDeadline } from "../policy/enrolled.js";
import type { Finding, FindingCode } from "../policy/findings.js";
import { globNames, specificity, type ModelGlob } from "../policy/glob.js";
import type { DeviceFacts, EnrolledPolicy, PolicyPlatform } from "../policy/model.js";
import { newestByModel } from "../policy/releases.js";
import { byStrictness } from "../policy/strictness.js";
import { all, any, evaluatePredicate, not, type Predicate, type StatusLookup } from "./predicate.js";

/** One configuration a rule's devices get: a version (and build) to install by a local date-time. */
export interface PlannedStep {
  /**
   * Appended to the rule's identifiers: "" for the target itself, ".base" for a supplemental's base, ".18-7-10"
   * for another `latest` version.
   */
  readonly suffix: string;
  readonly version: OsVersion;
  readonly build: Build | null;
  readonly buildText: string | null;
  /** yyyy-mm-ddThh:mm:ss on the device's clock. */
  readonly deadline: string;
  /** Which of the rule's devices take this step (below its version; for `latest`, of its models). */
  readonly condition: Predicate;
  /** For `latest`: the models (product types, or Macs' board ids) this step's version is the newest for. */
  readonly models: ReadonlyArray<string> | null;
}

/** A rule with an `enrolled` block, active at the plan's instant. */
export interface PlannedRule {
  readonly rule: CompiledRule;
  readonly enrolled: EnrolledPolicy;
  /** The devices the rule governs, before stricter rules take theirs. */
  readonly claim: Predicate;
  /** Stricter enforce rules that take devices first. */
  readonly before: ReadonlyArray<PlannedRule>;
  /** Empty when the rule's target or deadline cannot be resolved (problems say why). */
  readonly steps: ReadonlyArray<PlannedStep>;
  /** For `latest`: the newest version each model the rule matches is offered. */
  readonly latest: ReadonlyMap<string, OsVersion> | null;
}

export interface Plan {
  readonly now: number;
  /** Enforce rules first, each in the order it claims devices; then audit rules, which write nothing. */
  readonly rules: ReadonlyArray<PlannedRule>;
  /** Why a rule gets no declarations (a deadline or target that cannot be resolved). */
  readonly problems: ReadonlyArray<Finding>;
}

const FAMILY: Record<PolicyPlatform, string> = {
  iOS: "iOS",
  iPadOS: "iPadOS",
  macOS: "macOS",
  visionOS: "visionOS",
};

/** The `device.operating-system.family` a platform reports. */
export function familyOf(platform: PolicyPlatform): string {
  return FAMILY[platform];
}

function ruleSpecificity(r: CompiledRule): number {
  return r.globs === null ? 0 : Math.max(...r.globs.map(specificity));
}

/** The order rules claim devices in: DESIGN's strictness (highest minimum, build, most specific models, id). */
export function claimOrder(a: CompiledRule, b: CompiledRule): number {
  return byStrictness(a, ruleSpecificity(a), b, ruleSpecificity(b));
}

/** A rule's models as a predicate: products by model identifier, Mac board ids by softwareupdate.device-id. */
function modelsPredicate(globs: ReadonlyArray<ModelGlob>, platform: PolicyPlatform): Predicate {
  const exact = new Map<DdmStatusItem, string[]>();
  const parts: Predicate[] = [];
  for (const g of globs) {
    const names = globNames(g, platform);
    const items: DdmStatusItem[] = [
      ...(names.product ? (["device.model.identifier"] as const) : []),
      ...(names.boardId ? (["softwareupdate.device-id"] as const) : []),
    ];
    for (const item of items) {
      if (g.exact) exact.set(item, [...(exact.get(item) ?? []), g.pattern]);
      else parts.push({ op: "like", item, glob: g.pattern });
    }
  }
  for (const [item, values] of exact) parts.unshift({ op: "in", item, values });
  return parts.length === 1 ? (parts[0] as Predicate) : any(...parts);
}

function claimOf(rule: CompiledRule, now: number): Predicate {
  const parts: Predicate[] = [{ op: "is", item: "device.operating-system.family", value: familyOf(rule.platform) }];
  if (rule.globs !== null) parts.push(modelsPredicate(rule.globs, rule.platform));
  const exempt = rule.exempt;
  if (exempt !== null && exempt.serials.size > 0 && (exempt.until === null || now < exempt.until))
    parts.push(not({ op: "in", item: "device.identifier.serial-number", values: [...exempt.serials].sort() }));
  return all(...parts);
}

/** Whether two rules could match one device: same platform, and model globs whose literal prefixes agree. */
function mayOverlap(a: CompiledRule, b: CompiledRule): boolean {
  if (a.platform !== b.platform) return false;
  if (a.globs === null || b.globs === null) return true;
  return a.globs.some((x) => b.globs?.some((y) => x.prefix.startsWith(y.prefix) || y.prefix.startsWith(x.prefix)));
}

/** Devices below a version (and, at that version, below a build). */
function belowCondition(version: OsVersion, build: Build | null): Predicate {
  const below: Predicate = { op: "version-below", item: "device.operating-system.version", version };
  const extra = "device.operating-system.supplemental.extra-version" as const;
  if (version.extra === null) {
    if (build === null) return below;
    return any(
      below,
      all(
        { op: "version-is", item: "device.operating-system.version", version },
        not({ op: "extra-from", item: extra, letter: "a" }),
        { op: "build-below", item: "device.operating-system.build-version", build },
      ),
    );
  }
  // At the base version: no extra yet, an earlier one, or (with a build) this one at an earlier build.
  const atBase: Predicate[] = [not({ op: "extra-from", item: extra, letter: version.extra })];
  if (build !== null)
    atBase.push(
      all(
        { op: "extra-is", item: extra, letter: version.extra },
        { op: "build-below", item: "device.operating-system.supplemental.build-version", build },
      ),
    );
  return all({ op: "version-is", item: "device.operating-system.version", version }, any(...atBase));
}

function dashed(v: OsVersion): string {
  return formatOsVersion(v).replace(/\./g, "-");
}

function stepsOf(
  r: CompiledRule,
  e: EnrolledPolicy,
  set: CompiledPolicySet,
  now: number,
  problem: (code: FindingCode, message: string) => void,
): { steps: PlannedStep[]; latest: Map<string, OsVersion> | null } {
  const published = set.availability.published;
  const deadlineFor = (v: OsVersion): string | null => {
    const d = resolveDeadline(e.deadline, r.platform, v, published);
    if (d.ok) return d.localDateTime;
    problem(published === undefined ? "deadline-needs-feed" : "enrolled-target-not-in-feed", d.why);
    return null;
  };
  if (e.target.kind === "version") {
    const v = e.target.version;
    const deadline = deadlineFor(v);
    if (deadline === null) return { steps: [], latest: null };
    const build = e.targetBuild === null ? null : parseBuild(e.targetBuild);
    const target: PlannedStep = {
      suffix: "",
      version: v,
      build,
      buildText: e.targetBuild,
      deadline,
      condition: belowCondition(v, build),
      models: null,
    };
    if (v.extra === null) return { steps: [target], latest: null };
    // Apple installs a supplemental only on its base: the base first, by the same deadline.
    const base = baseVersion(v);
    const first: PlannedStep = {
      suffix: ".base",
      version: base,
      build: null,
      buildText: null,
      deadline,
      condition: belowCondition(base, null),
      models: null,
    };
    return { steps: [first, target], latest: null };
  }
  if (published === undefined) {
    problem("target-needs-feed", `target: ${e.target.kind} is resolved from Apple's GDMF feed, and none is configured`);
    return { steps: [], latest: null };
  }
  const major = e.target.kind === "latest-in-major" ? r.minimum.major : null;
  const newest = newestByModel(published, r.platform, now, major);
  const latest = new Map<string, OsVersion>();
  for (const [model, v] of newest) {
    const matches = r.globs === null || r.globs.some((g) => g.test(model));
    if (matches && compareOsVersions(v, r.minimum) >= 0) latest.set(model, v);
  }
  const groups = new Map<string, { version: OsVersion; models: string[] }>();
  for (const [model, v] of latest) {
    const key = formatOsVersion(v);
    const g = groups.get(key) ?? { version: v, models: [] };
    g.models.push(model);
    groups.set(key, g);
  }
  if (groups.size === 0)
    problem(
      "enrolled-target-not-in-feed",
      `Apple's feed offers none of this rule's ${r.platform} models a version at or above ${r.minimumText}`,
    );
  const item: DdmStatusItem = r.platform === "macOS" ? "softwareupdate.device-id" : "device.model.identifier";
  const sorted = [...groups.values()].sort((a, b) => compareOsVersions(b.version, a.version));
  const steps: PlannedStep[] = [];
  sorted.forEach((g, i) => {
    const deadline = deadlineFor(g.version);
    if (deadline === null) return;
    const models = g.models.sort();
    steps.push({
      suffix: i === 0 ? "" : `.${dashed(g.version)}`,
      version: g.version,
      build: null,
      buildText: null,
      deadline,
      condition: all({ op: "in", item, values: models }, belowCondition(g.version, null)),
      models,
    });
  });
  return { steps, latest };
}

/**
 * The plan for a set at an instant: the enforce rules with an `enrolled`
 * block that are active, each claiming the devices no stricter one claims,
 * with the steps to its target; then the audit ones, judged but never sent.
 */
export function planEnrolled(set: CompiledPolicySet, now: number): Plan {
  const problems: Finding[] = [];
  const active = set.rules.filter((r) => r.enrolled !== null && (r.activeFrom === null || r.activeFrom <= now));
  const ordered = [
    ...active.filter((r) => r.mode === "enforce").sort(claimOrder),
    ...active.filter((r) => r.mode === "audit").sort(claimOrder),
  ];
  const planned: PlannedRule[] = [];
  for (const r of ordered) {
    const e = r.enrolled as EnrolledPolicy;
    const problem = (code: FindingCode, message: string) =>
      problems.push({ ...r.source, severity: "error", code, message: `rule "${r.id}": ${message}`, rule: r.id });
    const { steps, latest } = stepsOf(r, e, set, now, problem);
    planned.push({
      rule: r,
      enrolled: e,
      claim: claimOf(r, now),
      before: r.mode === "enforce" ? planned.filter((p) => p.rule.mode === "enforce" && mayOverlap(p.rule, r)) : [],
      steps,
      latest,
    });
  }
  return { now, rules: planned, problems };
}

/** The enforcement a device's OS can apply: the first version of its platform with the configuration. */
export function enforcementFrom(platform: PolicyPlatform): OsVersion | null {
  return declarationSupportedFrom(DECLARATION_TYPES.enforcement, platform);
}

/** The predicate of a step's activation: the rule's devices, not a stricter rule's, able to apply it, below it. */
export function activationPredicate(p: PlannedRule, step: PlannedStep): Predicate {
  const parts: Predicate[] = [p.claim];
  for (const s of p.before) parts.push(not(s.claim));
  const from = enforcementFrom(p.rule.platform);
  if (from !== null && compareOsVersions(from, { major: 0, minor: 0, patch: 0, extra: null }) > 0)
    parts.push(not({ op: "version-below", item: "device.operating-system.version", version: from }));
  parts.push(step.condition);
  return all(...parts.flatMap((x) => (x.op === "all" ? x.of : [x])));
}

/** The rule that governs a device: the first (in claim order) whose claim it meets and no stricter one took. */
export function governingRule(plan: Plan, values: StatusLookup): PlannedRule | null {
  for (const p of plan.rules) {
    if (evaluatePredicate(p.claim, values)) return p;
  }
  return null;
}

/** A device described by its facts (check's flags, MachineInfo) as the status items it would report. */
export function statusOfFacts(facts: DeviceFacts): StatusLookup {
  const platform = platformOfProduct(facts.product);
  const version = tryParseOsVersion(facts.osVersion);
  // softwareupdate.device-id exists from macOS 15 and iOS 18 (never on visionOS): an older device has none to match on.
  const deviceIdFrom = platform === null ? null : statusItemSupportedFrom("softwareupdate.device-id", platform);
  const reportsDeviceId = version !== null && deviceIdFrom !== null && compareOsVersions(version, deviceIdFrom) >= 0;
  const values: Partial<Record<DdmStatusItem, string>> = {
    "device.model.identifier": facts.product,
    ...(platform !== null ? { "device.operating-system.family": platform } : {}),
    ...(facts.osVersion !== undefined ? { "device.operating-system.version": facts.osVersion } : {}),
    ...(facts.build !== undefined ? { "device.operating-system.build-version": facts.build } : {}),
    ...(facts.supplementalBuild !== undefined || facts.build !== undefined
      ? { "device.operating-system.supplemental.build-version": facts.supplementalBuild ?? facts.build }
      : {}),
    ...(facts.supplementalExtra !== undefined
      ? { "device.operating-system.supplemental.extra-version": facts.supplementalExtra }
      : {}),
    ...(facts.deviceId !== undefined && reportsDeviceId ? { "softwareupdate.device-id": facts.deviceId } : {}),
    ...(facts.serial !== undefined ? { "device.identifier.serial-number": facts.serial } : {}),
    ...(facts.udid !== undefined ? { "device.identifier.udid": facts.udid } : {}),
  };
  return (item) => values[item];
}
