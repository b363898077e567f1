// The devices a diff decides for: an inventory CSV (a row per device, or per
// group of alike devices with `count`), or the gate's own JSON-lines decision
// log, replayed. Pure: file names and texts in, devices or problems out.
//
// A decision log holds a line per enrollment attempt, so a device that
// enrolled twice appears twice. It is counted once: lines are folded by UDID
// (else serial), and the latest line (by `time`, then by position) is what
// the device runs now. Lines without either are counted as they are. CSV rows
// are taken as written: a row is a device, or `count` alike devices.
import { tryParseBuild } from "../apple/build.js";
import { tryParseOsVersion, withSupplementalExtra } from "../apple/version.js";
import { EnrollgateError } from "../errors.js";
import { describedFacts } from "../policy/facts.js";
import type { DeviceFacts } from "../policy/model.js";
import { parseCsv } from "./csv.js";

/** An inventory that cannot be read: every problem found, each with its file and line. */
export class InventoryError extends EnrollgateError<"inventory-invalid"> {
  override readonly name = "InventoryError";

  constructor(readonly problems: ReadonlyArray<InventoryProblem>) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `${p.file}:${p.line}: ${p.message}`);
    const more = problems.length > MAX_PROBLEMS_SHOWN ? [`(and ${problems.length - MAX_PROBLEMS_SHOWN} more)`] : [];
    super("inventory-invalid", `the inventory cannot be read:\n  ${[...shown, ...more].join("\n  ")}`);
  }
}

const MAX_PROBLEMS_SHOWN = 20;
/** Past this many problems a file is not an inventory at all: stop reading it. */
const MAX_PROBLEMS = 100;

/** One bad row or line of an inventory. */
export interface InventoryProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** A device (or `count` alike devices) to decide for. */
export interface InventoryDevice {
  readonly facts: DeviceFacts;
  /** How many devices these facts stand for: a CSV row's `count`, else 1. */
  readonly count: number;
}

/** Devices read from one or more inventory files. */
export interface Inventory {
  readonly devices: ReadonlyArray<InventoryDevice>;
  /** How many devices, counts included. */
  readonly total: number;
  /** Decision log lines folded into a later line of the same device. */
  readonly folded: number;
  /** Decision log lines with nothing to replay (no MachineInfo: the request carried none). */
  readonly withoutMachineInfo: number;
  /** CSV columns enrollgate does not read (an MDM export's other columns), per file. */
  readonly ignoredColumns: ReadonlyArray<{ readonly file: string; readonly columns: ReadonlyArray<string> }>;
}

/** The CSV columns read; `product` and `osVersion` are required. */
export const INVENTORY_COLUMNS = [
  "product",
  "osVersion",
  "build",
  "serial",
  "deviceId",
  "udid",
  "supplementalExtra",
  "supplementalBuild",
  "canUpdate",
  "count",
] as const;
type Column = (typeof INVENTORY_COLUMNS)[number];

/** The largest `count` of one row: a billion devices is more than any fleet. */
const MAX_COUNT = 1_000_000_000;
/** The longest decision log line read: the gate's lines are a few hundred bytes. */
const MAX_LOG_LINE = 64 * 1024;

const PRODUCT = /^[A-Za-z]+\d+,\d+$/;
const IDENTIFIER = /^[\x21-\x7e]{1,128}$/;
const EXTRA = /^\([a-z]\)$/;

type Checked = { readonly ok: true; readonly facts: DeviceFacts } | { readonly ok: false; readonly message: string };

function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** Checks a device's facts as text, the same for CSV rows and log lines. */
function checkFacts(raw: Partial<Record<Exclude<Column, "count" | "canUpdate">, string>>, canUpdate: boolean): Checked {
  const bad = (message: string): Checked => ({ ok: false, message });
  const product = raw.product ?? "";
  if (product === "") return bad("product is empty; every device needs its model identifier (e.g. iPhone15,2)");
  if (!PRODUCT.test(product))
    return bad(`product ${shown(product)} is not an Apple model identifier (e.g. iPhone15,2)`);
  const osVersion = raw.osVersion ?? "";
  if (osVersion !== "" && tryParseOsVersion(osVersion) === null)
    return bad(`osVersion ${shown(osVersion)} is not an OS version (e.g. 18.5 or 17.0.1)`);
  for (const field of ["build", "supplementalBuild"] as const) {
    const v = raw[field] ?? "";
    if (v !== "" && tryParseBuild(v) === null) return bad(`${field} ${shown(v)} is not an Apple build (e.g. 22F76)`);
  }
  const extra = raw.supplementalExtra ?? "";
  if (extra !== "") {
    if (!EXTRA.test(extra)) return bad(`supplementalExtra ${shown(extra)} is not an extra such as "(a)"`);
    if (osVersion === "") return bad("supplementalExtra is given without an osVersion");
    try {
      withSupplementalExtra(osVersion, extra);
    } catch (e) {
      return bad((e as Error).message);
    }
  }
  for (const field of ["serial", "udid", "deviceId"] as const) {
    const v = raw[field] ?? "";
    if (v !== "" && !IDENTIFIER.test(v))
      return bad(`${field} ${shown(v)} is not an identifier (printable characters, no spaces, at most 128)`);
  }
  // Empty cells are absent facts, as empty plist strings are.
  const facts = describedFacts({ ...raw, product, canUpdate });
  return { ok: true, facts };
}

