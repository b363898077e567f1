// Apple's GDMF releases as `enrolled` blocks read them: which models of a
// platform are offered a version, when Apple posted it, and the newest full
// release each model is offered. Plain data in, plain data out.
import { platformOfProduct, type Platform } from "../apple/platform.js";
import { compareOsVersions, type OsVersion } from "../apple/version.js";
import type { PublishedRelease } from "./availability.js";

/** The feed key that lists a platform's devices (iPads and, since 26, watches and TVs are under iOS). */
function feedKey(platform: Platform): string {
  return platform === "iPadOS" || platform === "tvOS" || platform === "watchOS" ? "iOS" : platform;
}

/** Whether a device the feed lists belongs to a platform: every device under macOS is a Mac (board ids). */
export function listedOn(device: string, platform: Platform): boolean {
  return platform === "macOS" ? true : platformOfProduct(device) === platform;
}

/** Whether a release is offered at `now` (posted, not expired); at any time when `now` is null. */
export function offeredAt(r: PublishedRelease, now: number | null): boolean {
  return now === null || (r.posted <= now && (r.expires === null || now < r.expires));
}

/** Releases of exactly this version (supplemental extra included) that list a device of the platform. */
export function releasesOf(
  published: ReadonlyArray<PublishedRelease>,
  platform: Platform,
  version: OsVersion,
): PublishedRelease[] {
  const key = feedKey(platform);
  return published.filter(
    (r) =>
      r.feedPlatform === key &&
      compareOsVersions(r.version, version) === 0 &&
      [...r.devices].some((d) => listedOn(d, platform)),
  );
}

/** The day Apple first posted a version for a platform (epoch ms), or null when the feed does not list it. */
export function postedOn(
  published: ReadonlyArray<PublishedRelease>,
  platform: Platform,
  version: OsVersion,
): number | null {
  const found = releasesOf(published, platform, version);
  return found.length === 0 ? null : Math.min(...found.map((r) => r.posted));
}

/** The platform's devices offered a version at `now`. */
export function offeredModels(
  published: ReadonlyArray<PublishedRelease>,
  platform: Platform,
  version: OsVersion,
  now: number | null,
): Set<string> {
  const out = new Set<string>();
  for (const r of releasesOf(published, platform, version)) {
    if (!offeredAt(r, now)) continue;
    for (const d of r.devices) if (listedOn(d, platform)) out.add(d);
  }
  return out;
}

/** Every device of the platform the feed offers anything at `now`. */
export function listedModels(
  published: ReadonlyArray<PublishedRelease>,
  platform: Platform,
  now: number | null,
): Set<string> {
  const key = feedKey(platform);
  const out = new Set<string>();
  for (const r of published) {
    if (r.feedPlatform !== key || !offeredAt(r, now)) continue;
    for (const d of r.devices) if (listedOn(d, platform)) out.add(d);
  }
  return out;
}

/**
 * The newest full release (no supplemental extra, no prerequisite build) each
 * device of the platform is offered at `now`, within `major` when given.
 */
export function newestByModel(
  published: ReadonlyArray<PublishedRelease>,
  platform: Platform,
  now: number | null,
  major: number | null,
): Map<string, OsVersion> {
  const key = feedKey(platform);
  const out = new Map<string, OsVersion>();
  for (const r of published) {
    if (r.feedPlatform !== key || !offeredAt(r, now) || r.version.extra !== null || r.prerequisiteBuild !== null)
      continue;
    if (major !== null && r.version.major !== major) continue;
    for (const d of r.devices) {
      if (!listedOn(d, platform)) continue;
      const best = out.get(d);
      if (best === undefined || compareOsVersions(r.version, best) > 0) out.set(d, r.version);
    }
  }
  return out;
}
