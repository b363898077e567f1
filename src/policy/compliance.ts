// Enrolled devices judged against the same policies, from their facts and
// their OSUpdateStatus response: compliant, updating (an update in progress
// that reaches the minimum), behind (below the minimum, nothing in progress
// that reaches it), or unknown (the response or the update cannot tell).
import { compareBuilds, tryParseBuild } from "../apple/build.js";
import {
  parseProductKey,
  type ErrorChainEntry,
  type OsUpdateStatusItem,
  type OsUpdateStatusResponse,
} from "../apple/os-update-status.js";
import { baseVersion, compareOsVersions, formatOsVersion, type OsVersion } from "../apple/version.js";
import type { CompiledPolicySet, CompiledRule } from "./compile.js";
import { decide } from "./decide.js";
import type { Decision, DeviceFacts } from "./model.js";

export type Judgement = "compliant" | "updating" | "behind" | "unknown";

export interface UpdateProgress {
  readonly productKey: string;
  readonly status: string;
  /** DownloadPercentComplete as a percentage, one decimal. */
  readonly percent: number;
  readonly downloaded: boolean;
  readonly inProgress: boolean;
  readonly nextScheduledInstall: Date | null;
  readonly deferralsRemaining: number | null;
  /** Whether installing it reaches the rule's minimum; null when the key cannot say. */
  readonly reaches: boolean | null;
  readonly why: string;
}

export interface ComplianceReport {
  readonly judgement: Judgement;
  readonly rule: string | null;
  readonly summary: string;
  readonly decision: Decision | null;
  readonly commandStatus: string;
  readonly errorChain: ReadonlyArray<ErrorChainEntry>;
  readonly updates: ReadonlyArray<UpdateProgress>;
}

/** Maps a build to the OS version it is (from Apple's feed); null when unknown. */
export type BuildVersions = (build: string) => OsVersion | null;

function describeMinimum(rule: CompiledRule): string {
  return `${rule.minimumText}${rule.minimumBuildText !== null ? ` (${rule.minimumBuildText})` : ""}`;
}

/** Whether an update named by its ProductKey reaches a rule's minimum, or why it cannot be told. */
export function reachesMinimum(
  productKey: string,
  rule: CompiledRule,
  buildVersions: BuildVersions | null,
): { reaches: boolean | null; why: string } {
  const info = parseProductKey(productKey);
  const fromFeed = info.version === null && info.build !== null ? (buildVersions?.(info.build) ?? null) : null;
  const version = info.version ?? fromFeed;
  const minimum = describeMinimum(rule);
  if (version === null) {
    return {
      reaches: null,
      why:
        info.build !== null
          ? `${productKey} names build ${info.build}, which cannot be placed against ${minimum} without Apple's feed (--gdmf)`
          : `${productKey} names neither a build nor a version`,
    };
  }
  const label = `${info.build !== null ? `${formatOsVersion(version)} (${info.build})` : formatOsVersion(version)}${info.securityResponse ? " with a security response" : ""}`;
  const verdict = (reaches: boolean | null, how: string) => ({
    reaches,
    why: `${productKey} installs ${label}${fromFeed !== null ? " per Apple's feed" : ""}; ${how}`,
  });
  if (info.securityResponse) {
    // The key does not carry the response's extra letter: only the base version is known.
    const c = compareOsVersions(baseVersion(version), baseVersion(rule.minimum));
    if (c !== 0) return verdict(c > 0, c > 0 ? `reaches ${minimum}` : `stays below ${minimum}`);
    if (rule.minimum.extra === null && rule.minimumBuild === null) return verdict(true, `reaches ${minimum}`);
    return verdict(null, `cannot tell whether its security response reaches ${minimum}`);
  }
  const c = compareOsVersions(version, rule.minimum);
  if (c !== 0) return verdict(c > 0, c > 0 ? `reaches ${minimum}` : `stays below ${minimum}`);
  if (rule.minimumBuild === null) return verdict(true, `reaches ${minimum}`);
  const build = tryParseBuild(info.build);
  if (build === null) return verdict(null, `cannot tell whether its build reaches ${minimum}`);
  const ok = compareBuilds(build, rule.minimumBuild) >= 0;
  return verdict(ok, ok ? `reaches ${minimum}` : `stays below ${minimum}`);
}