interface FileRead {
  readonly devices: InventoryDevice[];
  readonly logLines: LogEntry[];
  withoutMachineInfo: number;
  readonly ignoredColumns: string[];
}

interface LogEntry {
  readonly key: string | null;
  readonly time: number;
  readonly order: number;
  readonly facts: DeviceFacts;
}

function readCsv(file: string, text: string, problems: InventoryProblem[]): FileRead {
  const out: FileRead = { devices: [], logLines: [], withoutMachineInfo: 0, ignoredColumns: [] };
  const parsed = parseCsv(text);
  if (!parsed.ok) {
    problems.push({ file, ...parsed.problem });
    return out;
  }
  const [header, ...rows] = parsed.records;
  if (header === undefined) {
    problems.push({ file, line: 1, message: "the file is empty; an inventory starts with a header row" });
    return out;
  }
  const columns = new Map<Column, number>();
  header.fields.forEach((name, i) => {
    const column = INVENTORY_COLUMNS.find((c) => c === name.trim());
    if (column === undefined) {
      if (name.trim() !== "") out.ignoredColumns.push(name.trim());
      return;
    }
    if (columns.has(column))
      problems.push({ file, line: header.line, message: `column ${column} appears twice in the header` });
    columns.set(column, i);
  });
  for (const required of ["product", "osVersion"] as const) {
    if (!columns.has(required)) {
      const near = header.fields.find(
        (f) =>
          f
            .trim()
            .toLowerCase()
            .replace(/[^a-z]/g, "") === required.toLowerCase(),
      );
      problems.push({
        file,
        line: header.line,
        message: `the header has no ${required} column${near !== undefined ? ` (${shown(near)} is spelt differently: write ${required})` : ""}; an inventory needs product and osVersion (${INVENTORY_COLUMNS.join(",")})`,
      });
    }
  }
  if (problems.length > 0) return out;
  for (const row of rows) {
    if (problems.length >= MAX_PROBLEMS) break;
    const problem = (message: string) => problems.push({ file, line: row.line, message });
    if (row.fields.length !== header.fields.length) {
      const hint =
        row.fields.length > header.fields.length && row.fields.some((f, i) => /^\d+$/.test(f) && i > 0)
          ? ' (a model such as iPhone15,2 holds a comma: quote it, "iPhone15,2")'
          : "";
      problem(`the row has ${row.fields.length} fields, the header ${header.fields.length}${hint}`);
      continue;
    }
    const value = (c: Column) => {
      const i = columns.get(c);
      return i === undefined ? undefined : (row.fields[i] ?? "").trim();
    };
    const count = value("count") ?? "";
    if (count !== "" && (!/^\d{1,10}$/.test(count) || Number(count) > MAX_COUNT)) {
      problem(`count ${shown(count)} is not a whole number of devices (0 to ${MAX_COUNT})`);
      continue;
    }
    const canUpdate = (value("canUpdate") ?? "").toLowerCase();
    if (canUpdate !== "" && canUpdate !== "true" && canUpdate !== "false") {
      problem(`canUpdate ${shown(canUpdate)} is not true or false`);
      continue;
    }
    if ((value("osVersion") ?? "") === "") {
      problem("osVersion is empty; every device needs the OS version it runs");
      continue;
    }
    const checked = checkFacts(
      {
        product: value("product") ?? "",
        osVersion: value("osVersion") ?? "",
        ...Object.fromEntries(
          (["build", "serial", "deviceId", "udid", "supplementalExtra", "supplementalBuild"] as const).map((c) => [
            c,
            value(c) ?? "",
          ]),
        ),
      },
      canUpdate !== "false",
    );
    if (!checked.ok) {
      problem(checked.message);
      continue;
    }
    out.devices.push({ facts: checked.facts, count: count === "" ? 1 : Number(count) });
  }
  return out;
}

const LOG_FIELDS = ["product", "osVersion", "build", "serial", "udid", "deviceId", "supplementalExtra"] as const;

