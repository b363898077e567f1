// judgeStatus(): enrolled devices judged from their DDM status reports
// against the policy that governs them. A rule with an `enrolled` block
// governs the devices its declarations go to (plan.ts), against its enrolled
// target and deadline; a device no such rule governs is judged against the
// minimum of the rule that decides it at the enrollment door, as OSUpdateStatus
// responses are (no deadline, so never overdue).
import { compareBuilds, tryParseBuild, type Build } from "../apple/build.js";
import type { DdmStatusItem, StatusItemError } from "../apple/ddm.js";
import { platformOfProduct } from "../apple/platform.js";
import {
  baseVersion,
  compareOsVersions,
  formatOsVersion,
  tryParseOsVersion,
  type OsVersion,
} from "../apple/version.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import { instantIn, localInstants } from "../policy/deadline.js";
import { decide } from "../policy/decide.js";
import type { DeviceFacts } from "../policy/model.js";
import { enforcementFrom, governingRule, planEnrolled, type Plan, type PlannedRule } from "./plan.js";
import type { StatusLookup } from "./predicate.js";
import { mergeStatusReports, type DeviceStatus, type StatusProblem, type StatusReportInput } from "./status.js";

export const DDM_JUDGEMENTS = ["compliant", "updating", "failed", "behind", "overdue", "unknown"] as const;
/**
 * compliant, updating (a pending update reaches the target), failed, behind, overdue (behind or failed past the
 * deadline), unknown.
 */
export type DdmJudgement = (typeof DDM_JUDGEMENTS)[number];

/** softwareupdate.failure-reason, when the device reported failures. */
export interface UpdateFailure {
  readonly count: number;
  readonly reason: string | null;
  readonly timestamp: string | null;
}

/** One device, judged. */
export interface DeviceJudgement {
  readonly udid: string | null;
  readonly serial: string | null;
  readonly product: string | null;
  /** The OS version with its supplemental extra: "26.5 (a)". */
  readonly osVersion: string | null;
  readonly build: string | null;
  readonly judgement: DdmJudgement;
  /** The governing rule, or the rule whose minimum the device is judged against; null for none. */
  readonly rule: string | null;
  readonly summary: string;
  /** What the device must run ("26.6.1", "26.6.2 (25G83)"), or null when no rule sets one. */
  readonly target: string | null;
  /** By when, on the device's clock; null without a deadline. */
  readonly deadline: string | null;
  readonly installState: string | null;
  /** softwareupdate.pending-version: "26.6.1 (23G83)", or null when nothing is pending. */
  readonly pendingVersion: string | null;
  readonly failure: UpdateFailure | null;
  /** Status items the device said it could not return. */
  readonly statusErrors: ReadonlyArray<StatusItemError>;
  /** The reports merged for it, in order. */
  readonly sources: ReadonlyArray<string>;
}

/** What `judgeStatus` returns: each device judged, and the reports or items it could not use. */
export interface StatusJudgement {
  readonly devices: ReadonlyArray<DeviceJudgement>;
  /** Reports that could not be read (`unreadable`), and items Apple's schema refuses. */
  readonly problems: ReadonlyArray<StatusProblem>;
}

