// `enrollgate ddm declarations|status`: the `enrolled` blocks as Apple DDM
// declarations (written one per file, or shown for one device), and enrolled
// devices judged from their DDM status reports.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { Declaration } from "../../apple/ddm.js";
import type { CompiledPolicySet } from "../../policy/compile.js";
import { formatFinding, type Finding } from "../../policy/findings.js";
import { printable } from "../../printable.js";
import { FILE_LIMITS, readRegularFile, FileRefusedError } from "../../safe-file.js";
import type { DeviceJudgement } from "../../ddm/judge.js";
import type { StatusReportInput } from "../../ddm/status.js";
import { resolveNow } from "../clock.js";
import { addFactOptions, factsFrom, type FactFlags } from "../facts.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addSecretsDirOption } from "../options.js";
import { compiledSet, loadAndCompile } from "../policies.js";
import { judgementTable } from "../judgement-table.js";
import { writeAtomically } from "../write-file.js";

interface CommonOptions extends FeedFlagOptions {
  policies: string;
  now?: string;
  secretsDir?: string[];
}

interface DeclarationsOptions extends CommonOptions, FactFlags {
  out?: string;
}

interface StatusOptions extends CommonOptions {
  json?: boolean;
  timeZone?: string;
}

/** Every file this command writes is named so; only those are replaced or removed in --out. */
const OURS = /^com\.enrollgate\..+\.json$/;

async function policiesOf(options: CommonOptions, io: CliIO, now: number, version: string): Promise<CompiledPolicySet> {
  const result = await loadAndCompile(
    options.policies,
    io,
    { now, purpose: "validate" },
    feedFlags(options),
    options.secretsDir,
  );
  return compiledSet(result, options.policies, io, version);
}

function reportProblems(io: CliIO, problems: ReadonlyArray<Finding>): boolean {
  for (const p of problems) io.stderr(`enrollgate: ${formatFinding(p)}\n`);
  return problems.some((p) => p.severity === "error");
}

/** A beta token never reaches a terminal: `--device` shows declarations for people. */
function redacted(d: Declaration): Declaration {
  const beta = (d.Payload as { Beta?: { RequireProgram?: { Token?: string } } }).Beta;
  if (beta?.RequireProgram?.Token === undefined) return d;
  return {
    ...d,
    Payload: { ...d.Payload, Beta: { ...beta, RequireProgram: { ...beta.RequireProgram, Token: "<redacted>" } } },
  };
}

function hasFacts(o: FactFlags): boolean {
  return o.product !== undefined || o.machineInfo !== undefined;
}

async function writeDeclarations(
  io: CliIO,
  out: string,
  declarations: ReadonlyArray<Declaration>,
): Promise<{ written: number; removed: string[] }> {
  const dir = resolve(io.cwd, out);
  await mkdir(dir, { recursive: true });
  const names = new Set(declarations.map((d) => `${d.Identifier}.json`));
  const removed: string[] = [];
  // A rule removed from the policies takes its declarations with it.
  for (const name of await readdir(dir)) {
    if (OURS.test(name) && !names.has(name)) {
      await rm(join(dir, name), { force: true });
      removed.push(name);
    }
  }
  for (const d of declarations) {
    // A settings declaration carries a beta token: readable by its owner only.
    const secret = (d.Payload as { Beta?: unknown }).Beta !== undefined;
    await writeAtomically(dir, `${d.Identifier}.json`, `${JSON.stringify(d, null, 2)}\n`, secret ? 0o600 : undefined);
  }
  return { written: declarations.length, removed };
}

