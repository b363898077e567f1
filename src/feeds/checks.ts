// Validate-time checks of a rule against the feeds: is the target listed and
// still offered, which models the rule matches cannot install it, and is the
// ADU update imported and compatible with the models the rule names.
import { formatOsVersion, compareOsVersions } from "../apple/version.js";
import type { FeedProblem } from "../policy/availability.js";
import { compileGlob } from "../policy/glob.js";
import type { Rule } from "../policy/model.js";
import { compatibility, entriesAt, presentVersions, type AduCatalog } from "./adu-catalog.js";
import { deviceOnPlatform, feedPlatformOf, gdmfDevices, gdmfReleasesOf, offered, type GdmfFeed } from "./gdmf.js";

function list(items: string[], max = 8): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

function gdmfProblems(rule: Rule, feed: GdmfFeed, now: number | null): FeedProblem[] {
  if (rule.target.kind !== "version") {
    const key = feedPlatformOf(rule.platform);
    const any = feed.releases.some(
      (r) =>
        r.feedPlatform === key &&
        compareOsVersions(r.version, rule.minimum) >= 0 &&
        offered(r, now) &&
        [...r.devices].some((d) => deviceOnPlatform(d, rule.platform)),
    );
    return any
      ? []
      : [
          {
            code: "target-not-in-feed",
            severity: "error",
            field: "target",
            message: `Apple's feed offers no ${rule.platform} version at or above the minimum ${rule.minimumText} for target: ${rule.target.kind}`,
          },
        ];
  }
  const version = rule.target.version;
  const field = rule.target.text === rule.minimumText ? "minimum" : "target";
  const label = `${rule.platform} ${formatOsVersion(version)}`;
  const releases = gdmfReleasesOf(feed, rule.platform, version);
  if (releases.length === 0)
    return [{ code: "target-not-in-feed", severity: "error", field, message: `Apple's feed does not list ${label}` }];
  const live = releases.filter((r) => offered(r, now));
  if (live.length === 0) {
    const last = Math.max(...releases.map((r) => r.expires ?? 0));
    const when =
      last > 0 ? ` (it expired after ${new Date(last - 1).toISOString().slice(0, 10)})` : " (it is not posted yet)";
    return [
      { code: "target-expired", severity: "error", field, message: `Apple's feed no longer offers ${label}${when}` },
    ];
  }
  const supported = new Set(live.flatMap((r) => [...r.devices]));
  const globs = rule.models?.map(compileGlob) ?? null;
  const matched = [...gdmfDevices(feed, rule.platform, now)]
    .filter((d) => globs === null || globs.some((g) => g.test(d)))
    .sort();
  const stranded = matched.filter((d) => !supported.has(d));
  if (stranded.length === 0) return [];
  const outcome =
    rule.whenUnavailable === "block"
      ? "whenUnavailable: block keeps them from enrolling"
      : "whenUnavailable: allow lets them enroll (or a less strict rule decides)";
  return [
    {
      code: "models-without-target",
      severity: "warning",
      field,
      message: `${stranded.length} ${rule.platform} model${stranded.length === 1 ? "" : "s"} this rule matches cannot install ${formatOsVersion(version)} per Apple's feed (${list(stranded)}); ${outcome}`,
    },
  ];
}

function aduProblems(rule: Rule, catalog: AduCatalog): FeedProblem[] {
  const ref = rule.adu;
  if (ref === null) return [];
  const id = `${ref.provider}/${ref.name}`;
  if (rule.target.kind !== "version") {
    return presentVersions(catalog, ref).length > 0
      ? []
      : [
          {
            code: "adu-update-missing",
            severity: "error",
            field: "adu",
            message: `no version of ADU update ${id} is imported`,
          },
        ];
  }
  const version = rule.target.text;
  const entry = entriesAt(catalog, ref, version)[0];
  if (entry === undefined || entry.status === "not-imported") {
    return [
      {
        code: "adu-update-missing",
        severity: "error",
        field: "adu",
        message: `ADU update ${id}/${version} is not imported${entry?.problem !== undefined ? ` (${entry.problem})` : ""}`,
      },
    ];
  }
  if (entry.status === "unknown") {
    return [
      {
        code: "adu-unknown",
        severity: "warning",
        field: "adu",
        message: `whether ADU update ${id}/${version} is imported is unknown: ${entry.problem ?? "ADU did not answer"}`,
      },
    ];
  }
  const problems: FeedProblem[] = [];
  const patterns = rule.models ?? ["*"];
  for (const pattern of patterns) {
    const glob = compileGlob(pattern);
    const exact = compatibility(entry, ref.manufacturer, [pattern], (_p, candidate) => glob.test(candidate));
    if (exact === "exact") continue;
    const loose = compatibility(entry, ref.manufacturer, [pattern], (_p, candidate) =>
      glob.testIgnoringCase(candidate),
    );
    const what = pattern === "*" ? `any ${ref.manufacturer} model` : `${ref.manufacturer} ${pattern}`;
    problems.push(
      exact === "case-only" || loose !== "none"
        ? {
            code: "adu-case-mismatch",
            severity: "warning",
            field: "adu",
            message: `ADU update ${id}/${version} lists ${what} only in different letter case; ADU matches exactly, so it does not count`,
          }
        : {
            code: "adu-incompatible",
            severity: "error",
            field: "adu",
            message: `ADU update ${id}/${version} has no compatibility entry for ${what}`,
          },
    );
  }
  return problems;
}

/**
 * Models the feed lists only in another letter case (`J414SAP` for
 * `J414sAP`): rules match model ids exactly, so such a rule never applies to
 * the device it names.
 */
function caseProblems(rule: Rule, feed: GdmfFeed): FeedProblem[] {
  if (rule.models === null) return [];
  const devices = [...gdmfDevices(feed, rule.platform, null)];
  const out: FeedProblem[] = [];
  rule.models.forEach((pattern, index) => {
    const glob = compileGlob(pattern);
    if (devices.some((d) => glob.test(d))) return;
    const spelt = devices.filter((d) => glob.testIgnoringCase(d)).sort();
    if (spelt.length === 0) return;
    out.push({
      code: "model-case-mismatch",
      severity: "warning",
      field: "models",
      index,
      message: `model "${pattern}" matches no ${rule.platform} device in Apple's feed, which lists ${list(
        spelt.map((d) => `"${d}"`),
        3,
      )}: models match in exact letter case, so this rule never applies to ${spelt.length === 1 ? "it" : "them"}`,
    });
  });
  return out;
}

export function feedProblems(
  rule: Rule,
  feeds: { gdmf: GdmfFeed | null; adu: AduCatalog | null },
  now: number | null,
): FeedProblem[] {
  // A beta program delivers its seed itself: Apple's public feed never lists seeds.
  const gdmf = feeds.gdmf !== null && rule.betaProgram === null ? gdmfProblems(rule, feeds.gdmf, now) : [];
  const cases = feeds.gdmf !== null ? caseProblems(rule, feeds.gdmf) : [];
  return [...cases, ...gdmf, ...(feeds.adu !== null ? aduProblems(rule, feeds.adu) : [])];
}
