// `enrollgate os-update-status command|report`: the OSUpdateStatus MDM command,
// and judging enrolled devices' responses against the policies.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { OsUpdateStatusResponse } from "../../apple/os-update-status.js";
import { hasErrorCode } from "../../errors.js";
import type { ComplianceReport } from "../../policy/compliance.js";
import { factsOfDeviceInformation } from "../../policy/facts.js";
import type { DeviceFacts } from "../../policy/model.js";
import { resolveNow } from "../clock.js";
import { addFactOptions, factsFromFlags, type FactFlags } from "../facts.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addSecretsDirOption } from "../options.js";
import { printable } from "../../printable.js";
import { judgementTable } from "../judgement-table.js";
import { loadAndCompile } from "../policies.js";

interface ReportOptions extends FactFlags {
  policies: string;
  deviceInfo?: string[];
  gdmf?: string;
  json?: boolean;
  now?: string;
  secretsDir?: string[];
}

interface Row {
  readonly file: string;
  readonly udid: string | null;
  readonly serial: string | null;
  readonly product: string | null;
  readonly osVersion: string | null;
  readonly report: ComplianceReport;
}

async function read(cwd: string, file: string): Promise<Buffer> {
  try {
    return await readFile(resolve(cwd, file));
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function table(rows: ReadonlyArray<Row>): string {
  return judgementTable(
    rows.map(
      (r) =>
        [
          r.serial ?? r.udid ?? r.file,
          r.product ?? "-",
          r.osVersion ?? "-",
          r.report.rule ?? "-",
          r.report.judgement,
          r.report.summary,
        ] as const,
    ),
  );
}

function json(rows: ReadonlyArray<Row>): string {
  return `${JSON.stringify(
    rows.map((r) => ({
      file: r.file,
      udid: r.udid,
      serial: r.serial,
      product: r.product,
      osVersion: r.osVersion,
      judgement: r.report.judgement,
      rule: r.report.rule,
      summary: r.report.summary,
      commandStatus: r.report.commandStatus,
      errorChain: r.report.errorChain,
      updates: r.report.updates.map((u) => ({
        ...u,
        nextScheduledInstall: u.nextScheduledInstall?.toISOString() ?? null,
      })),
    })),
    null,
    2,
  )}\n`;
}

/** Apple's word on OSUpdateStatus, and where to go instead. */
const DEPRECATION = [
  "Deprecated: Apple deprecated the OSUpdateStatus command in iOS, iPadOS and macOS 26 and removes it in 27;",
  "its replacement is the softwareupdate.install-state status item of declarative device management.",
  "Keep this command for devices before 26; for devices on 26 and later, enforce the policies'",
  "enrolled blocks with `enrollgate ddm declarations` and judge their status reports with",
  "`enrollgate ddm status` (docs/enrolled-devices.md).",
].join("\n");

export function registerOsUpdateStatus(program: Command, io: CliIO, exit: (code: ExitCode) => void): void {
  const group = program
    .command("os-update-status")
    .description(
      "Apple's OSUpdateStatus MDM command, and judging enrolled devices by it (deprecated by Apple in 26, removed in 27: use ddm status)",
    )
    .addHelpText("after", `\n${DEPRECATION}`);
  group
    .command("command")
    .description("print the OSUpdateStatus command plist, ready to queue on an MDM server")
    .option("--uuid <uuid>", "the CommandUUID (default: a fresh UUID)")
    .action(async (options: { uuid?: string }) => {
      const { osUpdateStatusCommand } = await import("../../apple/os-update-status.js");
      io.stdout(`${osUpdateStatusCommand(options.uuid).plist}\n`);
      exit(EXIT.ok);
    });

  const report = group
    .command("report")
    .description("judge devices' OSUpdateStatus responses against the policies: compliant, updating, behind or unknown")
    .addHelpText("after", `\n${DEPRECATION}`)
    .requiredOption("--policies <dir>", "the policy directory")
    .argument("<responses...>", "OSUpdateStatus response plists")
    .option(
      "--device-info <file>",
      "a DeviceInformation response plist (matched to responses by UDID); repeatable",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option("--gdmf <file>", "Apple's feed, to place builds named by ProductKeys (iOSUpdate21G93) against minimums")
    .option("--json", "one JSON object per device")
    .option("--now <time>", "judge at this instant (YYYY-MM-DD or RFC 3339); default: now");
  addSecretsDirOption(addFactOptions(report)).action(async (files: string[], options: ReportOptions) => {
    const now = resolveNow(options.now);
    const [
      { readDeviceInformation },
      { parseOsUpdateStatusResponse },
      { BandedSchema },
      { bundledAppleSchema },
      { gdmfBuildVersion, parseGdmf },
      { judgeCompliance },
    ] = await Promise.all([
      import("../../apple/device-information.js"),
      import("../../apple/os-update-status.js"),
      import("../../apple/schema/banded.js"),
      import("../../apple/bundled.js"),
      import("../../feeds/gdmf.js"),
      import("../../policy/compliance.js"),
    ]);
    const compiled = await loadAndCompile(options.policies, io, { now, purpose: "validate" }, {}, options.secretsDir);
    if (compiled.set === null)
      throw new UsageError(
        `the policies in ${options.policies} do not compile; run enrollgate validate ${options.policies}`,
      );
    const set = compiled.set;
    let buildVersions = null;
    if (options.gdmf !== undefined) {
      const feed = parseGdmf((await read(io.cwd, options.gdmf)).toString("utf8"), options.gdmf);
      buildVersions = (build: string) => gdmfBuildVersion(feed, build);
    }
    const known = new Map<string, DeviceFacts>();
    const infos: DeviceFacts[] = [];
    for (const file of options.deviceInfo ?? []) {
      try {
        const info = readDeviceInformation(await read(io.cwd, file));
        const facts = factsOfDeviceInformation(info);
        infos.push(facts);
        if (info.UDID !== undefined) known.set(info.UDID, facts);
      } catch (e) {
        if (hasErrorCode(e, "device-information-invalid")) throw new UsageError(`${file}: ${e.message}`);
        throw e;
      }
    }
    const flagFacts =
      options.product !== undefined || options.machineInfo !== undefined ? factsFromFlags(options) : null;
    const schema = new BandedSchema(bundledAppleSchema("os-update-status"), "receive", "response");
    const rows: Row[] = [];
    let unreadable = 0;
    for (const file of files) {
      let response: OsUpdateStatusResponse;
      try {
        response = parseOsUpdateStatusResponse(await read(io.cwd, file), schema);
      } catch (e) {
        if (!hasErrorCode(e, "command-invalid")) throw e;
        io.stderr(`enrollgate: ${file}: ${printable(e.message)}\n`);
        unreadable++;
        continue;
      }
      // Facts: the DeviceInformation with this UDID; else the only one given; else the flags.
      const facts =
        (response.udid !== null ? known.get(response.udid) : undefined) ??
        (files.length === 1 && infos.length === 1 ? infos[0] : undefined) ??
        flagFacts;
      rows.push({
        file,
        udid: response.udid,
        serial: facts?.serial ?? null,
        product: facts?.product ?? null,
        osVersion: facts?.osVersion ?? null,
        report: judgeCompliance(set, facts ?? null, response, now, buildVersions),
      });
    }
    io.stdout(options.json === true ? json(rows) : table(rows));
    exit(unreadable > 0 ? EXIT.usage : rows.some((r) => r.report.judgement === "behind") ? EXIT.failed : EXIT.ok);
  });
}
