// Device impact: every device of an inventory decided under the base set and
// the head set at one instant, and the devices whose outcome changes, grouped
// by platform, model and OS version. Pure: compiled sets, devices and the
// instant in; counts out.
//
// Inventories repeat themselves (thousands of devices share a model and a
// version), so each distinct set of facts is decided once. A serial is part
// of what is distinct only when a rule of either set exempts it: otherwise
// no decision depends on it, nor ever on a UDID.
import type { CompiledPolicySet } from "../policy/compile.js";
import { decide } from "../policy/decide.js";
import type { Decision, DeviceFacts, Reason } from "../policy/model.js";
import type { InventoryDevice } from "./inventory.js";

/** One side of a device's outcome: what the gate decides and, when it asks for an update, which. */
export interface Outcome {
  readonly decision: "allow" | "block";
  readonly reason: Reason;
  readonly rule: string | null;
  /** The version the 403 asks for (with its build, when the body names one); null without a body. */
  readonly target: string | null;
}

/** Devices alike in platform, model and OS version whose outcome changes the same way. */
export interface ImpactGroup {
  /** The platform PRODUCT names; null for a model enrollgate does not know. */
  readonly platform: string | null;
  /** PRODUCT, e.g. iPhone15,2. */
  readonly model: string;
  /** The OS version the devices run, with the supplemental extra: "18.5", "17.0 (a)". */
  readonly osVersion: string;
  readonly devices: number;
  readonly before: Outcome;
  readonly after: Outcome;
  /** allowed → blocked, blocked → allowed, or still blocked/allowed with another reason, rule or target. */
  readonly change: "newly-blocked" | "newly-allowed" | "changed";
}

/** Device impact: totals over the inventory, and the groups of devices whose outcome changes. */
export interface Impact {
  /** Devices decided, counts included. */
  readonly devices: number;
  readonly blockedBefore: number;
  readonly blockedAfter: number;
  readonly newlyBlocked: number;
  readonly newlyAllowed: number;
  /** Devices whose decision, reason, rule or target changes. */
  readonly changed: number;
  /** Distinct sets of facts decided (the rest came from the cache). */
  readonly distinct: number;
  /** Newly blocked first, then newly allowed, then other changes; within each the largest group first. */
  readonly groups: ReadonlyArray<ImpactGroup>;
}

/** A decision as a diff compares it: decision, reason, rule and the target the 403 names. */
export function outcomeOf(d: Decision): Outcome {
  const details = d.body?.details;
  const target =
    details === undefined
      ? null
      : details.BuildVersion !== undefined
        ? `${details.OSVersion} (${details.BuildVersion})`
        : details.OSVersion;
  return { decision: d.decision, reason: d.reason, rule: d.rule, target };
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.decision === b.decision && a.reason === b.reason && a.rule === b.rule && a.target === b.target;
}

function exemptSerials(sets: ReadonlyArray<CompiledPolicySet>): ReadonlySet<string> {
  const out = new Set<string>();
  for (const set of sets) for (const r of set.rules) for (const s of r.exempt?.serials ?? []) out.add(s);
  return out;
}

function factsKey(f: DeviceFacts, exempt: ReadonlySet<string>): string {
  return [
    f.product,
    f.osVersion ?? "",
    f.build ?? "",
    f.supplementalExtra ?? "",
    f.supplementalBuild ?? "",
    f.deviceId ?? "",
    f.canRequestUpdate ? "1" : "0",
    f.serial !== undefined && exempt.has(f.serial) ? f.serial : "",
  ].join("\u0000");
}

interface Decided {
  readonly before: Outcome;
  readonly after: Outcome;
  /** Null when nothing changes. */
  readonly groupKey: string | null;
  readonly platform: string | null;
}

const ORDER: Record<ImpactGroup["change"], number> = { "newly-blocked": 0, "newly-allowed": 1, changed: 2 };

/**
 * Decides every device under `base` and `head` at `now` and counts the
 * devices whose decision, reason, rule or target changes.
 *
 * @example
 * const impact = deviceImpact(baseSet, headSet, inventory.devices, Date.parse("2026-12-01"));
 * // impact.newlyBlocked: 42; impact.groups[0]: { model: "iPhone15,2", osVersion: "18.5", devices: 42,
 * //   before: { decision: "allow", ... }, after: { decision: "block", target: "18.7", ... } }
 */
export function deviceImpact(
  base: CompiledPolicySet,
  head: CompiledPolicySet,
  devices: ReadonlyArray<InventoryDevice>,
  now: number,
): Impact {
  const exempt = exemptSerials([base, head]);
  const cache = new Map<string, Decided>();
  const groups = new Map<string, { group: Omit<ImpactGroup, "devices">; devices: number }>();
  let total = 0;
  let blockedBefore = 0;
  let blockedAfter = 0;
  let newlyBlocked = 0;
  let newlyAllowed = 0;
  let changed = 0;
  for (const { facts, count } of devices) {
    const key = factsKey(facts, exempt);
    let decided = cache.get(key);
    if (decided === undefined) {
      const a = decide(base, facts, now);
      const b = decide(head, facts, now);
      const before = outcomeOf(a);
      const after = outcomeOf(b);
      const version = `${facts.osVersion ?? "(no version)"}${facts.supplementalExtra !== undefined ? ` ${facts.supplementalExtra}` : ""}`;
      decided = {
        before,
        after,
        platform: b.platform ?? a.platform,
        groupKey: sameOutcome(before, after)
          ? null
          : JSON.stringify([b.platform ?? a.platform, facts.product, version, before, after]),
      };
      cache.set(key, decided);
    }
    total += count;
    if (decided.before.decision === "block") blockedBefore += count;
    if (decided.after.decision === "block") blockedAfter += count;
    if (decided.groupKey === null) continue;
    changed += count;
    const change: ImpactGroup["change"] =
      decided.before.decision === "allow" && decided.after.decision === "block"
        ? "newly-blocked"
        : decided.before.decision === "block" && decided.after.decision === "allow"
          ? "newly-allowed"
          : "changed";
    if (change === "newly-blocked") newlyBlocked += count;
    if (change === "newly-allowed") newlyAllowed += count;
    const existing = groups.get(decided.groupKey);
    if (existing !== undefined) existing.devices += count;
    else {
      const [, model, osVersion] = JSON.parse(decided.groupKey) as [unknown, string, string];
      groups.set(decided.groupKey, {
        group: { platform: decided.platform, model, osVersion, before: decided.before, after: decided.after, change },
        devices: count,
      });
    }
  }
  const sorted = [...groups.values()]
    .map(({ group, devices: n }): ImpactGroup => ({ ...group, devices: n }))
    .filter((g) => g.devices > 0)
    .sort(
      (x, y) =>
        ORDER[x.change] - ORDER[y.change] ||
        y.devices - x.devices ||
        compareText(x.platform ?? "", y.platform ?? "") ||
        compareText(x.model, y.model) ||
        compareText(x.osVersion, y.osVersion) ||
        compareText(JSON.stringify([x.before, x.after]), JSON.stringify([y.before, y.after])),
    );
  return {
    devices: total,
    blockedBefore,
    blockedAfter,
    newlyBlocked,
    newlyAllowed,
    changed,
    distinct: cache.size,
    groups: sorted,
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
