// The feeds as one availability source: a target is available to a device
// when every configured source says so. GDMF also resolves `latest`.
import { formatOsVersion, compareOsVersions, type OsVersion } from "../apple/version.js";
import type { AvailabilityQuery, AvailabilitySource, DeviceIdentity } from "../policy/availability.js";
import { aduAvailability, catalogRevision, type AduCatalog } from "./adu-catalog.js";
import { feedProblems } from "./checks.js";
import { feedPlatformOf, gdmfAvailability, type GdmfFeed } from "./gdmf.js";

export interface Feeds {
  readonly gdmf?: GdmfFeed | null;
  readonly adu?: AduCatalog | null;
}

export function feedAvailability(feeds: Feeds): AvailabilitySource {
  const gdmf = feeds.gdmf ?? null;
  const adu = feeds.adu ?? null;
  const parts = [gdmf !== null ? "Apple's feed" : null, adu !== null ? "ADU" : null].filter((p) => p !== null);
  const check = (q: AvailabilityQuery) => {
    // Seeds reach a device through its beta program, never through the public feed.
    if (gdmf !== null && !q.betaProgram) {
      const a = gdmfAvailability(gdmf, q.device, q.version, q.now);
      if (!a.available) return a;
    }
    if (adu !== null && q.adu !== null) {
      const models = [
        q.device.product,
        ...(q.device.deviceId !== null && q.device.deviceId !== q.device.product ? [q.device.deviceId] : []),
      ];
      const a = aduAvailability(adu, q.adu, formatOsVersion(q.version), models);
      if (!a.available) return a;
    }
    return { available: true } as const;
  };
  const source: AvailabilitySource = {
    name: parts.length === 0 ? "no feeds" : parts.join(" and "),
    revision: `gdmf:${gdmf?.revision ?? "-"}+adu:${adu === null ? "-" : catalogRevision(adu)}`,
    resolvesLatest: gdmf !== null,
    check,
    latest(device: DeviceIdentity, now: number, major: number | null): OsVersion | null {
      if (gdmf === null) return null;
      const ids = new Set([device.product, device.deviceId].filter((i): i is string => i !== null));
      const candidates = gdmf.releases
        .filter(
          (r) =>
            r.feedPlatform === feedPlatformOf(device.platform) &&
            (major === null || r.version.major === major) &&
            [...ids].some((i) => r.devices.has(i)),
        )
        .map((r) => r.version)
        .sort((a, b) => compareOsVersions(b, a));
      // The newest version every source agrees on (rule.adu is checked by decide on the result).
      return (
        candidates.find((v) => check({ device, version: v, now, adu: null, betaProgram: false }).available) ?? null
      );
    },
    checkRule: (rule, now) => feedProblems(rule, { gdmf, adu }, now),
    ...(gdmf !== null ? { published: gdmf.releases } : {}),
  };
  return Object.freeze(source);
}
