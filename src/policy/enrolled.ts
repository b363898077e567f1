// Checks of `enrolled` blocks: what an enrolled device must run and by when.
// Each is a finding at the place to fix, as for every other key; the
// declarations the block compiles to (src/ddm/) are rendered here once, with
// stand-ins for what only the feed at write time says, and checked against
// Apple's declaration schemas.
import {
  betaSettingsPayload,
  declaration,
  declarationKeySupportedFrom,
  declarationProblem,
  DECLARATION_TYPES,
  enforcementPayload,
  MAX_IDENTIFIER_OCTETS,
  type Declaration,
} from "../apple/ddm.js";
import { compareBuilds, parseBuild } from "../apple/build.js";
import { baseVersion, compareOsVersions, formatOsVersion, type OsVersion } from "../apple/version.js";
import type { PublishedRelease } from "./availability.js";
import { daysAfter, describeDeadline, localInstants } from "./deadline.js";
import type { Finding, FindingCode } from "./findings.js";
import { compileGlob, globNames } from "./glob.js";
import type { Deadline, Rule } from "./model.js";
import type { RuleDraft } from "./read.js";
import { listedModels, offeredAt, offeredModels, postedOn, releasesOf } from "./releases.js";
import type { SemanticContext } from "./semantic.js";
import { finding } from "./source.js";

/** A deadline as the device gets it, or why it cannot be known. */
export type ResolvedDeadline =
  { readonly ok: true; readonly localDateTime: string } | { readonly ok: false; readonly why: string };

/**
 * The local date-time a deadline means for a target version of a platform, from Apple's feed when it counts from
 * the release.
 */
export function resolveDeadline(
  deadline: Deadline,
  platform: Rule["platform"],
  version: OsVersion,
  published: ReadonlyArray<PublishedRelease> | undefined,
): ResolvedDeadline {
  if (deadline.kind === "local") return { ok: true, localDateTime: deadline.localDateTime };
  if (published === undefined)
    return { ok: false, why: "daysAfterRelease counts from Apple's release date, and no GDMF feed is configured" };
  const posted = postedOn(published, platform, version);
  if (posted === null)
    return {
      ok: false,
      why: `Apple's feed does not list ${platform} ${formatOsVersion(version)}, so its release date is unknown`,
    };
  return { ok: true, localDateTime: daysAfter(posted, deadline.daysAfterRelease, deadline.at) };
}

/** The identifiers an enrolled rule's declarations get: `com.enrollgate.<kind>.<rule id>`. */
export function declarationIdentifier(kind: "enforcement" | "activation" | "settings", rule: string): string {
  return `com.enrollgate.${kind}.${rule}`;
}

function list(items: string[], max = 8): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** Findings that a feed could clear (a snapshot to add, a release to come) are warnings where the gate compiles. */
function feedSeverity(ctx: SemanticContext): "error" | "warning" {
  return ctx.purpose === "serve" ? "warning" : "error";
}