/** How `judgeStatus` reads deadlines. */
export interface JudgeStatusOptions {
  /**
   * The devices' IANA time zone (Europe/Berlin), for deadlines, which are
   * device-local. Without one, a device is overdue once the deadline has
   * passed everywhere (UTC−12).
   */
  readonly timeZone?: string;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function field(v: unknown, key: string): unknown {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.hasOwn(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined;
}

interface Reading {
  readonly product: string | null;
  readonly version: OsVersion | null;
  readonly build: Build | null;
  readonly buildText: string | null;
  readonly supplementalBuild: Build | null;
  readonly installState: string | null;
  readonly pending: { readonly version: OsVersion | null; readonly build: Build | null; readonly text: string } | null;
  readonly failure: UpdateFailure | null;
}

function read(values: StatusLookup): Reading {
  const versionText = str(values("device.operating-system.version"));
  const extra = str(values("device.operating-system.supplemental.extra-version"));
  const letter = extra === null ? null : (/^\(?([a-z])\)?$/.exec(extra)?.[1] ?? null);
  const base = tryParseOsVersion(versionText);
  const version = base === null ? null : { ...base, extra: letter ?? base.extra };
  const buildText = str(values("device.operating-system.build-version"));
  const pendingValue = values("softwareupdate.pending-version");
  const pendingVersion = str(field(pendingValue, "os-version"));
  const pendingBuild = str(field(pendingValue, "build-version"));
  const failureValue = values("softwareupdate.failure-reason");
  const count = field(failureValue, "count");
  return {
    product: str(values("device.model.identifier")),
    version,
    build: tryParseBuild(buildText),
    buildText,
    supplementalBuild: tryParseBuild(values("device.operating-system.supplemental.build-version")),
    installState: str(values("softwareupdate.install-state")),
    pending:
      pendingVersion === null && pendingBuild === null
        ? null
        : {
            version: tryParseOsVersion(pendingVersion),
            build: tryParseBuild(pendingBuild),
            text: `${pendingVersion ?? "?"}${pendingBuild !== null ? ` (${pendingBuild})` : ""}`,
          },
    failure:
      typeof count === "number" && count > 0
        ? { count, reason: str(field(failureValue, "reason")), timestamp: str(field(failureValue, "timestamp")) }
        : null,
  };
}

/** Whether a version (and, at equal version, a build) reaches a target. */
function reaches(
  version: OsVersion,
  build: Build | null,
  target: OsVersion,
  targetBuild: Build | null,
): boolean | null {
  const c = compareOsVersions(version, target);
  if (c !== 0) return c > 0;
  if (targetBuild === null) return true;
  return build === null ? null : compareBuilds(build, targetBuild) >= 0;
}

function deadlinePassed(deadline: string, now: number, timeZone: string | undefined): boolean {
  if (timeZone !== undefined) {
    const t = instantIn(deadline, timeZone);
    return t !== null && t <= now;
  }
  const i = localInstants(deadline);
  return i !== null && i.last <= now;
}

interface Target {
  readonly rule: string;
  readonly version: OsVersion;
  readonly build: Build | null;
  readonly label: string;
  /** The base a supplemental target is installed over, when the device is below it. */
  readonly base: OsVersion | null;
  readonly deadline: string | null;
  readonly enrolled: boolean;
  readonly platform: string;
  readonly beta: boolean;
}

type Verdict = Pick<DeviceJudgement, "judgement" | "rule" | "summary" | "target" | "deadline">;

function judgeAgainst(t: Target, r: Reading, values: StatusLookup, now: number, options: JudgeStatusOptions): Verdict {
  const whose = `${t.rule}'s ${t.enrolled ? "enrolled target" : "minimum"} ${t.label}`;
  const base = { rule: t.rule, target: t.label, deadline: t.deadline };
  if (r.version === null)
    return { ...base, judgement: "unknown", summary: `device.operating-system.version not reported; ${whose} applies` };
  const ownBuild = t.version.extra !== null ? (r.supplementalBuild ?? r.build) : r.build;
  const at = reaches(r.version, ownBuild, t.version, t.build);
  const runs = `${formatOsVersion(r.version)}${r.buildText !== null ? ` (${r.buildText})` : ""}`;
  if (at === null)
    return {
      ...base,
      judgement: "unknown",
      summary: `runs ${runs}; its build is not reported, so whether it meets ${whose} is unknown`,
    };
  if (at) return { ...base, judgement: "compliant", summary: `${runs} meets ${whose}` };

  const due = t.deadline === null ? "" : `, due by ${t.deadline}`;
  const passed = t.deadline !== null && deadlinePassed(t.deadline, now, options.timeZone);
  const head = `below ${whose}${due}${passed ? ", which has passed" : ""}`;
  const late = (judgement: "behind" | "failed"): DdmJudgement => (passed ? "overdue" : judgement);

  const from = enforcementFrom(t.platform as PlannedRule["rule"]["platform"]);
  if (t.enrolled && from !== null && compareOsVersions(baseVersion(r.version), from) < 0)
    return {
      ...base,
      judgement: late("behind"),
      summary: `${head}; ${t.platform} ${formatOsVersion(r.version)} cannot apply declarative software update enforcement (${t.platform} ${formatOsVersion(from)} and later): update it with MDM commands`,
    };
  if (r.installState === "failed" || r.failure !== null) {
    const f = r.failure;
    const what =
      f === null
        ? "the update failed"
        : `the update failed${f.count > 1 ? ` ${f.count} times` : ""}${f.reason !== null ? `: ${f.reason}` : ""}${f.timestamp !== null ? ` (last ${f.timestamp})` : ""}`;
    return { ...base, judgement: late("failed"), summary: `${head}; ${what}` };
  }
  const state = r.installState ?? "pending";
  if (r.pending !== null && r.pending.version !== null) {
    const toTarget = reaches(r.pending.version, r.pending.build, t.version, t.build) === true;
    const toBase =
      t.base !== null && compareOsVersions(r.version, t.base) < 0 && compareOsVersions(r.pending.version, t.base) >= 0;
    if (toTarget || toBase)
      return {
        ...base,
        judgement: "updating",
        summary: `${head}; updating to ${r.pending.text}${toTarget ? "" : `, the base of ${t.label} (step 1 of 2)`}: ${state}`,
      };
  }
  const pending =
    r.pending === null || r.pending.version === null
      ? values("softwareupdate.install-state") === undefined && t.platform === "visionOS"
        ? "visionOS reports no software update status"
        : "nothing pending reaches it"
      : `the pending ${r.pending.text} does not reach it`;
  const beta =
    t.beta && values("softwareupdate.beta-enrollment") === "" ? "; the device is not enrolled in a beta program" : "";
  return { ...base, judgement: late("behind"), summary: `${head}; ${pending}${beta}` };
}

function enrolledTarget(p: PlannedRule, r: Reading, values: StatusLookup): Target | string {
  const e = p.enrolled;
  const rule = p.rule;
  const common = { rule: rule.id, enrolled: true, platform: rule.platform, beta: rule.betaProgram !== null };
  if (e.target.kind === "version") {
    const build = e.targetBuild === null ? null : tryParseBuild(e.targetBuild);
    const last = p.steps[p.steps.length - 1];
    return {
      ...common,
      version: e.target.version,
      build,
      label: `${e.target.text}${e.targetBuild !== null ? ` (${e.targetBuild})` : ""}`,
      base: e.target.version.extra !== null ? baseVersion(e.target.version) : null,
      deadline: last?.deadline ?? null,
    };
  }
  const model = rule.platform === "macOS" ? str(values("softwareupdate.device-id")) : r.product;
  if (model === null)
    return `${rule.id}'s enrolled target ${e.target.kind} is per board id, and the Mac reports none (softwareupdate.device-id, macOS 15 and later)`;
  const v = p.latest?.get(model) ?? null;
  if (v === null)
    return `${rule.id}'s enrolled target ${e.target.kind}: Apple's feed offers ${model} no version at or above ${rule.minimumText}`;
  const step = p.steps.find((s) => s.models?.includes(model) === true);
  return {
    ...common,
    version: v,
    build: null,
    label: `${formatOsVersion(v)} (${e.target.kind})`,
    base: null,
    deadline: step?.deadline ?? null,
  };
}

function factsOf(values: StatusLookup, r: Reading): DeviceFacts | null {
  if (r.product === null) return null;
  const osVersion = str(values("device.operating-system.version"));
  const extra = str(values("device.operating-system.supplemental.extra-version"));
  const facts: { -readonly [K in keyof DeviceFacts]: DeviceFacts[K] } = { product: r.product, canRequestUpdate: true };
  if (osVersion !== null) facts.osVersion = osVersion;
  if (r.buildText !== null) facts.build = r.buildText;
  if (extra !== null) facts.supplementalExtra = extra.startsWith("(") ? extra : `(${extra})`;
  const supplementalBuild = str(values("device.operating-system.supplemental.build-version"));
  if (supplementalBuild !== null && supplementalBuild !== r.buildText) facts.supplementalBuild = supplementalBuild;
  const serial = str(values("device.identifier.serial-number"));
  if (serial !== null) facts.serial = serial;
  const deviceId = str(values("softwareupdate.device-id"));
  if (deviceId !== null) facts.deviceId = deviceId;
  return facts;
}

function judgeDevice(
  set: CompiledPolicySet,
  plan: Plan,
  d: DeviceStatus,
  now: number,
  options: JudgeStatusOptions,
): DeviceJudgement {
  const values: StatusLookup = (item: DdmStatusItem) => d.items.get(item);
  const r = read(values);
  const pendingVersion = r.pending?.text ?? null;
  const common = {
    udid: d.udid,
    serial: d.serial,
    product: r.product,
    osVersion: r.version === null ? null : formatOsVersion(r.version),
    build: r.buildText,
    installState: r.installState,
    pendingVersion,
    failure: r.failure,
    statusErrors: d.errors,
    sources: d.sources,
  };
  const none = { rule: null, target: null, deadline: null };
  if (r.product === null)
    return {
      ...common,
      ...none,
      judgement: "unknown",
      summary: "device.model.identifier not reported, so no rule can be matched",
    };
  if (platformOfProduct(r.product) === null)
    return { ...common, ...none, judgement: "unknown", summary: `${r.product} is not a known Apple platform` };
  const governing = governingRule(plan, values);
  if (governing !== null) {
    const t = enrolledTarget(governing, r, values);
    if (typeof t === "string")
      return { ...common, rule: governing.rule.id, target: null, deadline: null, judgement: "unknown", summary: t };
    const verdict = judgeAgainst(t, r, values, now, options);
    const audit = governing.rule.mode === "audit" ? " (audit: no declarations are sent)" : "";
    return { ...common, ...verdict, summary: `${verdict.summary}${audit}` };
  }
  // No enrolled block applies: the enrollment floor, as for OSUpdateStatus.
  const facts = factsOf(values, r);
  if (facts === null || facts.osVersion === undefined)
    return { ...common, ...none, judgement: "unknown", summary: "device.operating-system.version not reported" };
  const decision = decide(set, facts, now, { purpose: "compliance" });
  const below = decision.reason === "below-minimum" || decision.reason === "target-unavailable";
  const rule = below ? set.rules.find((x) => x.id === decision.rule) : undefined;
  if (decision.reason === "unsupported-os")
    return { ...common, ...none, judgement: "unknown", summary: decision.summary };
  if (rule === undefined)
    return {
      ...common,
      rule: decision.rule,
      target: null,
      deadline: null,
      judgement: "compliant",
      summary: decision.summary,
    };
  return {
    ...common,
    ...judgeAgainst(
      {
        rule: rule.id,
        version: rule.minimum,
        build: rule.minimumBuild,
        label: `${rule.minimumText}${rule.minimumBuildText !== null ? ` (${rule.minimumBuildText})` : ""}`,
        base: null,
        deadline: null,
        enrolled: false,
        platform: rule.platform,
        beta: false,
      },
      r,
      values,
      now,
      options,
    ),
  };
}

/**
 * Judges enrolled devices from their DDM status reports, merged per device in
 * the order given (reports are incremental), against the policy that
 * governs each: compliant, updating, failed, behind, overdue or unknown.
 * Pure: reports are the JSON objects devices send (or `{ report, source,
 * device }` when the caller knows which device sent one); a report that
 * cannot be read is named in `problems`, and the others are still judged.
 *
 * @example
 * import { judgeStatus } from "enrollgate";
 *
 * const { devices, problems } = judgeStatus(set, [
 *   { StatusItems: { device: { identifier: { udid: "0000-1" }, model: { identifier: "iPhone17,3" },
 *       "operating-system": { family: "iOS", version: "26.5" } },
 *     softwareupdate: { "install-state": "downloading",
 *       "pending-version": { "os-version": "26.6.1", "build-version": "23G83" } } },
 *     Errors: [] },
 * ], new Date());
 * // devices[0].judgement "updating", devices[0].rule "iphone-floor"
 */
export function judgeStatus(
  set: CompiledPolicySet,
  reports: ReadonlyArray<StatusReportInput | object>,
  now: number | Date,
  options: JudgeStatusOptions = {},
): StatusJudgement {
  const at = typeof now === "number" ? now : now.getTime();
  const merged = mergeStatusReports(reports);
  const plan = planEnrolled(set, at);
  return { devices: merged.devices.map((d) => judgeDevice(set, plan, d, at, options)), problems: merged.problems };
}