function registerDeclarations(group: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const command = group
    .command("declarations")
    .description(
      "the enrolled blocks as Apple DDM declarations: one JSON file per declaration in --out, or the ones one device would apply",
    )
    .requiredOption("--policies <dir>", "the policy directory")
    .option("--out <dir>", "write one JSON file per declaration here, named by its Identifier")
    .option(
      "--now <time>",
      "at this instant (YYYY-MM-DD or RFC 3339): active rules, Apple's feed, deadlines; default: now",
    );
  addFeedOptions(addSecretsDirOption(addFactOptions(command))).action(async (options: DeclarationsOptions) => {
    const device = hasFacts(options) ? await factsFrom(options, io.cwd) : null;
    if (device === null && options.out === undefined)
      throw new UsageError(
        "give --out DIR to write the declarations, or describe one device (--product ..., --machine-info FILE)",
      );
    if (device !== null && options.out !== undefined)
      throw new UsageError("--out writes every declaration; leave it out to show one device's");
    const now = resolveNow(options.now);
    const set = await policiesOf(options, io, now, version);
    const { ddmDeclarations } = await import("../../ddm/declarations.js");
    const result = ddmDeclarations(set, { now, ...(device !== null ? { device } : {}) });
    const failed = reportProblems(io, result.problems);
    if (device !== null) {
      io.stdout(`${JSON.stringify(result.declarations.map(redacted), null, 2)}\n`);
      if (result.device !== null) io.stderr(`${result.device.summary}\n`);
      // Only a problem of the rule that governs this device changes what it is sent.
      const governing = result.device?.rule ?? null;
      const mine = result.problems.some((p) => p.severity === "error" && p.rule === governing);
      exit(mine ? EXIT.failed : EXIT.ok);
      return;
    }
    const { written, removed } = await writeDeclarations(io, options.out as string, result.declarations);
    const lines: string[] = [];
    for (const r of result.rules) {
      if (r.mode === "audit") {
        lines.push(`${r.rule}: audit mode, no declarations (ddm status still judges its devices)`);
        continue;
      }
      for (const s of r.steps) {
        const build = s.build !== null ? ` (${s.build})` : "";
        const models = s.models !== null ? ` for ${s.models.length} model${s.models.length === 1 ? "" : "s"}` : "";
        lines.push(`${r.rule}: ${r.platform} ${s.version}${build} by ${s.deadline}${models}  ${s.configuration}`);
      }
      if (r.settings !== null) lines.push(`${r.rule}: beta program settings  ${r.settings}`);
    }
    const gone = removed.length > 0 ? `; removed ${removed.length} no longer generated (${removed.join(", ")})` : "";
    io.stdout(
      `${lines.map((l) => `${l}\n`).join("")}wrote ${written} declaration${written === 1 ? "" : "s"} to ${options.out as string}${gone}\n`,
    );
    exit(failed ? EXIT.failed : EXIT.ok);
  });
}

/** Reports in a file: one JSON object, or JSON Lines. */
function reportsIn(file: string, text: string): { inputs: StatusReportInput[]; problems: string[] } {
  const whole = text.trim();
  try {
    return { inputs: [{ report: JSON.parse(whole) as unknown, source: file, stream: file }], problems: [] };
  } catch (e) {
    const lines = text.split("\n");
    const first = lines.findIndex((l) => l.trim() !== "");
    const parses = (line: string) => {
      try {
        JSON.parse(line);
        return true;
      } catch {
        return false;
      }
    };
    // One document that does not parse (truncated, say) is named as one.
    if (first === -1 || !parses(lines[first] as string))
      return { inputs: [], problems: [`${file}: ${first === -1 ? "empty" : `not JSON: ${(e as Error).message}`}`] };
    const inputs: StatusReportInput[] = [];
    const problems: string[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      const source = `${file}:${i + 1}`;
      try {
        inputs.push({ report: JSON.parse(line) as unknown, source, stream: file });
      } catch (err) {
        problems.push(`${source}: not JSON: ${(err as Error).message}`);
      }
    });
    return { inputs, problems };
  }
}

function table(devices: ReadonlyArray<DeviceJudgement>): string {
  return judgementTable(
    devices.map(
      (d) =>
        [
          d.serial ?? d.udid ?? d.sources[0] ?? "-",
          d.product ?? "-",
          d.osVersion ?? "-",
          d.rule ?? "-",
          d.judgement,
          d.summary,
        ] as const,
    ),
  );
}

