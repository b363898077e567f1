// A policy diff printed: text for a terminal, markdown for a pull-request
// comment, json for tools, github for workflow annotations on the changed
// rules. Every value from a policy or an inventory is escaped for where it
// lands: control characters never reach a terminal or a log, and nothing in
// a comment can open markup, break a table, or mention a user.
import { printable } from "../printable.js";
import { escapeData, escapeProperty } from "../report/github.js";
import { DIFF_JSON_VERSION, exceedsLimit, type PolicyDiff } from "./diff.js";
import type { ImpactGroup, Outcome } from "./impact.js";
import type { FieldChange, RuleChange } from "./rule-changes.js";

/** The formats `enrollgate diff --format` prints: text, markdown (a pull-request comment), json, github. */
export const DIFF_FORMATS = ["text", "markdown", "json", "github"] as const;
/** One of DIFF_FORMATS. */
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** Marks enrollgate's pull-request comment, so a workflow can find and update it. */
export const COMMENT_MARKER = "<!-- enrollgate-diff -->";

/** Groups shown in a markdown comment before the rest fold away. */
const MARKDOWN_GROUPS = 20;

/** Control and format characters (escape sequences, bidirectional overrides) as visible escapes. */
export const plain = printable;

/**
 * Text safe anywhere in GitHub markdown: every character but letters, digits,
 * spaces and marks that open nothing mid-line (`,.()/+='-`) as a character reference, so nothing opens
 * markup, links, HTML or a table cell; `@` and `#` followed by a zero-width
 * space, so no user is mentioned and no issue linked.
 */
export function escapeMarkdown(s: string): string {
  return plain(s).replace(/[^A-Za-z0-9 ,.()/+='-]/gu, (c) => {
    const ref = `&#${c.codePointAt(0) ?? 0};`;
    return c === "@" || c === "#" ? `${ref}&#8203;` : ref;
  });
}

/** A whole number with thousands separators, the same everywhere (no locale). */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}

function side(o: Outcome): string {
  if (o.decision === "block")
    return `blocked${o.rule !== null ? ` by ${o.rule}` : ""}${o.target !== null ? `, asked for ${o.target}` : ""}`;
  return `allowed (${o.reason}${o.rule !== null ? `, ${o.rule}` : ""}${o.reason === "audit-only" && o.target !== null ? `, would ask for ${o.target}` : ""})`;
}

/** "42 iPhone15,2 on iOS 18.5: allowed (compliant) → blocked by iphone-floor, asked for 18.7" */
function groupLine(g: ImpactGroup): string {
  const on = g.platform !== null ? `${g.platform} ${g.osVersion}` : g.osVersion;
  return `${count(g.devices)} ${g.model} on ${on}: ${side(g.before)} → ${side(g.after)}`;
}

function fieldLine(f: FieldChange): string {
  const v = (x: string | null) => (x === null ? "(not set)" : x);
  if (f.added !== undefined && f.removed !== undefined && (f.added.length > 0 || f.removed.length > 0)) {
    const parts = [...f.added.map((x) => `+${x}`), ...f.removed.map((x) => `-${x}`)];
    return `${f.field}: ${parts.join(" ")}`;
  }
  return `${f.field}: ${v(f.before)} → ${v(f.after)}`;
}

function where(l: { file: string; line: number }): string {
  return `${l.file}:${l.line}`;
}

function ruleHeadline(c: RuleChange): string {
  switch (c.kind) {
    case "added":
      return `added    ${c.id} (${c.platform})  ${where(c.head)}`;
    case "removed":
      return `removed  ${c.id} (${c.platform})  was at ${where(c.base)}`;
    case "changed":
      return `changed  ${c.id} (${c.platform})  ${where(c.head)}`;
    case "renamed":
      return `renamed  ${c.from} → ${c.id} (${c.platform}), nothing else changed  ${where(c.head)}`;
  }
}

function ruleCounts(diff: PolicyDiff): string {
  const by = (k: RuleChange["kind"]) => diff.rules.filter((c) => c.kind === k).length;
  const parts = [`${by("changed")} changed`, `${by("added")} added`, `${by("removed")} removed`];
  if (by("renamed") > 0) parts.push(`${by("renamed")} renamed`);
  return parts.join(", ");
}

function devicesSummary(diff: PolicyDiff): string | null {
  const i = diff.impact;
  if (i === null) return null;
  const other = i.changed - i.newlyBlocked - i.newlyAllowed;
  return `${plural(i.newlyBlocked, "device")} newly blocked, ${count(i.newlyAllowed)} newly allowed, ${count(other)} otherwise changed, of ${plural(i.devices, "device")} (blocked: ${count(i.blockedBefore)} → ${count(i.blockedAfter)})`;
}

