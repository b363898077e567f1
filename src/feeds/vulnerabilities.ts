// SOFA snapshots as the policy set's vulnerability source: which actively
// exploited CVEs a device is exposed to, and which ones a rule's minimum
// leaves open on the models it matches (`floor-leaves-exploited`).
// Releases are matched to devices by the devices they list (board ids on
// Macs), never by version number alone.
import type { Platform } from "../apple/platform.js";
import { compareOsVersions, formatOsVersion, tryParseOsVersion, type OsVersion } from "../apple/version.js";
import type { FeedProblem } from "../policy/availability.js";
import { compileGlob } from "../policy/glob.js";
import type { Rule } from "../policy/model.js";
import type { ExploitedVulnerability, ExposedDevice, VulnerabilitySource } from "../policy/vulnerabilities.js";
import { deviceOnPlatform, FeedError } from "./gdmf.js";
import type { SofaDevice, SofaFeed, SofaKind } from "./sofa.js";
import { openAt } from "./sofa-index.js";

/** The SOFA feed that describes a platform: macOS's own, or the iOS feed (iPhone, iPad, and any other product type). */
export function sofaKindOf(platform: Platform): SofaKind {
  return platform === "macOS" ? "macOS" : "iOS";
}

interface Indexed {
  readonly feed: SofaFeed;
  readonly known: ReadonlyMap<string, SofaDevice>;
  /** Mac model identifier → its board ids (a Mac that reports no board id is found by its model). */
  readonly boardsOf: ReadonlyMap<string, ReadonlyArray<string>>;
}

function indexed(feed: SofaFeed): Indexed {
  const boardsOf = new Map<string, string[]>();
  for (const d of feed.devices) {
    if (d.model === null) continue;
    const list = boardsOf.get(d.model);
    if (list === undefined) boardsOf.set(d.model, [d.id]);
    else list.push(d.id);
  }
  return { feed, known: new Map(feed.devices.map((d) => [d.id, d])), boardsOf };
}

/** The feed's identifiers for a device: its board id on a Mac (or the boards of its model), else its product type. */
function idsOf(x: Indexed, device: ExposedDevice): string[] {
  if (x.feed.kind === "macOS") {
    if (device.deviceId !== null && x.known.has(device.deviceId)) return [device.deviceId];
    return [...(x.boardsOf.get(device.product) ?? [])];
  }
  for (const id of [device.deviceId, device.product]) if (id !== null && x.known.has(id)) return [id];
  return [];
}

function exposureOf(x: Indexed, id: string, version: OsVersion): ReadonlyArray<ExploitedVulnerability> {
  const e = x.feed.index.get(id);
  return e === undefined ? [] : openAt(e, version);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function joinAnd(items: ReadonlyArray<string>): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1] ?? ""}`;
}

/** Groups open CVEs by the releases that fix them: "CVE-A and CVE-B fixed in 26.1; CVE-C fixed in 18.7.2 or 26.2". */
export function describeOpen(open: ReadonlyMap<string, ReadonlySet<string>>, max = 12): string {
  const byFix = new Map<string, string[]>();
  for (const [cve, fixes] of [...open.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const key = [...fixes]
      .map((f) => ({ f, v: tryParseOsVersion(f) }))
      .sort((a, b) => (a.v !== null && b.v !== null ? compareOsVersions(a.v, b.v) : a.f < b.f ? -1 : 1))
      .map((x) => x.f)
      .join(" or ");
    byFix.set(key, [...(byFix.get(key) ?? []), cve]);
  }
  const groups = [...byFix.entries()].sort((a, b) => {
    const va = tryParseOsVersion(a[0].split(" or ")[0]);
    const vb = tryParseOsVersion(b[0].split(" or ")[0]);
    return va !== null && vb !== null ? compareOsVersions(va, vb) : a[0] < b[0] ? -1 : 1;
  });
  const parts: string[] = [];
  let shown = 0;
  for (const [fix, cves] of groups) {
    if (shown >= max) break;
    const take = cves.slice(0, max - shown);
    shown += take.length;
    parts.push(`${joinAnd(take)} fixed in ${fix}`);
  }
  const rest = open.size - shown;
  return `${parts.join("; ")}${rest > 0 ? `; and ${rest} more` : ""}`;
}

/** SOFA snapshots (at most one per feed: iOS, macOS) as a VulnerabilitySource. */
export function sofaVulnerabilities(feeds: ReadonlyArray<SofaFeed>): VulnerabilitySource {
  const byKind = new Map<SofaKind, Indexed>();
  for (const feed of feeds) {
    const other = byKind.get(feed.kind);
    if (other !== undefined)
      throw new FeedError(
        `${other.feed.source} and ${feed.source} are both SOFA's ${feed.kind} feed; give one snapshot per feed`,
      );
    byKind.set(feed.kind, indexed(feed));
  }
  const days = [...new Set(feeds.map((f) => f.asOf).filter((d) => d !== null))].sort();
  const exposure = (device: ExposedDevice, version: OsVersion): ReadonlyArray<ExploitedVulnerability> | null => {
    const x = byKind.get(sofaKindOf(device.platform));
    if (x === undefined) return null;
    const ids = idsOf(x, device);
    if (ids.length === 0) return null;
    if (ids.length === 1) return exposureOf(x, ids[0] as string, version);
    // A Mac known only by a model that several boards share: what is open on any of them.
    const merged = new Map<string, ExploitedVulnerability>();
    for (const id of ids) for (const o of exposureOf(x, id, version)) if (!merged.has(o.cve)) merged.set(o.cve, o);
    return [...merged.values()].sort((a, b) => (a.cve < b.cve ? -1 : 1));
  };
  return Object.freeze({
    name: `SOFA${days.length > 0 ? ` (${days.join(", ")})` : ""}`,
    revision: `sofa:${feeds.map((f) => f.revision).join("+")}`,
    exposure,
    checkRule: (rule: Rule) => {
      const x = byKind.get(sofaKindOf(rule.platform));
      return x === undefined ? [] : floorProblems(rule, x);
    },
  });
}

