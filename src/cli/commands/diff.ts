// `enrollgate diff`: what a policy change does, before it merges. Rule and
// settings changes, what weakens protection, and the devices of an inventory
// (or a decision log) whose outcome at the enrollment door changes.
import type { Command } from "commander";
import { Option } from "commander";
import { resolve } from "node:path";
import type { CompileResult } from "../../policy/compile.js";
import { printable } from "../../printable.js";
import { FileRefusedError, readRegularFile } from "../../safe-file.js";
import { resolveNow } from "../clock.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { addSecretsDirOption, choice, repeatable } from "../options.js";
import { compiledSet, compileSource, loadAndCompile } from "../policies.js";

interface DiffOptions extends FeedFlagOptions {
  base: string;
  head: string;
  inventory?: string[];
  now?: string;
  format?: "text" | "markdown" | "json" | "github";
  maxNewlyBlocked?: string;
  secretsDir?: string[];
}

/** The largest inventory read: a million rows of CSV is well under it. */
const MAX_INVENTORY_BYTES = 256 * 1024 * 1024;

function nonNegative(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER)
    throw new UsageError(`--max-newly-blocked ${JSON.stringify(text)} is not a whole number of devices`);
  return Number(text);
}

async function readInventoryFile(path: string, cwd: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(resolve(cwd, path), { maxBytes: MAX_INVENTORY_BYTES });
  } catch (e) {
    if (!(e instanceof FileRefusedError)) throw e;
    throw new UsageError(`--inventory ${path}: ${e.problem === "missing" ? "no such file" : e.message}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`--inventory ${path}: the file is not UTF-8 text`);
  }
}

export function registerDiff(program: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const command = program
    .command("diff")
    .description("what a policy change does: rule changes, and the devices of an inventory whose outcome changes")
    .requiredOption(
      "--base <dir|ref:dir>",
      "the policies before the change: a directory, or REF:DIR read from git (origin/main:policies)",
    )
    .requiredOption("--head <dir>", "the policies after the change")
    .option(
      "--inventory <file>",
      "devices to decide for: a CSV (product,osVersion,build,serial,deviceId,udid,supplementalExtra,count) or the gate's JSON-lines decision log; repeatable",
      repeatable,
    )
    .option("--now <time>", "decide at this instant (YYYY-MM-DD or RFC 3339); default: now")
    .addOption(
      choice(
        "--format <format>",
        "text, markdown (a pull-request comment), json, or github (annotations; the default under GITHUB_ACTIONS=true)",
        ["text", "markdown", "json", "github"],
      ),
    )
    .addOption(new Option("--max-newly-blocked <n>", "exit 1 when more devices than this are newly blocked"));
  addFeedOptions(addSecretsDirOption(command)).action(async (options: DiffOptions) => {
    const format = options.format ?? (io.env.GITHUB_ACTIONS === "true" ? "github" : "text");
    const now = resolveNow(options.now);
    const max = options.maxNewlyBlocked === undefined ? undefined : nonNegative(options.maxNewlyBlocked);
    const inventories = options.inventory ?? [];
    if (max !== undefined && inventories.length === 0)
      throw new UsageError("--max-newly-blocked counts devices: give them with --inventory FILE");
    const flags = feedFlags(options);
    // Devices are decided as the gate decides them: a feed finding (an expired target in the base set) is a
    // warning there, not a refusal.
    const compileOptions = { now, purpose: "validate" as const, feedSeverity: "warning" as const };
    const { parseGitSpec, loadPolicySetFromGit } = await import("../git-source.js");
    const spec = parseGitSpec(options.base);
    let baseResult: CompileResult;
    if (spec !== null) {
      const secrets = (options.secretsDir ?? []).map((d) => resolve(io.cwd, d));
      const fromGit = await loadPolicySetFromGit(spec, { cwd: io.cwd, env: { ...io.env }, secretsDirs: secrets });
      baseResult = await compileSource(fromGit.source, io, compileOptions, flags, options.secretsDir, fromGit);
    } else {
      baseResult = await loadAndCompile(options.base, io, compileOptions, flags, options.secretsDir);
    }
    const base = compiledSet(baseResult, options.base, io, version, "base policies");
    const headResult = await loadAndCompile(options.head, io, compileOptions, flags, options.secretsDir);
    const head = compiledSet(headResult, options.head, io, version, "head policies");

    const [{ readInventories }, { diffPolicySets, exceedsLimit }, { formatDiff }] = await Promise.all([
      import("../../impact/inventory.js"),
      import("../../impact/diff.js"),
      import("../../impact/format.js"),
    ]);
    let inventory;
    if (inventories.length > 0) {
      const files = await Promise.all(
        inventories.map(async (name) => ({ name, text: await readInventoryFile(name, io.cwd) })),
      );
      const read = readInventories(files);
      for (const { file, columns } of read.ignoredColumns)
        io.stderr(`enrollgate: note: ${file}: columns not read: ${printable(columns.join(", "))}\n`);
      inventory = { files: inventories, read };
    }
    const diff = diffPolicySets(base, head, {
      base: options.base,
      head: options.head,
      now,
      ...(inventory !== undefined ? { inventory } : {}),
      ...(max !== undefined ? { maxNewlyBlocked: max } : {}),
    });
    io.stdout(formatDiff(format, diff));
    exit(exceedsLimit(diff) ? EXIT.failed : EXIT.ok);
  });
}