function limitLine(diff: PolicyDiff): string | null {
  if (diff.maxNewlyBlocked === null || diff.impact === null) return null;
  return exceedsLimit(diff)
    ? `${plural(diff.impact.newlyBlocked, "device")} newly blocked: more than --max-newly-blocked ${count(diff.maxNewlyBlocked)}`
    : `${plural(diff.impact.newlyBlocked, "device")} newly blocked: within --max-newly-blocked ${count(diff.maxNewlyBlocked)}`;
}

function inventoryNotes(diff: PolicyDiff): string[] {
  const inv = diff.inventory;
  if (inv === null) return [];
  const out: string[] = [];
  if (inv.folded > 0)
    out.push(`${plural(inv.folded, "decision log line")} of devices seen again later (counted once, as last seen)`);
  if (inv.withoutMachineInfo > 0)
    out.push(`${plural(inv.withoutMachineInfo, "decision log line")} without MachineInfo (nothing to replay)`);
  return out;
}

export function formatDiffText(diff: PolicyDiff): string {
  const lines = [
    `enrollgate diff: ${plain(diff.base)} → ${plain(diff.head)}, decided at ${new Date(diff.now).toISOString()}`,
    "",
  ];
  lines.push(diff.rules.length === 0 ? "Rules: no changes" : `Rules: ${ruleCounts(diff)}`);
  for (const c of diff.rules) {
    lines.push(`  ${plain(ruleHeadline(c))}`);
    if (c.kind === "changed") for (const f of c.fields) lines.push(`      ${plain(fieldLine(f))}`);
  }
  if (diff.settings.length > 0) {
    lines.push("", "Settings:");
    for (const s of diff.settings)
      lines.push(`  ${plain(`${s.setting}: ${s.before ?? "(not set)"} → ${s.after ?? "(not set)"}`)}`);
  }
  if (diff.weakenings.length > 0) {
    lines.push("", "Weakens protection:");
    for (const w of diff.weakenings) lines.push(`  ${plain(w.message)}`);
  }
  const summary = devicesSummary(diff);
  if (summary !== null && diff.impact !== null && diff.inventory !== null) {
    lines.push("", `Devices (${plain(diff.inventory.files.join(", "))}): ${summary}`);
    for (const g of diff.impact.groups) lines.push(`  ${plain(groupLine(g))}`);
    for (const note of inventoryNotes(diff)) lines.push(`  (${note})`);
  } else {
    lines.push("", "Devices: no inventory given (--inventory FILE): rule changes only");
  }
  const limit = limitLine(diff);
  if (limit !== null) lines.push("", limit);
  return `${lines.join("\n")}\n`;
}

function markdownRuleChange(c: RuleChange): { rule: string; change: string; at: string } {
  const id = `<code>${escapeMarkdown(c.id)}</code>`;
  switch (c.kind) {
    case "added":
      return { rule: id, change: `added (${escapeMarkdown(c.platform)})`, at: escapeMarkdown(where(c.head)) };
    case "removed":
      return { rule: id, change: "**removed**", at: `was at ${escapeMarkdown(where(c.base))}` };
    case "renamed":
      return {
        rule: id,
        change: `renamed from <code>${escapeMarkdown(c.from)}</code>, nothing else changed`,
        at: escapeMarkdown(where(c.head)),
      };
    case "changed":
      return {
        rule: id,
        change: c.fields.map((f) => escapeMarkdown(fieldLine(f))).join("<br>"),
        at: escapeMarkdown(where(c.head)),
      };
  }
}

function groupRows(groups: ReadonlyArray<ImpactGroup>): string[] {
  return [
    "| devices | platform | model | OS | before | after |",
    "| ---: | --- | --- | --- | --- | --- |",
    ...groups.map(
      (g) =>
        `| ${count(g.devices)} | ${escapeMarkdown(g.platform ?? "unknown")} | ${escapeMarkdown(g.model)} | ${escapeMarkdown(g.osVersion)} | ${escapeMarkdown(side(g.before))} | ${g.change === "newly-blocked" ? "**" : ""}${escapeMarkdown(side(g.after))}${g.change === "newly-blocked" ? "**" : ""} |`,
    ),
  ];
}