function checkOne(d: RuleDraft, ctx: SemanticContext): Finding[] {
  const r = d.rule;
  const e = r.enrolled;
  if (e === null) return [];
  const out: Finding[] = [];
  const add = (at: ReturnType<RuleDraft["at"]>, code: FindingCode, severity: "error" | "warning", message: string) =>
    out.push(finding(at, code, severity, message, r.id));
  const ownTarget = e.target !== r.target;
  const targetAt = ownTarget
    ? d.at(["enrolled", "target"])
    : d.at([r.target.kind === "version" && r.target.text !== r.minimumText ? "target" : "minimum"]);
  const published = ctx.availability.published;

  if (e.target.kind === "version") {
    const c = compareOsVersions(e.target.version, r.minimum);
    if (ownTarget && c < 0)
      add(
        targetAt,
        "target-below-minimum",
        "error",
        `enrolled target ${e.target.text} is below minimum ${r.minimumText}: an enrolled device that installs it would still be below the floor`,
      );
    else if (
      c === 0 &&
      e.targetBuild !== null &&
      r.minimumBuild !== null &&
      compareBuilds(parseBuild(e.targetBuild), r.minimumBuild) < 0
    )
      add(
        d.at(["enrolled", "targetBuild"]),
        "target-below-minimum",
        "error",
        `enrolled targetBuild ${e.targetBuild} is below minimumBuild ${r.minimumBuildText ?? ""}: an enrolled device that installs it would still be below the floor`,
      );
    if (e.target.version.extra !== null) {
      const base = formatOsVersion(baseVersion(e.target.version));
      add(
        targetAt,
        "enrolled-supplemental-target",
        "warning",
        `enrolled target ${e.target.text} is a supplemental version, which Apple installs only on ${base}: devices below ${base} get two configurations, first ${base}, then ${e.target.text}, both by the deadline`,
      );
    }
  } else {
    if (ownTarget && !ctx.availability.resolvesLatest)
      add(
        targetAt,
        "target-needs-feed",
        feedSeverity(ctx),
        `enrolled target: ${e.target.kind} is resolved per model from Apple's GDMF feed; configure one (--gdmf FILE, or feeds.gdmf in enrollgate.yaml)`,
      );
    if (e.targetBuild !== null)
      add(
        d.at(["enrolled", "targetBuild"]),
        "enrolled-build-needs-version",
        "error",
        `enrolled targetBuild ${e.targetBuild} needs a target version: target ${e.target.kind} resolves to a different version per model`,
      );
  }

  if (e.deadline.kind === "after-release" && published === undefined)
    add(
      d.at(["enrolled", "deadline", "daysAfterRelease"], "key"),
      "deadline-needs-feed",
      feedSeverity(ctx),
      `deadline: ${describeDeadline(e.deadline)} counts from Apple's release date in the GDMF feed; configure one (--gdmf FILE, or feeds.gdmf in enrollgate.yaml), or write the date`,
    );

  // Apple enforces only versions GDMF offers; seeds (beta rules) are never in it.
  if (published !== undefined && e.target.kind === "version" && r.betaProgram === null) {
    out.push(...feedFindings(d, e.target.version, e.target.text, targetAt, published, ctx));
  }

  if (ctx.now !== null) {
    const resolved =
      e.target.kind === "version" ? resolveDeadline(e.deadline, r.platform, e.target.version, published) : null;
    const instants = resolved?.ok === true ? localInstants(resolved.localDateTime) : null;
    if (resolved?.ok === true && instants !== null && instants.first <= ctx.now)
      add(
        d.at(["enrolled", "deadline"]),
        "deadline-passed",
        "warning",
        `the deadline ${resolved.localDateTime}${e.deadline.kind === "after-release" ? ` (${describeDeadline(e.deadline)})` : ""} has passed at ${new Date(ctx.now).toISOString()} on the first clocks to reach it; a device below ${e.target.kind === "version" ? e.target.text : "the target"} that gets the declaration now installs it at once`,
      );
  }

  const boardGlobs = r.platform === "macOS" ? (d.globs ?? []).filter((g) => globNames(g, r.platform).boardId) : [];
  if (boardGlobs.length > 0 || (r.platform === "macOS" && e.target.kind !== "version"))
    add(
      boardGlobs.length > 0 ? d.at(["models"]) : targetAt,
      "enrolled-board-ids",
      "warning",
      boardGlobs.length > 0
        ? `Macs report their board id (softwareupdate.device-id) from macOS 15 on: on macOS 14 the declarations for ${list(boardGlobs.map((g) => g.pattern))} never apply`
        : `target: ${e.target.kind} tells Macs apart by the board ids Apple's feed lists, which Macs report from macOS 15 on: on macOS 14 the declarations never apply`,
    );

  if (r.betaProgram !== null) {
    const from = declarationKeySupportedFrom(DECLARATION_TYPES.settings, ["Beta", "RequireProgram"], r.platform);
    if (from === null)
      add(
        d.at(["betaProgram"], "key"),
        "enrolled-beta-unsupported",
        "warning",
        `Apple's softwareupdate.settings cannot require a beta program on ${r.platform}: enrolled devices are not enrolled in "${r.betaProgram.description}" by enrollgate's declarations`,
      );
  }

  out.push(...declarationFindings(d));
  return out;
}

