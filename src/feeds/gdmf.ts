// Apple's software update feed (https://gdmf.apple.com/v2/pmv): which OS
// versions are available to which devices, and until when. Parsed from the
// JSON body, as fetched or as a snapshot file.
import { createHash } from "node:crypto";
import { DEVICE_ID, FeedError, isRecord, parseFeedJson } from "./feed-json.js";
import { printable } from "../printable.js";
import { compareBuilds, tryParseBuild } from "../apple/build.js";
import type { Platform } from "../apple/platform.js";
import { compareOsVersions, formatOsVersion, withSupplementalExtra, type OsVersion } from "../apple/version.js";
import { parsePolicyDate } from "../policy/dates.js";

export { FeedError } from "./feed-json.js";

/**
 * The asset sets enrollgate reads. Background security improvements were called rapid security responses before 2026.
 */
export const GDMF_SETS = [
  "PublicAssetSets",
  "AssetSets",
  "PublicBackgroundSecurityImprovements",
  "PublicRapidSecurityResponses",
] as const;
export type GdmfSet = (typeof GDMF_SETS)[number];

export interface GdmfRelease {
  readonly set: GdmfSet;
  /** The feed's platform key: iOS (iPhone, iPad, Watch, TV...), macOS, visionOS. */
  readonly feedPlatform: string;
  readonly version: OsVersion;
  readonly versionText: string;
  readonly build: string;
  /** For a background security improvement: the build it installs on top of. */
  readonly prerequisiteBuild: string | null;
  /** Epoch ms: the first instant it is offered. */
  readonly posted: number;
  /** Epoch ms: the first instant it is no longer offered (the day after ExpirationDate), or null. */
  readonly expires: number | null;
  readonly devices: ReadonlySet<string>;
}

export interface GdmfFeed {
  readonly releases: ReadonlyArray<GdmfRelease>;
  /** Content hash, part of the policy set's revision. */
  readonly revision: string;
  /** Entries the parser could not read, named. */
  readonly skipped: ReadonlyArray<string>;
}

/** The feed platform key that lists a policy platform's devices. */
export function feedPlatformOf(platform: Platform): string {
  return platform === "iPadOS" || platform === "tvOS" || platform === "watchOS" ? "iOS" : platform;
}

/** Whether a feed device identifier belongs to a platform (the iOS key mixes iPhones, iPads, watches and more). */
export function deviceOnPlatform(device: string, platform: Platform): boolean {
  switch (platform) {
    case "iOS":
      return device.startsWith("iPhone") || device.startsWith("iPod");
    case "iPadOS":
      return device.startsWith("iPad");
    case "visionOS":
      return device.startsWith("RealityDevice");
    case "tvOS":
      return device.startsWith("AppleTV");
    case "watchOS":
      return device.startsWith("Watch");
    case "macOS":
      return true;
  }
}

const MAX_FEED_BYTES = 32 * 1024 * 1024;

/** Parses the feed's JSON; entries it cannot read are skipped and named, a feed it cannot read at all is an error. */
export function parseGdmf(text: string, source = "GDMF feed"): GdmfFeed {
  if (text.length > MAX_FEED_BYTES) throw new FeedError(`${source} is larger than ${MAX_FEED_BYTES / 1024 / 1024} MiB`);
  const json = parseFeedJson(text, source);
  if (!isRecord(json)) throw new FeedError(`${source} is not a JSON object`);
  if (!GDMF_SETS.some((s) => s in json))
    throw new FeedError(`${source} has none of ${GDMF_SETS.join(", ")}: not a GDMF feed`);
  const releases: GdmfRelease[] = [];
  const skipped: string[] = [];
  for (const set of GDMF_SETS) {
    const byPlatform = json[set];
    if (byPlatform === undefined) continue;
    if (!isRecord(byPlatform)) throw new FeedError(`${source}: ${set} is not an object of platforms`);
    for (const [feedPlatform, entries] of Object.entries(byPlatform)) {
      if (!Array.isArray(entries)) throw new FeedError(`${source}: ${set}.${feedPlatform} is not a list`);
      entries.forEach((e: unknown, i) => {
        const where = `${set}.${feedPlatform}[${i}]`;
        if (!isRecord(e)) return void skipped.push(`${where}: not an object`);
        const extra = typeof e.ProductVersionExtra === "string" ? e.ProductVersionExtra : undefined;
        let version: OsVersion | null;
        try {
          version = typeof e.ProductVersion === "string" ? withSupplementalExtra(e.ProductVersion, extra) : null;
        } catch {
          version = null;
        }
        const posted = typeof e.PostingDate === "string" ? parsePolicyDate(e.PostingDate) : null;
        const expires = typeof e.ExpirationDate === "string" ? parsePolicyDate(e.ExpirationDate) : null;
        const devices = Array.isArray(e.SupportedDevices)
          ? e.SupportedDevices.filter((d): d is string => {
              // Model ids are printed (coverage tables, pull-request comments): only ids that look like ones.
              if (typeof d === "string" && DEVICE_ID.test(d)) return true;
              skipped.push(
                `${where}: SupportedDevices entry ${printable(JSON.stringify(d) ?? "")} is not a device identifier`,
              );
              return false;
            })
          : null;
        if (version === null)
          return void skipped.push(`${where}: ProductVersion ${JSON.stringify(e.ProductVersion)} is not an OS version`);
        if (typeof e.Build !== "string") return void skipped.push(`${where}: no Build`);
        if (posted === null)
          return void skipped.push(`${where}: PostingDate ${JSON.stringify(e.PostingDate)} is not a date`);
        if (devices === null) return void skipped.push(`${where}: no SupportedDevices`);
        if (e.ExpirationDate !== undefined && expires === null)
          return void skipped.push(`${where}: ExpirationDate ${JSON.stringify(e.ExpirationDate)} is not a date`);
        releases.push(
          Object.freeze({
            set,
            feedPlatform,
            version,
            versionText: formatOsVersion(version),
            build: e.Build,
            prerequisiteBuild: typeof e.PrerequisiteBuild === "string" ? e.PrerequisiteBuild : null,
            posted: posted.start,
            expires: expires?.end ?? null,
            devices: new Set(devices),
          }),
        );
      });
    }
  }
  const revision = createHash("sha256").update(text).digest("hex").slice(0, 12);
  return Object.freeze({ releases: Object.freeze(releases), revision, skipped: Object.freeze(skipped) });
}

