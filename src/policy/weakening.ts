// What a new policy set gives up compared with the one it replaces. A reload
// that removes a rule, lowers a minimum or relaxes verification may be
// intended, but it must never be silent: the gate logs each change found here.
// Pure: two snapshots of plain data in, the list of weakenings out.
import { append } from "../append.js";
import { compareBuilds } from "../apple/build.js";
import { compareOsVersions } from "../apple/version.js";
import type { EnrolledPolicy, Rule, Settings } from "./model.js";

export type WeakeningKind =
  | "rule-removed"
  | "platform-changed"
  | "minimum-lowered"
  | "minimum-build-lowered"
  | "target-lowered"
  | "models-narrowed"
  | "mode-relaxed"
  | "activation-delayed"
  | "exemption-widened"
  | "when-unavailable-relaxed"
  | "verification-relaxed"
  | "missing-machine-info-allowed"
  | "trust-anchors-added"
  | "trusted-proxies-added"
  | "enrolled-removed"
  | "enrolled-target-lowered"
  | "enrolled-deadline-later";

export interface Weakening {
  readonly change: WeakeningKind;
  /** The rule concerned; null for a setting. */
  readonly rule: string | null;
  readonly from: string;
  readonly to: string;
}

export type RuleSnapshot = Pick<
  Rule,
  | "id"
  | "platform"
  | "models"
  | "minimum"
  | "minimumText"
  | "minimumBuild"
  | "minimumBuildText"
  | "target"
  | "mode"
  | "activeFrom"
  | "exempt"
  | "whenUnavailable"
> & { readonly enrolled?: Rule["enrolled"] };

export interface PolicySnapshot {
  readonly rules: ReadonlyArray<RuleSnapshot>;
  readonly settings: Pick<Settings, "verify" | "noMachineInfo"> & { readonly trustProxy?: ReadonlyArray<string> };
  /** Fingerprints of the trust anchors in effect. */
  readonly trustAnchors?: ReadonlyArray<string>;
}

const VERIFY_STRENGTH: Record<Settings["verify"], number> = { enforce: 2, audit: 1, off: 0 };

function day(epochMs: number | null): string {
  return epochMs === null ? "always" : new Date(epochMs).toISOString().slice(0, 10);
}

function models(list: ReadonlyArray<string> | null): string {
  return list === null ? "every model" : list.join(", ");
}

function exemption(e: RuleSnapshot["exempt"]): string {
  if (e === null) return "none";
  return `${[...e.serials].join(", ")}${e.untilText !== null ? ` until ${e.untilText}` : ""}`;
}

/**
 * Whether glob `q` matches every model glob `p` matches: the same pattern, `*`,
 * or a prefix glob (`iPhone*`) that `p`'s literal beginning starts with. Any
 * other pair counts as not covered, so a narrowing is never missed.
 */
function covers(q: string, p: string): boolean {
  if (q === p || q === "*") return true;
  const star = q.indexOf("*");
  if (star !== q.length - 1 || q.includes("?")) return false;
  const literal = p.slice(0, p.search(/[*?]|$/));
  return literal.startsWith(q.slice(0, -1));
}

function ruleWeakenings(a: RuleSnapshot, b: RuleSnapshot): Weakening[] {
  const out: Weakening[] = [];
  const add = (change: WeakeningKind, from: string, to: string) => out.push({ change, rule: a.id, from, to });
  if (a.platform !== b.platform) {
    // Its old platform's devices are no longer held by it: compare nothing else.
    add("platform-changed", a.platform, b.platform);
    return out;
  }
  const minimum = compareOsVersions(b.minimum, a.minimum);
  if (minimum < 0) add("minimum-lowered", a.minimumText, b.minimumText);
  else if (
    minimum === 0 &&
    a.minimumBuild !== null &&
    (b.minimumBuild === null || compareBuilds(b.minimumBuild, a.minimumBuild) < 0)
  ) {
    add("minimum-build-lowered", a.minimumBuildText ?? "", b.minimumBuildText ?? "none");
  }
  // A target that follows the minimum (the default) moved with it: said above.
  const followsMinimum =
    a.target.kind === "version" &&
    a.target.text === a.minimumText &&
    b.target.kind === "version" &&
    b.target.text === b.minimumText;
  if (
    a.target.kind === "version" &&
    b.target.kind === "version" &&
    !followsMinimum &&
    compareOsVersions(b.target.version, a.target.version) < 0
  ) {
    add("target-lowered", a.target.text, b.target.text);
  }
  if (b.models !== null && (a.models === null || a.models.some((m) => !b.models?.some((n) => covers(n, m)))))
    add("models-narrowed", models(a.models), models(b.models));
  if (a.mode === "enforce" && b.mode === "audit") add("mode-relaxed", a.mode, b.mode);
  if (b.activeFrom !== null && (a.activeFrom === null || b.activeFrom > a.activeFrom))
    add("activation-delayed", day(a.activeFrom), day(b.activeFrom));
  if (b.exempt !== null) {
    const added = [...b.exempt.serials].some((s) => a.exempt === null || !a.exempt.serials.has(s));
    const longer =
      a.exempt !== null && a.exempt.until !== null && (b.exempt.until === null || b.exempt.until > a.exempt.until);
    if (added || longer) add("exemption-widened", exemption(a.exempt), exemption(b.exempt));
  }
  if (a.whenUnavailable === "block" && b.whenUnavailable === "allow")
    add("when-unavailable-relaxed", a.whenUnavailable, b.whenUnavailable);
  out.push(...enrolledWeakenings(a, b));
  return out;
}