function progressOf(
  item: OsUpdateStatusItem,
  rule: CompiledRule | null,
  buildVersions: BuildVersions | null,
): UpdateProgress {
  const known = item.status === "Downloading" || item.status === "Installing";
  const inProgress = known || item.isDownloaded || item.downloadPercentComplete > 0;
  const r = rule === null ? { reaches: null, why: "" } : reachesMinimum(item.productKey, rule, buildVersions);
  return {
    productKey: item.productKey,
    status: item.status,
    percent: Math.round(item.downloadPercentComplete * 1000) / 10,
    downloaded: item.isDownloaded,
    inProgress,
    nextScheduledInstall: item.nextScheduledInstall ?? null,
    deferralsRemaining: item.deferralsRemaining ?? null,
    reaches: r.reaches,
    why: r.why,
  };
}

function describeProgress(u: UpdateProgress): string {
  const state =
    u.status === "Installing" ? "installing" : u.downloaded ? "downloaded" : `${u.status.toLowerCase()} ${u.percent}%`;
  const when = u.nextScheduledInstall !== null ? `, install scheduled ${u.nextScheduledInstall.toISOString()}` : "";
  const deferrals =
    u.deferralsRemaining !== null
      ? `, ${u.deferralsRemaining} deferral${u.deferralsRemaining === 1 ? "" : "s"} left`
      : "";
  return `${u.productKey} ${state}${when}${deferrals}`;
}

export function judgeCompliance(
  set: CompiledPolicySet,
  facts: DeviceFacts | null,
  response: OsUpdateStatusResponse,
  now: number,
  buildVersions: BuildVersions | null = null,
): ComplianceReport {
  const base = { commandStatus: response.status, errorChain: response.errorChain };
  if (facts === null) {
    return {
      ...base,
      judgement: "unknown",
      rule: null,
      summary: `no device facts for ${response.udid ?? "this response"}`,
      decision: null,
      updates: response.items.map((i) => progressOf(i, null, buildVersions)),
    };
  }
  const decision = decide(set, facts, now, { purpose: "compliance" });
  const below = decision.reason === "below-minimum" || decision.reason === "target-unavailable";
  const rule = below ? (set.rules.find((r) => r.id === decision.rule) ?? null) : null;
  const updates = response.items.map((i) => progressOf(i, rule, buildVersions));
  if (decision.reason === "unsupported-os")
    return { ...base, judgement: "unknown", rule: null, summary: decision.summary, decision, updates };
  if (!below || rule === null) {
    return { ...base, judgement: "compliant", rule: decision.rule, summary: decision.summary, decision, updates };
  }
  const minimum = describeMinimum(rule);
  if (response.status !== "Acknowledged") {
    const chain = response.errorChain
      .map((e) => `${e.domain} ${e.code}: ${e.usEnglishDescription ?? e.description}`)
      .join("; ");
    return {
      ...base,
      judgement: "unknown",
      rule: rule.id,
      summary: `below ${rule.id}'s minimum ${minimum}; the device answered ${response.status}${chain !== "" ? ` (${chain})` : ""}, so its updates are unknown`,
      decision,
      updates,
    };
  }
  const moving = updates.filter((u) => u.inProgress);
  const good = moving.find((u) => u.reaches === true);
  if (good !== undefined) {
    return {
      ...base,
      judgement: "updating",
      rule: rule.id,
      summary: `below ${rule.id}'s minimum ${minimum}; updating: ${describeProgress(good)} (${good.why})`,
      decision,
      updates,
    };
  }
  const unsure = moving.find((u) => u.reaches === null);
  if (unsure !== undefined) {
    return {
      ...base,
      judgement: "unknown",
      rule: rule.id,
      summary: `below ${rule.id}'s minimum ${minimum}; ${describeProgress(unsure)}, but ${unsure.why}`,
      decision,
      updates,
    };
  }
  const idle = updates.find((u) => !u.inProgress && u.reaches === true);
  const tail =
    moving.length > 0
      ? `the update in progress does not reach it (${moving.map((u) => u.why).join("; ")})`
      : idle !== undefined
        ? `${idle.productKey} would reach it but is idle`
        : response.items.length === 0
          ? "no update in progress"
          : "no update in progress reaches it";
  const unavailable = decision.reason === "target-unavailable" ? "; its target is not available to it" : "";
  return {
    ...base,
    judgement: "behind",
    rule: rule.id,
    summary: `below ${rule.id}'s minimum ${minimum}${unavailable}; ${tail}`,
    decision,
    updates,
  };
}