export function formatDiffMarkdown(diff: PolicyDiff): string {
  const out = [COMMENT_MARKER, `### enrollgate diff: ${escapeMarkdown(diff.base)} → ${escapeMarkdown(diff.head)}`, ""];
  const i = diff.impact;
  const headline: string[] = [];
  if (exceedsLimit(diff) && i !== null)
    headline.push(
      `:x: **${plural(i.newlyBlocked, "device")} newly blocked**, more than the ${count(diff.maxNewlyBlocked ?? 0)} allowed (\`--max-newly-blocked\`).`,
    );
  else if (i !== null)
    headline.push(`**${plural(i.newlyBlocked, "device")} newly blocked**, ${count(i.newlyAllowed)} newly allowed.`);
  headline.push(`Rules: ${diff.rules.length === 0 ? "no changes" : ruleCounts(diff)}.`);
  if (diff.weakenings.length > 0)
    headline.push(
      `:warning: ${plural(diff.weakenings.length, "change")} ${diff.weakenings.length === 1 ? "weakens" : "weaken"} protection.`,
    );
  out.push(headline.join(" "), "");
  const summary = devicesSummary(diff);
  if (summary !== null && diff.inventory !== null) {
    out.push(
      `Decided at ${new Date(diff.now).toISOString()} over ${escapeMarkdown(diff.inventory.files.join(", "))}: ${summary}.`,
      "",
    );
  } else {
    out.push(`No inventory given: rule changes only (decided at ${new Date(diff.now).toISOString()}).`, "");
  }
  if (diff.weakenings.length > 0) {
    out.push("#### Weakens protection", "");
    for (const w of diff.weakenings) out.push(`- ${escapeMarkdown(w.message)}`);
    out.push("");
  }
  if (i !== null && i.groups.length > 0) {
    out.push("#### Devices whose outcome changes", "");
    out.push(...groupRows(i.groups.slice(0, MARKDOWN_GROUPS)), "");
    if (i.groups.length > MARKDOWN_GROUPS) {
      const rest = i.groups.slice(MARKDOWN_GROUPS);
      out.push(
        `<details><summary>${plural(rest.length, "more group")} (${plural(
          rest.reduce((s, g) => s + g.devices, 0),
          "device",
        )})</summary>`,
        "",
        ...groupRows(rest),
        "",
        "</details>",
        "",
      );
    }
  }
  if (diff.rules.length > 0) {
    const rows = diff.rules.map(markdownRuleChange);
    const table = [
      "| rule | change | where |",
      "| --- | --- | --- |",
      ...rows.map((r) => `| ${r.rule} | ${r.change} | ${r.at} |`),
    ];
    if (rows.length > MARKDOWN_GROUPS)
      out.push(`<details><summary>Rule changes (${count(rows.length)})</summary>`, "", ...table, "", "</details>", "");
    else out.push("#### Rule changes", "", ...table, "");
  }
  if (diff.settings.length > 0) {
    out.push("#### Settings", "", "| setting | before | after |", "| --- | --- | --- |");
    for (const s of diff.settings)
      out.push(
        `| ${escapeMarkdown(s.setting)} | ${escapeMarkdown(s.before ?? "(not set)")} | ${escapeMarkdown(s.after ?? "(not set)")} |`,
      );
    out.push("");
  }
  const notes = inventoryNotes(diff);
  if (notes.length > 0) out.push(...notes.map((n) => `<sub>${escapeMarkdown(n)}</sub><br>`), "");
  return `${out.join("\n").trimEnd()}\n`;
}

/** diffJson(): the stable shape `--format json` prints (DIFF_JSON_VERSION). */
export function diffJson(diff: PolicyDiff): Record<string, unknown> {
  const loc = (l: { file: string; line: number; column: number }) => ({ file: l.file, line: l.line, column: l.column });
  return {
    version: DIFF_JSON_VERSION,
    base: diff.base,
    head: diff.head,
    now: new Date(diff.now).toISOString(),
    rules: diff.rules.map((c) => {
      switch (c.kind) {
        case "added":
          return {
            kind: c.kind,
            id: c.id,
            platform: c.platform,
            head: loc(c.head),
            base: null,
            from: null,
            fields: c.fields,
          };
        case "removed":
          return {
            kind: c.kind,
            id: c.id,
            platform: c.platform,
            head: null,
            base: loc(c.base),
            from: null,
            fields: [],
          };
        case "renamed":
          return {
            kind: c.kind,
            id: c.id,
            platform: c.platform,
            head: loc(c.head),
            base: loc(c.base),
            from: c.from,
            fields: [],
          };
        case "changed":
          return {
            kind: c.kind,
            id: c.id,
            platform: c.platform,
            head: loc(c.head),
            base: loc(c.base),
            from: null,
            fields: c.fields,
          };
      }
    }),
    settings: diff.settings,
    weakenings: diff.weakenings.map((w) => ({
      change: w.change,
      rule: w.rule,
      from: w.from,
      to: w.to,
      message: w.message,
    })),
    inventory: diff.inventory,
    impact:
      diff.impact === null
        ? null
        : {
            devices: diff.impact.devices,
            blockedBefore: diff.impact.blockedBefore,
            blockedAfter: diff.impact.blockedAfter,
            newlyBlocked: diff.impact.newlyBlocked,
            newlyAllowed: diff.impact.newlyAllowed,
            changed: diff.impact.changed,
            groups: diff.impact.groups.map((g) => ({
              platform: g.platform,
              model: g.model,
              osVersion: g.osVersion,
              devices: g.devices,
              change: g.change,
              before: g.before,
              after: g.after,
            })),
          },
    maxNewlyBlocked: diff.maxNewlyBlocked,
    exceeded: exceedsLimit(diff),
  };
}

