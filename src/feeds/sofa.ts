// SOFA (macadmins/sofa), version 2: per Apple OS release, the CVEs it fixes,
// which are actively exploited, and the devices it installs on. Read from a
// snapshot of one of its feeds (ios_data_feed.json covers iOS and iPadOS,
// macos_data_feed.json macOS). A snapshot is a file a policy can name, so the
// reader is strict: only the fields enrollgate uses, each checked, every
// count capped, and anything it cannot read is an error naming the place,
// never a guess (a release skipped in silence could hide a vulnerability).
import { createHash } from "node:crypto";
import { compareOsVersions, formatOsVersion, tryParseOsVersion, type OsVersion } from "../apple/version.js";
import { DEVICE_ID, FeedError, isRecord, parseFeedJson } from "./feed-json.js";
import { indexExposure, type ExposureIndex } from "./sofa-index.js";

/** Which SOFA feed: the macOS one lists Macs by board id, the iOS one devices by product type. */
export type SofaKind = "macOS" | "iOS";

/** One release that fixes actively exploited vulnerabilities, as enrollgate uses it. */
export interface SofaRelease {
  readonly version: OsVersion;
  readonly versionText: string;
  /** The devices it installs on (board ids on macOS), after DeviceScope: universal is resolved. */
  readonly devices: ReadonlyArray<string>;
  /** The actively exploited CVEs it fixes. */
  readonly exploited: ReadonlyArray<string>;
}

export interface SofaDevice {
  /** The feed's identifier: a product type (iPhone17,3), or a Mac's board id (J414sAP). */
  readonly id: string;
  /** A Mac's model identifier (Mac14,5), from the feed's Devices map; null elsewhere. */
  readonly model: string | null;
  /** The marketing name, when the feed gives one. */
  readonly name: string | null;
}

export interface SofaCve {
  readonly id: string;
  /** In CISA's Known Exploited Vulnerabilities catalog, per SOFA. */
  readonly inKEV: boolean;
}

export interface SofaFeed {
  /** The snapshot, as messages name it. */
  readonly source: string;
  readonly kind: SofaKind;
  /** LastCheck's day (YYYY-MM-DD), or null. */
  readonly asOf: string | null;
  /** Content hash, part of the policy set's revision. */
  readonly revision: string;
  /** Releases that fix at least one actively exploited CVE, lowest version first. */
  readonly releases: ReadonlyArray<SofaRelease>;
  /** Every device the feed knows, sorted by id. */
  readonly devices: ReadonlyArray<SofaDevice>;
  /** Every actively exploited CVE, sorted by id. */
  readonly exploited: ReadonlyArray<SofaCve>;
  /** For each device, which exploited CVEs are open at which versions (sofa-index.ts). */
  readonly index: ExposureIndex;
}

/** What a snapshot may hold; past any of these it is refused, not read. */
export const SOFA_LIMITS = {
  bytes: 32 * 1024 * 1024,
  osVersions: 200,
  releases: 10_000,
  devicesPerRelease: 5_000,
  devices: 10_000,
  cvesPerRelease: 10_000,
  exploited: 5_000,
} as const;

const CVE_ID = /^CVE-\d{4}-\d{4,7}$/;
const NAME_MAX = 200;

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Reads one snapshot; every problem is a FeedError naming the snapshot and the place. */
class Reader {
  constructor(readonly source: string) {}

  fail(where: string, what: string): never {
    throw new FeedError(`${this.source}: ${where === "" ? "" : `${where} `}${what}`);
  }

  record(v: unknown, where: string): Record<string, unknown> {
    if (!isRecord(v)) this.fail(where, `is ${show(v)}, not an object`);
    return v;
  }

  list(v: unknown, where: string, max: number): unknown[] {
    if (!Array.isArray(v)) this.fail(where, `is ${show(v)}, not a list`);
    if (v.length > max) this.fail(where, `has ${v.length} entries; at most ${max} are read`);
    return v;
  }

