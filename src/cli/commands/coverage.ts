// `enrollgate coverage`: every model Apple's feed lists × the rule that decides
// it × whether it can reach its floor × the actively exploited CVEs the floor
// leaves open (with SOFA).
import type { Command } from "commander";
import { resolveNow } from "../clock.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { addSecretsDirOption, choice, repeatable } from "../options.js";
import { compiledSet, loadAndCompile } from "../policies.js";
import { writeAtomically } from "../write-file.js";
import {
  COVERAGE_OUTPUTS,
  COVERAGE_PLATFORMS,
  COVERAGE_STATUSES,
  type CoverageOutput,
} from "../../impact/coverage-names.js";
import type { PolicyPlatform } from "../../policy/model.js";

const OUTPUTS = COVERAGE_OUTPUTS;
const STATUSES = COVERAGE_STATUSES;
/** What fails the command by default: a model its floor strands, or one its floor leaves exposed. */
export const DEFAULT_FAIL_ON = "unreachable,exposed";

interface CoverageOptions extends FeedFlagOptions {
  policies: string;
  format: CoverageOutput;
  now?: string;
  out?: string;
  failOn: string;
  platform?: string[];
  secretsDir?: string[];
}

/** --fail-on: a comma list of statuses, or none. */
function failOn(text: string): ReadonlySet<string> {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 1 && items[0] === "none") return new Set();
  for (const s of items)
    if (!(STATUSES as ReadonlyArray<string>).includes(s))
      throw new UsageError(`--fail-on: ${JSON.stringify(s)} is not a status (${STATUSES.join(", ")}, or none)`);
  return new Set(items);
}

/** --platform: which platforms to list (repeatable); default all. */
function platformsOf(values: ReadonlyArray<string> | undefined): ReadonlyArray<PolicyPlatform> | undefined {
  if (values === undefined) return undefined;
  for (const p of values)
    if (!(COVERAGE_PLATFORMS as ReadonlyArray<string>).includes(p))
      throw new UsageError(`--platform: ${JSON.stringify(p)} is not a platform (${COVERAGE_PLATFORMS.join(", ")})`);
  return values as ReadonlyArray<PolicyPlatform>;
}

export function registerCoverage(program: Command, io: CliIO, exit: (code: ExitCode) => void, version: string): void {
  const command = program
    .command("coverage")
    .description(
      "every model Apple's feed lists, the rule that decides it, whether it can reach its floor, and (with --sofa) the actively exploited vulnerabilities the floor leaves open",
    )
    .requiredOption("--policies <dir>", "the policy directory")
    .addOption(
      choice("--format <format>", "text, markdown, json or html (one self-contained page)", OUTPUTS).default("text"),
    )
    .option("--out <file>", "write the report to this file instead of stdout")
    .option(
      "--fail-on <statuses>",
      `exit 1 when a model has one of these statuses (comma list of ${STATUSES.join(", ")}; or none)`,
      DEFAULT_FAIL_ON,
    )
    .option(
      "--platform <platform>",
      `list only this platform (${COVERAGE_PLATFORMS.join(", ")}); repeatable; default: all`,
      repeatable,
    )
    .option("--now <time>", "evaluate rules and feeds at this instant (YYYY-MM-DD or RFC 3339); default: now");
  addFeedOptions(addSecretsDirOption(command)).action(async (options: CoverageOptions) => {
    const failing = failOn(options.failOn);
    const platforms = platformsOf(options.platform);
    const now = resolveNow(options.now);
    // Feed findings are warnings here, as in serve: an expired target is a row that says so, not a refusal.
    const result = await loadAndCompile(
      options.policies,
      io,
      { now, purpose: "validate", feedSeverity: "warning" },
      feedFlags(options),
      options.secretsDir,
    );
    const set = compiledSet(result, options.policies, io, version);
    const gdmf = result.feeds?.gdmf ?? null;
    if (gdmf === null)
      throw new UsageError(
        "coverage lists the models in Apple's feed: give a snapshot with --gdmf FILE (or feeds.gdmf in enrollgate.yaml)",
      );
    const [{ coverage }, { formatCoverage }] = await Promise.all([
      import("../../impact/coverage.js"),
      import("../../impact/coverage-format.js"),
    ]);
    const report = coverage(set, gdmf, {
      now,
      sofa: result.feeds?.sofa ?? [],
      ...(platforms !== undefined ? { platforms } : {}),
    });
    const text = formatCoverage(report, options.format);
    if (options.out !== undefined) {
      const written = await writeAtomically(io.cwd, options.out, text);
      io.stderr(`enrollgate: wrote ${written}\n`);
    } else {
      io.stdout(text);
    }
    exit(report.models.some((m) => failing.has(m.status)) ? EXIT.failed : EXIT.ok);
  });
}
