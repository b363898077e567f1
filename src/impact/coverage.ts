// Coverage: for every model Apple's feed (GDMF) lists on a platform the gate
// can act on, the rule that decides it, its floor and target, whether the
// model can reach them, and (with SOFA) the actively exploited CVEs the floor
// leaves open. Pure: the compiled set, the feeds and the instant come in.
//
// Which rule decides a model: decide() for a device of that model below every
// floor (version 0, judged as for compliance, so that the error's own OS range
// does not end the decision early). Being below is monotone in the version: a
// device on any old OS is below the same rules, so the rule that decides it
// is the strictest one that can name a target the model can install (step 5,
// hand-over included). That is the model's floor; a device at or above it is
// allowed by every rule, and one between floors is decided by this rule too.
import { compareBuilds, parseBuild } from "../apple/build.js";
import { compareOsVersions, formatOsVersion, type OsVersion } from "../apple/version.js";
import { gdmfAvailability, gdmfDevices, gdmfLatest, type GdmfFeed } from "../feeds/gdmf.js";
import type { SofaFeed } from "../feeds/sofa.js";
import { sofaKindOf } from "../feeds/vulnerabilities.js";
import type { DeviceIdentity } from "../policy/availability.js";
import type { CompiledPolicySet, CompiledRule } from "../policy/compile.js";
import { decide } from "../policy/decide.js";
import type { Mode, PolicyPlatform } from "../policy/model.js";
import type { ExploitedVulnerability } from "../policy/vulnerabilities.js";
import { COVERAGE_PLATFORMS, COVERAGE_STATUSES, type CoverageStatus } from "./coverage-names.js";

/** The format tag of `coverage --format json`. */
export const COVERAGE_FORMAT = "enrollgate-coverage/1";

/** One model of a coverage report: how the policy set treats a device of it. */
export interface CoverageModel {
  readonly platform: PolicyPlatform;
  /** The identifier Apple's feed lists: a product type (iPhone17,3), or a Mac's board id (J414sAP). */
  readonly model: string;
  /** The product type (on a Mac, its model identifier, known from SOFA); null when unknown. */
  readonly product: string | null;
  /** The marketing name, from SOFA; null when unknown. */
  readonly name: string | null;
  readonly status: CoverageStatus;
  /** The rule that decides a device of this model below every floor; null when none matches. */
  readonly rule: string | null;
  readonly mode: Mode | null;
  readonly minimum: string | null;
  readonly minimumBuild: string | null;
  /** The version the 403 names for this model (latest targets resolved); null when it cannot be resolved. */
  readonly target: string | null;
  /** Whether the target is offered to this model (GDMF, and ADU when configured). */
  readonly targetAvailable: boolean | null;
  readonly whenUnavailable: "allow" | "block" | null;
  /** The newest version Apple's feed offers this model at `now`. */
  readonly newest: string | null;
  /** Whether `newest` reaches the minimum (and minimumBuild); null for a beta program's seed (GDMF lists none). */
  readonly reachesMinimum: boolean | null;
  /** Actively exploited CVEs a device at the minimum is exposed to; null without SOFA data for the model. */
  readonly exploited: ReadonlyArray<ExploitedVulnerability> | null;
  /** One line on why the status. */
  readonly note: string;
}

/** A rule of the set, and how many models it decides. */
export interface CoverageRule {
  readonly id: string;
  readonly platform: PolicyPlatform;
  readonly mode: Mode;
  readonly minimum: string;
  readonly minimumBuild: string | null;
  /** A version, `latest` or `latest-in-major`. */
  readonly target: string;
  readonly activeFrom: string | null;
  readonly description: string | null;
  /** Where it is defined (file:line:col). */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Models whose row it decides. */
  readonly models: number;
}

/** What coverage() finds: `enrollgate coverage --format json` prints it as it is. */
export interface CoverageReport {
  readonly format: typeof COVERAGE_FORMAT;
  /** The instant rules and feeds were evaluated at (ISO 8601). */
  readonly now: string;
  readonly policies: { readonly revision: string; readonly rules: number };
  readonly feeds: {
    readonly gdmf: { readonly revision: string };
    readonly sofa: ReadonlyArray<{ readonly feed: string; readonly revision: string; readonly asOf: string | null }>;
  };
  /** Models per status, and in all. */
  readonly summary: Readonly<Record<CoverageStatus, number>> & { readonly models: number };
  readonly models: ReadonlyArray<CoverageModel>;
  readonly rules: ReadonlyArray<CoverageRule>;
}