function feedFindings(
  d: RuleDraft,
  version: OsVersion,
  text: string,
  targetAt: ReturnType<RuleDraft["at"]>,
  published: ReadonlyArray<PublishedRelease>,
  ctx: SemanticContext,
): Finding[] {
  const r = d.rule;
  const out: Finding[] = [];
  const afterRelease =
    r.enrolled?.deadline.kind === "after-release" ? "; the deadline counts from its release, so it is unknown too" : "";
  // A supplemental target needs its base step too.
  const steps = version.extra !== null ? [baseVersion(version), version] : [version];
  for (const v of steps) {
    const label = `${r.platform} ${formatOsVersion(v)}`;
    const releases = releasesOf(published, r.platform, v);
    if (releases.length === 0) {
      out.push(
        finding(
          targetAt,
          "enrolled-target-not-in-feed",
          feedSeverity(ctx),
          `Apple's feed does not list ${label}, and Apple enforces only versions it offers: enrolled devices would never install it${v === version ? afterRelease : ""}`,
          r.id,
        ),
      );
      continue;
    }
    if (!releases.some((x) => offeredAt(x, ctx.now))) {
      out.push(
        finding(
          targetAt,
          "enrolled-target-not-in-feed",
          feedSeverity(ctx),
          `Apple's feed no longer offers ${label} (or does not yet), and Apple enforces only versions it offers`,
          r.id,
        ),
      );
      continue;
    }
    if (v !== version) continue;
    const supported = offeredModels(published, r.platform, v, ctx.now);
    const globs = r.models?.map(compileGlob) ?? null;
    const stranded = [...listedModels(published, r.platform, ctx.now)]
      .filter((m) => (globs === null || globs.some((g) => g.test(m))) && !supported.has(m))
      .sort();
    if (stranded.length > 0)
      out.push(
        finding(
          targetAt,
          "enrolled-models-without-target",
          "warning",
          `${stranded.length} ${r.platform} model${stranded.length === 1 ? "" : "s"} this rule matches cannot install ${text} per Apple's feed (${list(stranded)}): enrolled, they would keep a configuration they cannot satisfy`,
          r.id,
        ),
      );
  }
  return out;
}

/** The rule's declarations rendered once with stand-ins, against Apple's schemas; and their identifiers' length. */
function declarationFindings(d: RuleDraft): Finding[] {
  const r = d.rule;
  const e = r.enrolled;
  if (e === null) return [];
  const out: Finding[] = [];
  const version = e.target.kind === "version" ? e.target.text : r.minimumText;
  const steps = e.target.kind === "version" && e.target.version.extra !== null ? ["", ".base"] : [""];
  const payload = enforcementPayload({
    version,
    build: e.targetBuild,
    localDateTime: e.deadline.kind === "local" ? e.deadline.localDateTime : "2000-01-01T00:00:00",
    detailsURL: e.detailsURL,
  });
  const rendered: Declaration[] = [
    declaration(DECLARATION_TYPES.enforcement, declarationIdentifier("enforcement", r.id), payload),
  ];
  // Where Apple's settings cannot require a beta program, none is written (enrolled-beta-unsupported says so).
  const beta = declarationKeySupportedFrom(DECLARATION_TYPES.settings, ["Beta", "RequireProgram"], r.platform);
  if (r.betaProgram !== null && beta !== null)
    rendered.push(
      declaration(
        DECLARATION_TYPES.settings,
        declarationIdentifier("settings", r.id),
        betaSettingsPayload({ description: r.betaProgram.description, token: "token" }),
      ),
    );
  for (const decl of rendered) {
    const problem = declarationProblem(decl, r.platform);
    if (problem !== null)
      out.push(
        finding(
          d.at(["enrolled"], "key"),
          "declaration-invalid",
          "error",
          `rule "${r.id}": its ${decl.Type} declaration fails Apple's schema for ${r.platform}: ${problem}`,
          r.id,
        ),
      );
  }
  const longest = steps
    .flatMap((suffix) => [
      declarationIdentifier("enforcement", r.id) + suffix,
      declarationIdentifier("activation", r.id) + suffix,
    ])
    .sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a))[0] as string;
  if (Buffer.byteLength(longest) > MAX_IDENTIFIER_OCTETS)
    out.push(
      finding(
        d.at(["id"]),
        "declaration-identifier-too-long",
        "warning",
        `the declaration identifier ${longest} is ${Buffer.byteLength(longest)} bytes; Apple asks for at most ${MAX_IDENTIFIER_OCTETS}`,
        r.id,
      ),
    );
  return out;
}

/** Every check of the rules' `enrolled` blocks. */
export function checkEnrolled(drafts: ReadonlyArray<RuleDraft>, ctx: SemanticContext): Finding[] {
  return drafts.flatMap((d) => checkOne(d, ctx));
}