function deadlineText(d: EnrolledPolicy["deadline"]): string {
  return d.kind === "local" ? d.localDateTime : `${d.daysAfterRelease} days after release at ${d.at}`;
}

/** After enrollment (DDM): enforcement dropped, a lower enforced version, or more time to install it. */
function enrolledWeakenings(a: RuleSnapshot, b: RuleSnapshot): Weakening[] {
  const was = a.enrolled ?? null;
  const now = b.enrolled ?? null;
  if (was === null) return [];
  const add = (change: WeakeningKind, from: string, to: string): Weakening => ({ change, rule: a.id, from, to });
  const targetText = (e: EnrolledPolicy) => (e.target.kind === "version" ? e.target.text : e.target.kind);
  if (now === null)
    return [add("enrolled-removed", `target ${targetText(was)} by ${deadlineText(was.deadline)}`, "none")];
  const out: Weakening[] = [];
  if (
    was.target.kind === "version" &&
    now.target.kind === "version" &&
    compareOsVersions(now.target.version, was.target.version) < 0
  )
    out.push(add("enrolled-target-lowered", was.target.text, now.target.text));
  const later =
    was.deadline.kind === "local" && now.deadline.kind === "local"
      ? now.deadline.localDateTime > was.deadline.localDateTime
      : was.deadline.kind === "after-release" && now.deadline.kind === "after-release"
        ? now.deadline.daysAfterRelease * 1440 + minutes(now.deadline.at) >
          was.deadline.daysAfterRelease * 1440 + minutes(was.deadline.at)
        : false;
  if (later) out.push(add("enrolled-deadline-later", deadlineText(was.deadline), deadlineText(now.deadline)));
  return out;
}

function minutes(hhmm: string): number {
  const [h = "0", m = "0"] = hhmm.split(":");
  return Number(h) * 60 + Number(m);
}

/** Every way `after` protects less than `before`, rule by rule (in `before`'s order), then settings. */
export function weakenings(before: PolicySnapshot, after: PolicySnapshot): Weakening[] {
  const out: Weakening[] = [];
  const next = new Map(after.rules.map((r) => [r.id, r]));
  for (const a of before.rules) {
    const b = next.get(a.id);
    if (b === undefined)
      out.push({
        change: "rule-removed",
        rule: a.id,
        from: `${a.platform} ${models(a.models)}, minimum ${a.minimumText}${a.mode === "audit" ? " (audit)" : ""}`,
        to: "removed",
      });
    else append(out, ruleWeakenings(a, b));
  }
  if (VERIFY_STRENGTH[after.settings.verify] < VERIFY_STRENGTH[before.settings.verify]) {
    out.push({ change: "verification-relaxed", rule: null, from: before.settings.verify, to: after.settings.verify });
  }
  if (before.settings.noMachineInfo === "reject" && after.settings.noMachineInfo === "allow") {
    out.push({ change: "missing-machine-info-allowed", rule: null, from: "reject", to: "allow" });
  }
  // A peer newly trusted as a proxy may write the client address the log and the MDM server believe.
  const proxies = (list: ReadonlyArray<string> | undefined) =>
    (list ?? [])
      .flatMap((e) => e.split(","))
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e !== "");
  const proxiesBefore = new Set(proxies(before.settings.trustProxy));
  const addedProxies = proxies(after.settings.trustProxy).filter((p) => !proxiesBefore.has(p));
  if (addedProxies.length > 0) {
    out.push({
      change: "trusted-proxies-added",
      rule: null,
      from: proxiesBefore.size === 0 ? "none" : [...proxiesBefore].join(", "),
      to: proxies(after.settings.trustProxy).join(", "),
    });
  }
  const anchorsBefore = new Set(before.trustAnchors ?? []);
  const added = (after.trustAnchors ?? []).filter((f) => !anchorsBefore.has(f));
  if (before.trustAnchors !== undefined && added.length > 0) {
    out.push({
      change: "trust-anchors-added",
      rule: null,
      from: `${anchorsBefore.size} anchors`,
      to: `${added.length} more: ${added.join(", ")}`,
    });
  }
  return out;
}

const WHAT: Record<WeakeningKind, string> = {
  "rule-removed": "removed",
  "platform-changed": "platform changed",
  "minimum-lowered": "minimum lowered",
  "minimum-build-lowered": "minimumBuild lowered",
  "target-lowered": "target lowered",
  "models-narrowed": "models narrowed",
  "mode-relaxed": "mode relaxed",
  "activation-delayed": "activeFrom moved later",
  "exemption-widened": "exemption widened",
  "when-unavailable-relaxed": "whenUnavailable relaxed",
  "verification-relaxed": "verify relaxed",
  "missing-machine-info-allowed": "noMachineInfo relaxed",
  "trust-anchors-added": "trust anchors added",
  "trusted-proxies-added": "trusted proxies added",
  "enrolled-removed": "enrolled enforcement removed",
  "enrolled-target-lowered": "enrolled target lowered",
  "enrolled-deadline-later": "enrolled deadline moved later",
};

/** One line for people: `rule iphone-floor: minimum lowered from 26.6.1 to 26.5`. */
export function describeWeakening(w: Weakening): string {
  const subject = w.rule !== null ? `rule ${w.rule}: ` : "";
  if (w.change === "rule-removed") return `rule ${w.rule ?? "?"} removed (was ${w.from})`;
  return `${subject}${WHAT[w.change]} from ${w.from} to ${w.to}`;
}