/** Whether a release is offered at `now` (posted, not yet expired); any time when `now` is null. */
export function offered(r: GdmfRelease, now: number | null): boolean {
  return now === null || (r.posted <= now && (r.expires === null || now < r.expires));
}

export interface GdmfDevice {
  readonly platform: Platform;
  readonly product: string;
  /** SOFTWARE_UPDATE_DEVICE_ID; a Mac's board id. */
  readonly deviceId: string | null;
  /** The build the device runs, for security improvements that need a prerequisite build. */
  readonly build: string | null;
}

/** The identifiers the feed may list a device under: board ids on Macs, the product type elsewhere. */
function identifiers(device: GdmfDevice): string[] {
  const ids = device.deviceId !== null ? [device.deviceId] : [];
  if (device.platform !== "macOS" && device.product !== device.deviceId) ids.push(device.product);
  return ids;
}

export type GdmfAnswer =
  { readonly available: true; readonly release: GdmfRelease } | { readonly available: false; readonly reason: string };

/** Whether version V (with its extra) is offered to device D at time T. */
export function gdmfAvailability(feed: GdmfFeed, device: GdmfDevice, version: OsVersion, now: number): GdmfAnswer {
  const ids = identifiers(device);
  const label = formatOsVersion(version);
  if (ids.length === 0)
    return {
      available: false,
      reason: `the device did not report SOFTWARE_UPDATE_DEVICE_ID, so Apple's feed cannot confirm ${label} for it`,
    };
  const same = gdmfReleasesOf(feed, device.platform, version);
  if (same.length === 0) return { available: false, reason: `Apple's feed does not list ${device.platform} ${label}` };
  const forDevice = same.filter((r) => ids.some((id) => r.devices.has(id)));
  if (forDevice.length === 0)
    return { available: false, reason: `Apple's feed does not offer ${label} to ${ids.join(" / ")}` };
  const current = forDevice.filter((r) => offered(r, now));
  if (current.length === 0)
    return {
      available: false,
      reason: `Apple's feed offered ${label} to ${ids.join(" / ")} only until ${new Date(Math.max(...forDevice.map((r) => r.expires ?? 0)) - 1).toISOString().slice(0, 10)}`,
    };
  const installable = current.filter(
    (r) => r.prerequisiteBuild === null || prerequisiteMet(r.prerequisiteBuild, device.build),
  );
  if (installable.length === 0) {
    const needs = [...new Set(current.map((r) => r.prerequisiteBuild))].join(" or ");
    return {
      available: false,
      reason: `${label} installs only on build ${needs}; the device runs ${device.build ?? "an unknown build"}`,
    };
  }
  return { available: true, release: installable[0] as GdmfRelease };
}

function prerequisiteMet(prerequisite: string, build: string | null): boolean {
  const want = tryParseBuild(prerequisite);
  const have = tryParseBuild(build);
  return want !== null && have !== null && compareBuilds(want, have) === 0;
}

/** The newest version offered to a device now, optionally within one major version. */
export function gdmfLatest(feed: GdmfFeed, device: GdmfDevice, now: number, major: number | null): OsVersion | null {
  let best: OsVersion | null = null;
  for (const r of feed.releases) {
    if (r.feedPlatform !== feedPlatformOf(device.platform) || (major !== null && r.version.major !== major)) continue;
    if (best !== null && compareOsVersions(r.version, best) <= 0) continue;
    if (gdmfAvailability(feed, device, r.version, now).available) best = r.version;
  }
  return best;
}

/** Every device identifier the feed lists for a platform, with a release offered at `now`. */
export function gdmfDevices(feed: GdmfFeed, platform: Platform, now: number | null): Set<string> {
  const key = feedPlatformOf(platform);
  const out = new Set<string>();
  for (const r of feed.releases) {
    if (r.feedPlatform !== key || !offered(r, now)) continue;
    for (const d of r.devices) if (deviceOnPlatform(d, platform)) out.add(d);
  }
  return out;
}

/**
 * Releases of exactly this version for the platform. Since version 26 the
 * feed's iOS key carries watchOS and tvOS releases with the same numbers, so
 * a release counts only if it lists a device of the platform.
 */
export function gdmfReleasesOf(feed: GdmfFeed, platform: Platform, version: OsVersion): GdmfRelease[] {
  const key = feedPlatformOf(platform);
  return feed.releases.filter(
    (r) =>
      r.feedPlatform === key &&
      compareOsVersions(r.version, version) === 0 &&
      [...r.devices].some((d) => deviceOnPlatform(d, platform)),
  );
}

/** The OS version a build is, per the feed (forks of one build count as it); null when the feed does not list it. */
export function gdmfBuildVersion(feed: GdmfFeed, build: string): OsVersion | null {
  const wanted = tryParseBuild(build);
  if (wanted === null) return null;
  for (const r of feed.releases) {
    const b = tryParseBuild(r.build);
    if (b !== null && compareBuilds(b, wanted) === 0) return r.version;
  }
  return null;
}
