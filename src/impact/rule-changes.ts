// What changed between two policy sets, rule by rule: rules added, removed,
// renamed, and changed field by field. Rules are matched by id. Pure.
import type { SourceRange } from "../policy/findings.js";
import type { Rule, Settings } from "../policy/model.js";

/** One compared field of a rule: how its value reads, as text (null: not set). */
export interface ComparedField {
  /** The key as written in a policy file (`exempt.serials` for a nested one). */
  readonly field: string;
  /** The value as text; null when the rule does not set it. */
  readonly show: (rule: Rule) => string | null;
  /** For list-valued fields: the items, so a change can say which were added and removed. */
  readonly items?: (rule: Rule) => ReadonlyArray<string> | null;
}

function day(epochMs: number | null): string | null {
  if (epochMs === null) return null;
  const iso = new Date(epochMs).toISOString();
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso.replace(".000Z", "Z");
}

function list(items: ReadonlyArray<string> | null): string | null {
  return items === null ? null : items.join(", ");
}

/**
 * Every rule field a diff compares, in the order changes are listed. A new
 * field in the rule model is one more line here (issue 13's `enrolled`:
 * `{ field: "enrolled", show: (r) => canonical(r.enrolled) }`).
 */
export const COMPARED_RULE_FIELDS: ReadonlyArray<ComparedField> = [
  { field: "platform", show: (r) => r.platform },
  { field: "models", show: (r) => list(r.models), items: (r) => r.models },
  { field: "minimum", show: (r) => r.minimumText },
  { field: "minimumBuild", show: (r) => r.minimumBuildText },
  // A target that follows the minimum (the default) is said by the minimum's change.
  {
    field: "target",
    show: (r) => (r.target.kind !== "version" ? r.target.kind : r.target.text === r.minimumText ? null : r.target.text),
  },
  { field: "targetBuild", show: (r) => r.targetBuild },
  { field: "mode", show: (r) => r.mode },
  { field: "activeFrom", show: (r) => day(r.activeFrom) },
  {
    field: "exempt.serials",
    show: (r) => list(r.exempt === null ? null : [...r.exempt.serials].sort()),
    items: (r) => (r.exempt === null ? null : [...r.exempt.serials].sort()),
  },
  { field: "exempt.until", show: (r) => r.exempt?.untilText ?? null },
  { field: "whenUnavailable", show: (r) => r.whenUnavailable },
  { field: "betaProgram", show: (r) => canonical(r.betaProgram) },
  { field: "message", show: (r) => r.message },
  { field: "description", show: (r) => r.description },
  { field: "adu", show: (r) => canonical(r.adu) },
  // After enrollment (DDM): what the device is made to install, and by when.
  { field: "enrolled", show: (r) => (r.enrolled === null ? null : "present") },
  {
    field: "enrolled.target",
    show: (r) =>
      r.enrolled === null
        ? null
        : r.enrolled.target.kind === "version"
          ? r.enrolled.target.text
          : r.enrolled.target.kind,
  },
  { field: "enrolled.targetBuild", show: (r) => r.enrolled?.targetBuild ?? null },
  {
    field: "enrolled.deadline",
    show: (r) => {
      const d = r.enrolled?.deadline;
      if (d === undefined) return null;
      return d.kind === "local" ? d.localDateTime : `${d.daysAfterRelease} days after release at ${d.at}`;
    },
  },
  { field: "enrolled.detailsURL", show: (r) => r.enrolled?.detailsURL ?? null },
];

/** Settings a diff compares (enrollgate.yaml). */
export const COMPARED_SETTINGS: ReadonlyArray<keyof Settings> = [
  "format",
  "verify",
  "trustAnchors",
  "bodyLimit",
  "bodyTimeout",
  "noMachineInfo",
  "trustProxy",
  "feeds",
];

/**
 * Any plain value as one line of stable text: objects with their keys sorted,
 * sets as sorted lists; null and undefined as null.
 */
export function canonical(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Set) return [...(v as Set<unknown>)].map(String).sort();
    if (typeof v === "object" && v !== null && !Array.isArray(v))
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    return v;
  });
}

/** One field of a rule that differs between the base and the head. */
export interface FieldChange {
  readonly field: string;
  readonly before: string | null;
  readonly after: string | null;
  /** For list fields: items only the head has, and items only the base had. */
  readonly added?: ReadonlyArray<string>;
  readonly removed?: ReadonlyArray<string>;
}