function readLog(file: string, text: string, problems: InventoryProblem[], order: { next: number }): FileRead {
  const out: FileRead = { devices: [], logLines: [], withoutMachineInfo: 0, ignoredColumns: [] };
  let line = 0;
  let start = 0;
  while (start < text.length && problems.length < MAX_PROBLEMS) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    if (raw.trim() === "") continue;
    const problem = (message: string) => problems.push({ file, line, message });
    if (raw.length > MAX_LOG_LINE) {
      problem(`the line is longer than ${MAX_LOG_LINE / 1024} KiB; a decision log line is a few hundred bytes`);
      continue;
    }
    let entry: unknown;
    try {
      entry = JSON.parse(raw);
    } catch {
      problem("not a JSON object; a decision log holds one JSON object per line, as the gate writes it");
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problem("not a JSON object; a decision log holds one JSON object per line, as the gate writes it");
      continue;
    }
    const record = entry as Record<string, unknown>;
    if (record.event !== "decision") continue; // reloads, rejections, warnings: nothing to replay
    if (record.product === null || record.product === undefined) {
      out.withoutMachineInfo++;
      continue;
    }
    const fields: Partial<Record<(typeof LOG_FIELDS)[number], string>> = {};
    let wrong: string | null = null;
    for (const f of LOG_FIELDS) {
      const v = record[f];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") {
        wrong = `"${f}" is ${Array.isArray(v) ? "a list" : `a ${typeof v}`}, not a string`;
        break;
      }
      fields[f] = v;
    }
    if (wrong !== null) {
      problem(wrong);
      continue;
    }
    // Lines from before the gate logged canUpdate: only cannot-request-update says it was false.
    const canUpdate =
      typeof record.canUpdate === "boolean" ? record.canUpdate : record.reason !== "cannot-request-update";
    const checked = checkFacts(fields, canUpdate);
    if (!checked.ok) {
      problem(checked.message);
      continue;
    }
    const key =
      fields.udid !== undefined
        ? `udid:${fields.udid}`
        : fields.serial !== undefined
          ? `serial:${fields.serial}`
          : null;
    // pino writes `time` as an ISO string here (epoch ms with its default settings).
    const time =
      typeof record.time === "number" && Number.isFinite(record.time)
        ? record.time
        : typeof record.time === "string" && Number.isFinite(Date.parse(record.time))
          ? Date.parse(record.time)
          : -Infinity;
    out.logLines.push({ key, time, order: order.next++, facts: checked.facts });
  }
  return out;
}

/** Whether a text is a decision log (JSON lines) rather than CSV: its first character opens a JSON object. */
function isDecisionLog(text: string): boolean {
  return /^\uFEFF?\s*\{/.test(text);
}

/**
 * Reads inventory files: each a CSV with a header row (INVENTORY_COLUMNS in any
 * order; `product` and `osVersion` required) or the gate's JSON-lines decision
 * log, told apart by their first character. Throws an InventoryError
 * (`inventory-invalid`) naming every bad row (up to a hundred) with its file and line.
 */
export function readInventories(files: ReadonlyArray<{ readonly name: string; readonly text: string }>): Inventory {
  const problems: InventoryProblem[] = [];
  const devices: InventoryDevice[] = [];
  const logLines: LogEntry[] = [];
  const ignoredColumns: Array<{ file: string; columns: string[] }> = [];
  let withoutMachineInfo = 0;
  const order = { next: 0 };
  for (const { name, text } of files) {
    const read = isDecisionLog(text) ? readLog(name, text, problems, order) : readCsv(name, text, problems);
    // One at a time: spreading a fleet's rows into push() overflows the stack past ~100,000 of them.
    for (const d of read.devices) devices.push(d);
    for (const l of read.logLines) logLines.push(l);
    withoutMachineInfo += read.withoutMachineInfo;
    if (read.ignoredColumns.length > 0) ignoredColumns.push({ file: name, columns: read.ignoredColumns });
  }
  if (problems.length > 0) throw new InventoryError(problems);
  // One device, one vote: its latest line.
  const latest = new Map<string, LogEntry>();
  let folded = 0;
  for (const entry of logLines) {
    if (entry.key === null) {
      devices.push({ facts: entry.facts, count: 1 });
      continue;
    }
    const seen = latest.get(entry.key);
    if (seen !== undefined) folded++;
    if (seen === undefined || entry.time > seen.time || (entry.time === seen.time && entry.order > seen.order))
      latest.set(entry.key, entry);
  }
  for (const entry of latest.values()) devices.push({ facts: entry.facts, count: 1 });
  const total = devices.reduce((sum, d) => sum + d.count, 0);
  return { devices, total, folded, withoutMachineInfo, ignoredColumns };
}
