// A policy change as a reviewer needs it: the rules and settings that change,
// what weakens protection, and (given an inventory) the devices whose
// outcome at the enrollment door changes. Pure: two compiled sets, devices
// and an instant in; plain data out, which the formatters print.
import type { CompiledPolicySet } from "../policy/compile.js";
import { describeWeakening, weakenings, type Weakening } from "../policy/weakening.js";
import { deviceImpact, type Impact } from "./impact.js";
import type { Inventory } from "./inventory.js";
import { ruleChanges, settingChanges, type RuleChange, type SettingChange } from "./rule-changes.js";

/** The version of diffJson()'s shape; it changes only when a field changes meaning or goes away. */
export const DIFF_JSON_VERSION = 1;

/** What diffPolicySets() found: plain data, printed by formatDiff(). */
export interface PolicyDiff {
  /** The base and head sets as the user named them (`origin/main:policies`, `policies`). */
  readonly base: string;
  readonly head: string;
  /** The instant every device was decided at, epoch ms. */
  readonly now: number;
  readonly rules: ReadonlyArray<RuleChange>;
  readonly settings: ReadonlyArray<SettingChange>;
  readonly weakenings: ReadonlyArray<Weakening & { readonly message: string }>;
  /** Null without an inventory. */
  readonly inventory: {
    readonly files: ReadonlyArray<string>;
    readonly folded: number;
    readonly withoutMachineInfo: number;
  } | null;
  readonly impact: Impact | null;
  /** --max-newly-blocked; null when not given. */
  readonly maxNewlyBlocked: number | null;
}

/** The names of the two sets, the instant, and optionally the devices and the limit on newly blocked ones. */
export interface DiffOptions {
  readonly base: string;
  readonly head: string;
  readonly now: number;
  readonly inventory?: { readonly files: ReadonlyArray<string>; readonly read: Inventory };
  readonly maxNewlyBlocked?: number;
}

/**
 * Compares two compiled policy sets: rule and settings changes, weakenings,
 * and with an inventory the device impact at `now`.
 *
 * @example
 * import { compile, diffPolicySets, formatDiff, loadPolicySet, readInventories } from "enrollgate";
 *
 * const base = compile(await loadPolicySet("old")).set, head = compile(await loadPolicySet("policies")).set;
 * const read = readInventories([{ name: "fleet.csv", text: "product,osVersion,count\niPhone15,2,18.5,42\n" }]);
 * const diff = diffPolicySets(base, head, { base: "old", head: "policies", now: Date.now(), inventory: { files:
 * ["fleet.csv"], read } });
 * process.stdout.write(formatDiff("markdown", diff));
 */
export function diffPolicySets(base: CompiledPolicySet, head: CompiledPolicySet, options: DiffOptions): PolicyDiff {
  const weakened = weakenings(
    { rules: base.rules, settings: base.settings },
    { rules: head.rules, settings: head.settings },
  ).map((w) => ({ ...w, message: describeWeakening(w) }));
  const inventory = options.inventory;
  return {
    base: options.base,
    head: options.head,
    now: options.now,
    rules: ruleChanges(base.rules, head.rules),
    settings: settingChanges(base.settings, head.settings),
    weakenings: weakened,
    inventory:
      inventory === undefined
        ? null
        : {
            files: inventory.files,
            folded: inventory.read.folded,
            withoutMachineInfo: inventory.read.withoutMachineInfo,
          },
    impact: inventory === undefined ? null : deviceImpact(base, head, inventory.read.devices, options.now),
    maxNewlyBlocked: options.maxNewlyBlocked ?? null,
  };
}

/** Whether the newly blocked devices exceed --max-newly-blocked. */
export function exceedsLimit(diff: PolicyDiff): boolean {
  return diff.maxNewlyBlocked !== null && diff.impact !== null && diff.impact.newlyBlocked > diff.maxNewlyBlocked;
}