  text(v: unknown, where: string): string {
    if (typeof v !== "string") this.fail(where, `is ${show(v)}, not a string`);
    return v;
  }

  optionalBoolean(v: unknown, where: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") this.fail(where, `is ${show(v)}, not true, false or null`);
    return v;
  }

  cve(v: unknown, where: string): string {
    if (typeof v !== "string" || !CVE_ID.test(v)) this.fail(where, `${show(v)} is not a CVE id (CVE-YYYY-NNNN)`);
    return v;
  }

  device(v: unknown, where: string): string {
    if (typeof v !== "string" || !DEVICE_ID.test(v)) this.fail(where, `${show(v)} is not a device identifier`);
    return v;
  }

  devices(v: unknown, where: string): string[] {
    if (v === undefined || v === null) return [];
    return this.list(v, where, SOFA_LIMITS.devicesPerRelease).map((d, i) => this.device(d, `${where}[${i}]`));
  }

  version(v: unknown, extra: unknown, where: string): OsVersion {
    const text = this.text(v, where);
    const withExtra = typeof extra === "string" && extra !== "" ? `${text} ${extra}` : text;
    const version = tryParseOsVersion(withExtra);
    if (version === null) this.fail(where, `${show(withExtra)} is not an OS version`);
    return version;
  }

  name(v: unknown, where: string): string | null {
    if (v === undefined || v === null) return null;
    const text = this.text(v, where);
    if (text.length > NAME_MAX || /[\u0000-\u001f\u007f]/.test(text))
      this.fail(where, `${show(text)} is not a name (at most ${NAME_MAX} characters, no control characters)`);
    return text;
  }
}

/** A release as read, before universal device lists are resolved. */
interface Draft {
  readonly version: OsVersion;
  readonly devices: string[];
  readonly universal: boolean;
  /**
   * The devices of its OS version (its Latest entry's, and any its releases list): what DeviceScope: universal with
   * no list means.
   */
  readonly line: string[];
  /** CVE ids it fixes, and those it marks actively exploited. */
  readonly cves: string[];
  readonly marked: string[];
  /** CVE ids it marks as in CISA's KEV catalog. */
  readonly kev: string[];
}

function readRelease(r: Reader, raw: unknown, where: string, line: string[]): Draft {
  const e = r.record(raw, where);
  const version = r.version(e.ProductVersion, undefined, `${where}.ProductVersion`);
  const scope = r.text(e.DeviceScope, `${where}.DeviceScope`);
  const cves = r.record(e.CVEs, `${where}.CVEs`);
  const ids = Object.keys(cves);
  if (ids.length > SOFA_LIMITS.cvesPerRelease)
    r.fail(`${where}.CVEs`, `has ${ids.length} entries; at most ${SOFA_LIMITS.cvesPerRelease} are read`);
  const marked: string[] = [];
  const kev: string[] = [];
  for (const id of ids) {
    r.cve(id, `${where}.CVEs key`);
    const detail = cves[id];
    // SOFA leaves most details empty ({}); when given, the flags must be what the schema says.
    if (detail === null || detail === undefined) continue;
    const d = r.record(detail, `${where}.CVEs.${id}`);
    if (r.optionalBoolean(d.ActivelyExploited, `${where}.CVEs.${id}.ActivelyExploited`)) marked.push(id);
    if (r.optionalBoolean(d.InKEV, `${where}.CVEs.${id}.InKEV`)) kev.push(id);
  }
  const listed = r.list(e.ActivelyExploitedCVEs, `${where}.ActivelyExploitedCVEs`, SOFA_LIMITS.cvesPerRelease);
  listed.forEach((id, i) => marked.push(r.cve(id, `${where}.ActivelyExploitedCVEs[${i}]`)));
  return {
    version,
    devices: r.devices(e.SupportedDevices, `${where}.SupportedDevices`),
    universal: scope === "universal",
    line,
    cves: [...ids, ...marked],
    marked,
    kev,
  };
}