/** What coverage() needs besides the set and Apple's feed. */
export interface CoverageOptions {
  /** Epoch ms. */
  readonly now: number;
  /** SOFA snapshots: marketing names, and Macs' model identifiers (rules may name models by them). */
  readonly sofa?: ReadonlyArray<SofaFeed>;
  /** Only these platforms; default: every platform in COVERAGE_PLATFORMS. */
  readonly platforms?: ReadonlyArray<PolicyPlatform>;
}

/** Natural order: iPhone9,1 before iPhone10,1. */
export function compareModels(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x === y) continue;
    const nx = /^\d/.test(x) && /^\d/.test(y);
    if (nx && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

function minimumText(rule: CompiledRule): string {
  return `${rule.minimumText}${rule.minimumBuildText !== null ? ` (${rule.minimumBuildText})` : ""}`;
}

interface Facts {
  readonly identity: DeviceIdentity;
  readonly product: string | null;
  readonly name: string | null;
}

function factsOf(platform: PolicyPlatform, model: string, sofa: ReadonlyArray<SofaFeed>): Facts {
  const known = sofa.find((f) => f.kind === sofaKindOf(platform))?.devices.find((d) => d.id === model);
  const product = platform === "macOS" ? (known?.model ?? null) : model;
  return {
    // A Mac's product type only says it is a Mac when SOFA does not name its model.
    identity: { platform, product: product ?? "Mac", deviceId: model, build: null },
    product,
    name: known?.name ?? null,
  };
}

/** Whether the newest version offered reaches the rule's minimum (at an equal version, its minimumBuild). */
function reaches(gdmf: GdmfFeed, identity: DeviceIdentity, newest: OsVersion, rule: CompiledRule, now: number) {
  const c = compareOsVersions(newest, rule.minimum);
  if (c !== 0 || rule.minimumBuild === null) return c >= 0;
  const offered = gdmfAvailability(gdmf, identity, newest, now);
  return offered.available && compareBuilds(parseBuild(offered.release.build), rule.minimumBuild) >= 0;
}

function row(set: CompiledPolicySet, gdmf: GdmfFeed, facts: Facts, now: number): CoverageModel {
  const { identity } = facts;
  const platform = identity.platform as PolicyPlatform;
  const model = identity.deviceId as string;
  const newest = gdmfLatest(gdmf, identity, now, null);
  const first = set.errors.bands(platform)[0]?.from ?? null;
  const base = {
    platform,
    model,
    product: facts.product,
    name: facts.name,
    newest: newest === null ? null : formatOsVersion(newest),
  };
  const none = {
    rule: null,
    mode: null,
    minimum: null,
    minimumBuild: null,
    target: null,
    targetAvailable: null,
    whenUnavailable: null,
    reachesMinimum: null,
    exploited: null,
  };
  if (newest === null || (first !== null && compareOsVersions(newest, first) < 0)) {
    return {
      ...base,
      ...none,
      status: "unsupported",
      note:
        newest === null
          ? "Apple's feed offers it no version now"
          : `it cannot run ${platform} ${first === null ? "" : formatOsVersion(first)} or later, so it cannot be asked to update at enrollment`,
    };
  }
  const decision = decide(
    set,
    { product: identity.product, deviceId: model, osVersion: "0", canRequestUpdate: true },
    now,
    { purpose: "compliance" },
  );
  const rule = decision.rule === null ? undefined : set.rules.find((r) => r.id === decision.rule);
  if (rule === undefined)
    return { ...base, ...none, status: "uncovered", note: `no active ${platform} rule matches it` };

  const resolved: OsVersion | null =
    rule.target.kind === "version"
      ? rule.target.version
      : set.availability.latest(identity, now, rule.target.kind === "latest-in-major" ? rule.minimum.major : null);
  const offered =
    resolved === null
      ? { available: false as const, reason: `no ${rule.target.kind} version is offered to it` }
      : set.availability.check({
          device: identity,
          version: resolved,
          now,
          adu: rule.adu,
          betaProgram: rule.betaProgram !== null,
        });
  // A beta program delivers its seed itself; Apple's public feed never lists seeds.
  const seed = rule.betaProgram !== null;
  const reachesMinimum = seed ? null : reaches(gdmf, identity, newest, rule, now);
  const exploited =
    set.vulnerabilities?.exposure({ platform, product: identity.product, deviceId: model }, rule.minimum) ?? null;
  const passedOver = decision.considered
    .filter((c) => c.outcome === "below" && c.mode === "enforce")
    .map((c) => c.rule)
    .filter((id) => {
      const r = set.rules.find((x) => x.id === id);
      return r !== undefined && compareOsVersions(r.minimum, rule.minimum) > 0;
    });
  const fields = {
    rule: rule.id,
    mode: rule.mode,
    minimum: rule.minimumText,
    minimumBuild: rule.minimumBuildText,
    target: resolved === null ? null : formatOsVersion(resolved),
    targetAvailable: offered.available,
    whenUnavailable: rule.whenUnavailable,
    reachesMinimum,
    exploited,
  };
  const over = passedOver.length > 0 ? ` (${passedOver.join(", ")}: target not offered to it, passed over)` : "";
  const outcome =
    rule.whenUnavailable === "allow"
      ? "whenUnavailable: allow lets it enroll at any version"
      : "whenUnavailable: block keeps it from enrolling";
  if (rule.mode === "audit")
    return {
      ...base,
      ...fields,
      status: "audit-only",
      note: `only audit rules match: a device below ${minimumText(rule)} is logged, not blocked${over}`,
    };
  if (reachesMinimum === false)
    return {
      ...base,
      ...fields,
      status: "unreachable",
      note: `the newest version offered to it, ${formatOsVersion(newest)}, is below the minimum ${minimumText(rule)}; ${outcome}${over}`,
    };
  if (!offered.available)
    return {
      ...base,
      ...fields,
      status: "unreachable",
      note: `its target is not offered to it (${offered.reason}); ${outcome}${over}`,
    };
  if (exploited !== null && exploited.length > 0) {
    const fixes = [...new Set(exploited.map((o) => o.fixedIn))];
    return {
      ...base,
      ...fields,
      status: "exposed",
      note: `a device at ${rule.minimumText} is exposed to ${exploited.length} actively exploited ${exploited.length === 1 ? "vulnerability" : "vulnerabilities"}, fixed in ${fixes.join(", ")}${over}`,
    };
  }
  const notes = [
    ...(seed ? ["a beta program rule: the program delivers the seed, which Apple's public feed does not list"] : []),
    ...(over === "" ? [] : [over.slice(2, -1)]),
  ];
  return { ...base, ...fields, status: "ok", note: notes.join("; ") };
}

/**
 * Every model Apple's feed (GDMF) lists on each platform the gate can act on,
 * with the rule that decides it, its floor and target, whether the model can
 * reach them, and (when the set was compiled with SOFA) the actively exploited
 * CVEs the floor leaves open. Pure: the set, the feeds and the instant come in.
 *
 * @example
 * import { compile, coverage, formatCoverage, loadPolicySet } from "enrollgate";
 * import { parseGdmf, parseSofa, sofaVulnerabilities } from "enrollgate/feeds";
 *
 * const gdmf = parseGdmf(await readFile("gdmf.json", "utf8"));
 * const sofa = [parseSofa(await readFile("ios_data_feed.json", "utf8"))];
 * const { set } = compile(await loadPolicySet("policies"), { vulnerabilities: sofaVulnerabilities(sofa) });
 * if (set !== null) console.log(formatCoverage(coverage(set, gdmf, { now: Date.now(), sofa }), "markdown"));
 */
export function coverage(set: CompiledPolicySet, gdmf: GdmfFeed, options: CoverageOptions): CoverageReport {
  const sofa = options.sofa ?? [];
  const models: CoverageModel[] = [];
  const platforms = COVERAGE_PLATFORMS.filter((p) => options.platforms?.includes(p) ?? true);
  for (const platform of platforms) {
    const ids = [...gdmfDevices(gdmf, platform, options.now)].sort(compareModels);
    for (const id of ids) models.push(row(set, gdmf, factsOf(platform, id, sofa), options.now));
  }
  const counts = Object.fromEntries(COVERAGE_STATUSES.map((s) => [s, 0])) as Record<CoverageStatus, number>;
  for (const m of models) counts[m.status]++;
  return {
    format: COVERAGE_FORMAT,
    now: new Date(options.now).toISOString(),
    policies: { revision: set.revision, rules: set.rules.length },
    feeds: {
      gdmf: { revision: gdmf.revision },
      sofa: sofa.map((f) => ({ feed: f.kind, revision: f.revision, asOf: f.asOf })),
    },
    summary: { ...counts, models: models.length },
    models,
    rules: set.rules
      .filter((r) => platforms.includes(r.platform))
      .map((r) => ({
        id: r.id,
        platform: r.platform,
        mode: r.mode,
        minimum: r.minimumText,
        minimumBuild: r.minimumBuildText,
        target: r.target.kind === "version" ? r.target.text : r.target.kind,
        activeFrom: r.activeFrom === null ? null : new Date(r.activeFrom).toISOString(),
        description: r.description,
        file: r.source.file,
        line: r.source.line,
        column: r.source.column,
        models: models.filter((m) => m.rule === r.id).length,
      })),
  };
}