function fileOf(source: string | undefined): string | null {
  return source === undefined ? null : source.replace(/:\d+$/, "");
}

function json(devices: ReadonlyArray<DeviceJudgement>): string {
  return `${JSON.stringify(
    devices.map((d) => ({
      file: fileOf(d.sources[d.sources.length - 1]),
      udid: d.udid,
      serial: d.serial,
      product: d.product,
      osVersion: d.osVersion,
      build: d.build,
      judgement: d.judgement,
      rule: d.rule,
      summary: d.summary,
      target: d.target,
      deadline: d.deadline,
      installState: d.installState,
      pendingVersion: d.pendingVersion,
      failure: d.failure,
      statusErrors: d.statusErrors,
      reports: d.sources,
    })),
    null,
    2,
  )}\n`;
}

function registerStatus(group: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const command = group
    .command("status")
    .description(
      "judge enrolled devices from their DDM status reports: compliant, updating, failed, behind, overdue or unknown",
    )
    .requiredOption("--policies <dir>", "the policy directory")
    .argument("<reports...>", "DDM status reports as devices send them: one JSON object per file, or JSON Lines")
    .option("--json", "one JSON object per device")
    .option("--now <time>", "judge at this instant (YYYY-MM-DD or RFC 3339); default: now")
    .option(
      "--time-zone <zone>",
      "the devices' IANA time zone (Europe/Berlin) for deadlines; default: overdue once the deadline has passed everywhere",
    );
  addFeedOptions(addSecretsDirOption(command)).action(async (files: string[], options: StatusOptions) => {
    const { isTimeZone } = await import("../../policy/deadline.js");
    if (options.timeZone !== undefined && !isTimeZone(options.timeZone))
      throw new UsageError(
        `--time-zone ${JSON.stringify(options.timeZone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
      );
    const now = resolveNow(options.now);
    const set = await policiesOf(options, io, now, version);
    const inputs: StatusReportInput[] = [];
    let unreadable = 0;
    const decoder = new TextDecoder("utf-8", { fatal: true });
    for (const file of files) {
      let text: string;
      try {
        text = decoder.decode(await readRegularFile(resolve(io.cwd, file), { maxBytes: FILE_LIMITS.feed }));
      } catch (e) {
        const why = e instanceof FileRefusedError ? e.message : e instanceof TypeError ? "not UTF-8 text" : String(e);
        io.stderr(`enrollgate: ${file}: ${why}\n`);
        unreadable++;
        continue;
      }
      const found = reportsIn(file, text);
      // JSON.parse quotes the text it stopped at, line feeds and all.
      for (const p of found.problems) io.stderr(`enrollgate: ${printable(p)}\n`);
      unreadable += found.problems.length;
      // One at a time: spreading a file's reports into push() overflows the stack past ~100,000 of them.
      for (const input of found.inputs) inputs.push(input);
    }
    const { judgeStatus } = await import("../../ddm/judge.js");
    const result = judgeStatus(set, inputs, now, options.timeZone !== undefined ? { timeZone: options.timeZone } : {});
    for (const p of result.problems) {
      io.stderr(`enrollgate: ${p.unreadable ? "" : "warning: "}${printable(`${p.source}: ${p.message}`)}\n`);
      if (p.unreadable) unreadable++;
    }
    io.stdout(options.json === true ? json(result.devices) : table(result.devices));
    const failing = result.devices.some(
      (d) => d.judgement === "behind" || d.judgement === "overdue" || d.judgement === "failed",
    );
    exit(unreadable > 0 ? EXIT.usage : failing ? EXIT.failed : EXIT.ok);
  });
}

export function registerDdm(program: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const group = program
    .command("ddm")
    .description(
      "enrolled devices under Apple's declarative device management: declarations, and status reports judged",
    );
  registerDeclarations(group, io, exit, version);
  registerStatus(group, io, exit, version);
}