function readKind(r: Reader, osVersions: ReadonlyArray<Record<string, unknown>>): SofaKind {
  const names = osVersions.map((v, i) =>
    r.text(r.record(v.Latest, `OSVersions[${i}].Latest`).ProductName, `OSVersions[${i}].Latest.ProductName`),
  );
  const mac = names.filter((n) => /\bmacOS\b/.test(n)).length;
  if (mac > 0 && mac < names.length)
    r.fail("OSVersions", "mixes macOS with other platforms; SOFA keeps them in separate feeds");
  return mac > 0 ? "macOS" : "iOS";
}

/**
 * Reads a SOFA v2 feed snapshot (ios_data_feed.json or macos_data_feed.json)
 * and indexes which actively exploited CVEs each device is exposed to at each
 * version. Throws a FeedError naming the problem and where it is.
 */
export function parseSofa(text: string, source = "SOFA feed"): SofaFeed {
  const r = new Reader(source);
  if (text.length > SOFA_LIMITS.bytes) r.fail("", `is larger than ${SOFA_LIMITS.bytes / 1024 / 1024} MiB`);
  const json = parseFeedJson(text, source);
  if (!isRecord(json)) throw new FeedError(`${source} is not a JSON object`);
  if (json.OSVersions === undefined || json.Devices === undefined)
    throw new FeedError(`${source} has no OSVersions and Devices: not a SOFA feed`);
  const feedVersion = r.text(json.Version, "Version");
  if (!/^2(\.|$)/.test(feedVersion))
    r.fail("Version", `is ${show(feedVersion)}; enrollgate reads version 2 of the SOFA feed`);

  const osVersions = r
    .list(json.OSVersions, "OSVersions", SOFA_LIMITS.osVersions)
    .map((v, i) => r.record(v, `OSVersions[${i}]`));
  const kind = readKind(r, osVersions);

  const drafts: Draft[] = [];
  osVersions.forEach((v, i) => {
    const where = `OSVersions[${i}]`;
    const line: string[] = [];
    const latest = readRelease(r, v.Latest, `${where}.Latest`, line);
    const releases = r
      .list(v.SecurityReleases, `${where}.SecurityReleases`, SOFA_LIMITS.releases)
      .map((e, j) => readRelease(r, e, `${where}.SecurityReleases[${j}]`, line));
    // The line's devices: its Latest entry's, and every device a release of the line lists. SOFA's Latest can
    // omit devices that only device-specific releases serve (iOS 18's Latest leaves out the iPhone XS, which
    // 18.7.10 lists), and a universal fix of the line reached them too: leaving them out would report them
    // safe from CVEs they are open to.
    const seen = new Set(latest.devices);
    for (const e of releases) for (const d of e.devices) seen.add(d);
    line.push(...[...seen].sort());
    drafts.push(latest, ...releases);
    if (drafts.length > SOFA_LIMITS.releases)
      r.fail("OSVersions", `hold more than ${SOFA_LIMITS.releases} releases; at most that many are read`);
  });
  drafts.push(...readImprovements(r, json.BackgroundSecurityImprovements));

  // Actively exploited: marked so by any release (exploitation is the CVE's, not one release's).
  const exploited = new Set(drafts.flatMap((d) => d.marked));
  if (exploited.size > SOFA_LIMITS.exploited)
    r.fail("", `marks ${exploited.size} CVEs actively exploited; at most ${SOFA_LIMITS.exploited} are read`);
  const kev = new Set(drafts.flatMap((d) => d.kev));

  // One entry per version: SOFA repeats Latest among SecurityReleases, and lists some releases twice.
  const byVersion = new Map<string, { version: OsVersion; devices: Set<string>; exploited: Set<string> }>();
  for (const d of drafts) {
    const fixes = d.cves.filter((c) => exploited.has(c));
    if (fixes.length === 0) continue;
    // A release that lists no devices but applies to all of its OS version: the devices of that version's Latest.
    const devices = d.devices.length === 0 && d.universal ? d.line : d.devices;
    const key = formatOsVersion(d.version);
    const entry = byVersion.get(key) ?? { version: d.version, devices: new Set(), exploited: new Set() };
    for (const id of devices) entry.devices.add(id);
    for (const c of fixes) entry.exploited.add(c);
    byVersion.set(key, entry);
  }
  const releases: SofaRelease[] = [...byVersion.entries()]
    .map(([versionText, e]) =>
      Object.freeze({
        version: e.version,
        versionText,
        devices: Object.freeze([...e.devices].sort()),
        exploited: Object.freeze([...e.exploited].sort()),
      }),
    )
    .sort((a, b) => compareOsVersions(a.version, b.version));

  const devices = readDevices(r, json.Devices, kind, drafts);
  const cves = [...exploited].sort().map((id) => Object.freeze({ id, inKEV: kev.has(id) }));
  const lastCheck = typeof json.LastCheck === "string" ? /^\d{4}-\d{2}-\d{2}/.exec(json.LastCheck)?.[0] : undefined;
  return Object.freeze({
    source,
    kind,
    asOf: lastCheck ?? null,
    revision: createHash("sha256").update(text).digest("hex").slice(0, 12),
    releases: Object.freeze(releases),
    devices,
    exploited: Object.freeze(cves),
    index: indexExposure(releases, cves, source),
  });
}