/** The models of the feed a rule matches: by the feed's identifier, or (on a Mac) its model identifier. */
export function sofaModels(feed: SofaFeed, rule: Pick<Rule, "platform" | "models">): SofaDevice[] {
  const globs = rule.models?.map(compileGlob) ?? null;
  return feed.devices.filter(
    (d) =>
      deviceOnPlatform(d.id, rule.platform) &&
      (globs === null || globs.some((g) => g.test(d.id) || (d.model !== null && g.test(d.model)))),
  );
}

/** floor-leaves-exploited: the actively exploited CVEs a device at the rule's minimum is exposed to, per model. */
function floorProblems(rule: Rule, x: Indexed): FeedProblem[] {
  const models = sofaModels(x.feed, rule);
  const open = new Map<string, Set<string>>();
  const kev = new Set<string>();
  let exposed = 0;
  let highest: OsVersion | null = null;
  for (const m of models) {
    const list = exposureOf(x, m.id, rule.minimum);
    if (list.length > 0) exposed++;
    for (const o of list) {
      const fixes = open.get(o.cve) ?? new Set<string>();
      fixes.add(o.fixedIn);
      open.set(o.cve, fixes);
      if (o.inKEV) kev.add(o.cve);
      const v = tryParseOsVersion(o.fixedIn);
      if (v !== null && (highest === null || compareOsVersions(v, highest) > 0)) highest = v;
    }
  }
  if (open.size === 0) return [];
  // Suggest a minimum only within the minimum's own major version (moving a
  // floor to another major strands models that stop short of it), and only
  // when it closes every one of them on every model.
  const raise = highest;
  const closes =
    raise !== null &&
    raise.major === rule.minimum.major &&
    models.every((m) => exposureOf(x, m.id, raise).length === 0);
  const inKev =
    kev.size === open.size ? "all in CISA's KEV catalog" : kev.size === 0 ? "" : `${kev.size} in CISA's KEV catalog`;
  return [
    {
      code: "floor-leaves-exploited",
      severity: "warning",
      field: "minimum",
      message:
        `minimum ${rule.minimumText} leaves ${open.size} actively exploited ${open.size === 1 ? "vulnerability" : "vulnerabilities"} open ` +
        `on ${exposed} of the ${plural(models.length, `${rule.platform} model`)} this rule matches, per SOFA${x.feed.asOf === null ? "" : ` of ${x.feed.asOf}`}` +
        `${inKev === "" ? "" : ` (${inKev})`}: ${describeOpen(open)}` +
        `${closes && raise !== null ? `; a minimum of ${formatOsVersion(raise)} closes ${open.size === 1 ? "it" : "them"}` : ""}`,
    },
  ];
}