/** A rule's place: the file and line of its `id`. */
export type RuleLocation = Pick<SourceRange, "file" | "line" | "column">;

/** A rule added, removed, renamed (nothing else changed) or changed, with where it is in each set. */
export type RuleChange =
  | {
      readonly kind: "added";
      readonly id: string;
      readonly platform: string;
      readonly head: RuleLocation;
      readonly fields: ReadonlyArray<FieldChange>;
    }
  | { readonly kind: "removed"; readonly id: string; readonly platform: string; readonly base: RuleLocation }
  | {
      readonly kind: "changed";
      readonly id: string;
      readonly platform: string;
      readonly head: RuleLocation;
      readonly base: RuleLocation;
      readonly fields: ReadonlyArray<FieldChange>;
    }
  | {
      readonly kind: "renamed";
      readonly id: string;
      readonly from: string;
      readonly platform: string;
      readonly head: RuleLocation;
      readonly base: RuleLocation;
    };

/** A setting of enrollgate.yaml that differs (defaults filled in). */
export interface SettingChange {
  readonly setting: string;
  readonly before: string | null;
  readonly after: string | null;
}

function location(rule: Rule): RuleLocation {
  const s = rule.source;
  return { file: s.file, line: s.line, column: s.column };
}

function fieldChanges(a: Rule | null, b: Rule): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of COMPARED_RULE_FIELDS) {
    const before = a === null ? null : f.show(a);
    const after = f.show(b);
    if (before === after) continue;
    if (f.items !== undefined && a !== null) {
      const was = new Set(f.items(a) ?? []);
      const now = new Set(f.items(b) ?? []);
      out.push({
        field: f.field,
        before,
        after,
        added: [...now].filter((x) => !was.has(x)),
        removed: [...was].filter((x) => !now.has(x)),
      });
    } else out.push({ field: f.field, before, after });
  }
  return out;
}

/** The fields that make two rules the same rule under another id. */
function contentKey(rule: Rule): string {
  return JSON.stringify(COMPARED_RULE_FIELDS.map((f) => f.show(rule)));
}

/**
 * Rule changes from `base` to `head`, matched by id: changed and added rules in
 * the head's order, then removed ones in the base's. A rule removed and a rule
 * added that agree on every compared field is one rule renamed (each matched
 * once, in order).
 */
export function ruleChanges(base: ReadonlyArray<Rule>, head: ReadonlyArray<Rule>): RuleChange[] {
  const before = new Map(base.map((r) => [r.id, r]));
  const after = new Set(head.map((r) => r.id));
  const removed = base.filter((r) => !after.has(r.id));
  const renameFrom = new Map<string, Rule[]>();
  for (const r of removed) {
    const key = contentKey(r);
    renameFrom.set(key, [...(renameFrom.get(key) ?? []), r]);
  }
  const renamed = new Set<Rule>();
  const out: RuleChange[] = [];
  for (const b of head) {
    const a = before.get(b.id);
    if (a !== undefined) {
      const fields = fieldChanges(a, b);
      if (fields.length > 0)
        out.push({ kind: "changed", id: b.id, platform: b.platform, head: location(b), base: location(a), fields });
      continue;
    }
    const candidates = renameFrom.get(contentKey(b));
    const from = candidates?.shift();
    if (from !== undefined) {
      renamed.add(from);
      out.push({
        kind: "renamed",
        id: b.id,
        from: from.id,
        platform: b.platform,
        head: location(b),
        base: location(from),
      });
      continue;
    }
    out.push({ kind: "added", id: b.id, platform: b.platform, head: location(b), fields: fieldChanges(null, b) });
  }
  for (const a of removed) {
    if (!renamed.has(a)) out.push({ kind: "removed", id: a.id, platform: a.platform, base: location(a) });
  }
  return out;
}

/** Settings changes from `base` to `head` (defaults filled in on both sides). */
export function settingChanges(base: Settings, head: Settings): SettingChange[] {
  const out: SettingChange[] = [];
  for (const key of COMPARED_SETTINGS) {
    const before = canonical(base[key]);
    const after = canonical(head[key]);
    if (before !== after) out.push({ setting: key, before, after });
  }
  return out;
}