/** Background security improvements: a version with an extra ("26.3.1 (a)"), its devices and CVE ids. */
function readImprovements(r: Reader, raw: unknown): Draft[] {
  if (raw === undefined || raw === null) return [];
  const byMajor = r.record(raw, "BackgroundSecurityImprovements");
  const out: Draft[] = [];
  for (const [major, list] of Object.entries(byMajor)) {
    const where = `BackgroundSecurityImprovements.${major}`;
    r.list(list, where, SOFA_LIMITS.releases).forEach((raw, i) => {
      const e = r.record(raw, `${where}[${i}]`);
      const cves = e.CVEs === undefined || e.CVEs === null ? [] : r.list(e.CVEs, `${where}[${i}].CVEs`, 10_000);
      out.push({
        version: r.version(e.Version, e.VersionExtra, `${where}[${i}].Version`),
        devices: r.devices(e.SupportedDevices, `${where}[${i}].SupportedDevices`),
        universal: false,
        line: [],
        cves: cves.map((c, j) => r.cve(c, `${where}[${i}].CVEs[${j}]`)),
        marked: [],
        kev: [],
      });
      if (out.length > SOFA_LIMITS.releases)
        r.fail(where, `holds more than ${SOFA_LIMITS.releases} entries; at most that many are read`);
    });
  }
  return out;
}

/** The Devices map (identifier → marketing name, and on macOS the model identifier), and every id a release lists. */
function readDevices(r: Reader, raw: unknown, kind: SofaKind, drafts: ReadonlyArray<Draft>): ReadonlyArray<SofaDevice> {
  const map = r.record(raw, "Devices");
  const ids = Object.keys(map);
  if (ids.length > SOFA_LIMITS.devices)
    r.fail("Devices", `has ${ids.length} entries; at most ${SOFA_LIMITS.devices} are read`);
  const out = new Map<string, SofaDevice>();
  for (const id of ids) {
    r.device(id, "Devices key");
    const e = r.record(map[id], `Devices.${id}`);
    const model =
      kind === "macOS" && e.DeviceID !== undefined && e.DeviceID !== null
        ? r.device(e.DeviceID, `Devices.${id}.DeviceID`)
        : null;
    out.set(id, Object.freeze({ id, model, name: r.name(e.MarketingName, `Devices.${id}.MarketingName`) }));
  }
  for (const d of drafts) {
    for (const id of [...d.devices, ...d.line]) {
      if (!out.has(id)) out.set(id, Object.freeze({ id, model: null, name: null }));
      if (out.size > SOFA_LIMITS.devices) r.fail("", `lists more than ${SOFA_LIMITS.devices} devices`);
    }
  }
  return Object.freeze([...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
}