/** Devices whose outcome changes and that a rule decided before or decides after, per rule id. */
function devicesByRule(diff: PolicyDiff): Map<string, { newlyBlocked: number; changed: number }> {
  const out = new Map<string, { newlyBlocked: number; changed: number }>();
  for (const g of diff.impact?.groups ?? []) {
    for (const id of new Set([g.before.rule, g.after.rule])) {
      if (id === null) continue;
      const n = out.get(id) ?? { newlyBlocked: 0, changed: 0 };
      n.changed += g.devices;
      if (g.change === "newly-blocked" && g.after.rule === id) n.newlyBlocked += g.devices;
      out.set(id, n);
    }
  }
  return out;
}

/** Workflow annotations on the changed rules in the head set, then the text report for the log. */
export function formatDiffGithub(diff: PolicyDiff): string {
  const byRule = devicesByRule(diff);
  const weak = (id: string) =>
    diff.weakenings.filter((w) => w.rule === id).map((w) => `weakens protection: ${w.message}`);
  const impact = (id: string) => {
    const n = byRule.get(id);
    return n === undefined
      ? []
      : [`${plural(n.changed, "device")} change outcome (${count(n.newlyBlocked)} newly blocked)`];
  };
  const lines: string[] = [];
  for (const c of diff.rules) {
    const title = `enrollgate diff: rule ${c.id} ${c.kind}`;
    let message: string[];
    let at: { file: string; line: number; column: number } | null;
    switch (c.kind) {
      case "added":
        message = [`new ${c.platform} rule`];
        at = c.head;
        break;
      case "removed":
        message = [`rule ${c.id} was at ${where(c.base)}`];
        at = null;
        break;
      case "renamed":
        message = [`renamed from ${c.from} (was at ${where(c.base)}); nothing else changed`];
        at = c.head;
        break;
      case "changed":
        message = c.fields.map(fieldLine);
        at = c.head;
        break;
    }
    message.push(...weak(c.id), ...impact(c.id));
    const props = [
      ...(at !== null ? [`file=${escapeProperty(at.file)}`, `line=${at.line}`, `col=${at.column}`] : []),
      `title=${escapeProperty(plain(title))}`,
    ];
    lines.push(`::warning ${props.join(",")}::${escapeData(plain(message.join("; ")))}`);
  }
  for (const w of diff.weakenings.filter((x) => x.rule === null))
    lines.push(
      `::warning title=${escapeProperty("enrollgate diff: settings")}::${escapeData(plain(`weakens protection: ${w.message}`))}`,
    );
  if (exceedsLimit(diff)) {
    const limit = limitLine(diff) ?? "";
    lines.push(`::error title=${escapeProperty("enrollgate diff")}::${escapeData(limit)}`);
  }
  return `${lines.join("\n")}${lines.length > 0 ? "\n" : ""}${formatDiffText(diff)}`;
}

/**
 * A policy diff as `enrollgate diff --format` prints it: `text`, `markdown`
 * (a pull-request comment, marked with COMMENT_MARKER), `json` (a stable
 * shape, `version` 1), or `github` (workflow annotations on the changed
 * rules, then the text).
 *
 * @example
 * import { diffPolicySets, formatDiff } from "enrollgate";
 *
 * const diff = diffPolicySets(baseSet, headSet, { base: "main", head: "pr", now: Date.now() });
 * process.stdout.write(formatDiff("markdown", diff));
 */
export function formatDiff(format: DiffFormat, diff: PolicyDiff): string {
  switch (format) {
    case "text":
      return formatDiffText(diff);
    case "markdown":
      return formatDiffMarkdown(diff);
    case "json":
      return `${JSON.stringify(diffJson(diff), null, 2)}\n`;
    case "github":
      return formatDiffGithub(diff);
  }
}
