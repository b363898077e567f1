// The SOFA feed (v2): the real snapshots in ../shared/feeds/sofa-2026-08-22/,
// releases matched to devices by the devices they list, and hostile snapshots.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseOsVersion } from "enrollgate/apple";
import { FeedError, parseSofa, SOFA_LIMITS, sofaVulnerabilities, type SofaFeed } from "enrollgate/feeds";
import type { ExposedDevice } from "enrollgate/policy";
import { compileFiles, ruleFile } from "../helpers/policies.js";
import { readShared } from "../helpers/shared.js";

const IOS = parseSofa(readShared("feeds", "sofa-2026-08-22", "ios_data_feed.json"), "ios_data_feed.json");
const MAC = parseSofa(readShared("feeds", "sofa-2026-08-22", "macos_data_feed.json"), "macos_data_feed.json");
const SOURCE = sofaVulnerabilities([IOS, MAC]);

const iphone = (product: string): ExposedDevice => ({ platform: "iOS", product, deviceId: product });
const open = (device: ExposedDevice, version: string) =>
  SOURCE.exposure(device, parseOsVersion(version))?.map((o) => `${o.cve}@${o.fixedIn}`) ?? null;

describe("reading SOFA snapshots", () => {
  it("reads both feeds: kind, date, and the releases that fix actively exploited CVEs", () => {
    expect([IOS.kind, IOS.asOf, MAC.kind, MAC.asOf]).toEqual(["iOS", "2026-08-22", "macOS", "2026-08-22"]);
    const r263 = IOS.releases.find((r) => r.versionText === "26.3");
    expect(r263?.exploited).toEqual(["CVE-2025-14174", "CVE-2025-43529", "CVE-2026-20700"]);
    expect(IOS.exploited.find((c) => c.id === "CVE-2026-20700")?.inKEV).toBe(true);
    expect(SOURCE.name).toBe("SOFA (2026-08-22)");
  });

  it("a universal release that lists no devices applies to its major version's devices (Latest's, and the line's)", () => {
    // iOS 26.3 lists no devices; iOS 26's Latest (26.6.1) lists the iPhone 16.
    expect(IOS.releases.find((r) => r.versionText === "26.3")?.devices).toContain("iPhone17,3");
    // iOS 18.7.2 lists none; 18's Latest omits the iPhone XS, which 18.7.10 lists: 18.7.2's fix reached it too.
    const r1872 = IOS.releases.find((r) => r.versionText === "18.7.2");
    expect(r1872?.devices).toContain("iPhone11,2");
    expect(r1872?.devices).toContain("iPhone16,1");
    expect(open(iphone("iPhone11,2"), "18.7.1")).toEqual([
      "CVE-2025-14174@18.7.3",
      "CVE-2025-43510@18.7.2",
      "CVE-2025-43520@18.7.2",
      "CVE-2025-43529@18.7.3",
    ]);
  });

  it("a device on its line's fixed release is not exposed, though an older line's fix is numbered lower", () => {
    expect(open(iphone("iPhone17,3"), "26.1")).toEqual([
      "CVE-2025-14174@26.2",
      "CVE-2025-43529@26.2",
      "CVE-2026-20700@26.3",
    ]);
    expect(open(iphone("iPhone17,3"), "26.3")).toEqual([]);
    expect(open(iphone("iPhone17,3"), "26.6.1")).toEqual([]);
    // 18.7.3 fixes CVE-2025-14174, but 26.1 shipped before it: a device on 26.1 is still open.
    expect(open(iphone("iPhone17,3"), "18.7.3")).not.toContain("CVE-2025-14174@18.7.3");
    expect(open(iphone("iPhone17,3"), "18.7.2")).toContain("CVE-2025-14174@18.7.3");
  });

  it("matches releases by the devices they list, never by version number alone", () => {
    // macOS 26.x numbers are shared with iOS 26.x: an iPhone never takes a Mac's fixes, nor a Mac an iPhone's.
    const mac: ExposedDevice = { platform: "macOS", product: "Mac14,2", deviceId: "J413AP" };
    expect(open(mac, "15.6")).toContain("CVE-2026-65400@15.7.9");
    expect(open(iphone("iPhone17,3"), "15.6")?.some((c) => c.endsWith("@15.7.9"))).toBe(false);
    // A Mac without its board id is found by its model identifier (the Devices map); an unknown one is unknown.
    expect(open({ platform: "macOS", product: "Mac14,2", deviceId: null }, "15.6")).toContain("CVE-2026-65400@15.7.9");
    expect(open({ platform: "macOS", product: "Mac99,9", deviceId: "Z999AP" }, "15.6")).toBeNull();
    expect(open(iphone("iPhone99,1"), "26.1")).toBeNull();
    expect(open({ platform: "visionOS", product: "RealityDevice14,1", deviceId: null }, "26.0")).toBeNull();
  });

  it("refuses two snapshots of the same feed", () => {
    expect(() => sofaVulnerabilities([IOS, IOS])).toThrow(/both SOFA's iOS feed; give one snapshot per feed/);
  });
});

describe("hostile and broken snapshots: a FeedError naming the place, never a crash", () => {
  const release = (over: Record<string, unknown> = {}) => ({
    ProductVersion: "26.3",
    DeviceScope: "universal",
    CVEs: { "CVE-2026-20700": { ActivelyExploited: true, InKEV: true } },
    ActivelyExploitedCVEs: ["CVE-2026-20700"],
    SupportedDevices: ["iPhone17,3"],
    ...over,
  });
  const feed = (releases: unknown[], over: Record<string, unknown> = {}) =>
    JSON.stringify({
      Version: "2.0",
      LastCheck: "2026-08-22T00:00:00Z",
      OSVersions: [
        { OSVersion: "26", Latest: { ...release(), ProductName: "iOS and iPadOS 26" }, SecurityReleases: releases },
      ],
      Devices: {},
      ...over,
    });

  it.each([
    ["not JSON", "{", /^x\.json is not JSON/],
    ["truncated", feed([release()]).slice(0, 300), /^x\.json is not JSON/],
    ["a list", "[]", /^x\.json is not a JSON object/],
    ["another feed", JSON.stringify({ OSVersions: [] }), /not a SOFA feed/],
    ["version 1", feed([], { Version: "1.0" }), /Version is "1\.0"; enrollgate reads version 2/],
    [
      "a CVE id that is not one",
      feed([release({ CVEs: { "<script>": {} } })]),
      /SecurityReleases\[0\]\.CVEs key "<script>" is not a CVE id/,
    ],
    [
      "a flag that is a string",
      feed([release({ CVEs: { "CVE-2026-1000": { ActivelyExploited: "yes" } } })]),
      /ActivelyExploited is "yes", not true, false or null/,
    ],
    [
      "a bad version",
      feed([release({ ProductVersion: "26.x" })]),
      /SecurityReleases\[0\]\.ProductVersion "26\.x" is not an OS version/,
    ],
    [
      "a device id with a newline",
      feed([release({ SupportedDevices: ["iPhone\n17,3"] })]),
      /SupportedDevices\[0\] "iPhone\\n17,3" is not a device identifier/,
    ],
    [
      "devices that are not a list",
      feed([release({ SupportedDevices: "iPhone17,3" })]),
      /SupportedDevices is "iPhone17,3", not a list/,
    ],
    ["a release that is null", feed([null]), /SecurityReleases\[0\] is null, not an object/],
    [
      "too many releases",
      feed(Array.from({ length: SOFA_LIMITS.releases + 1 }, () => ({}))),
      /has 10001 entries; at most 10000 are read/,
    ],
    [
      "a control character in a name",
      feed([], { Devices: { "iPhone17,3": { MarketingName: "a\u001b[2Jb" } } }),
      /MarketingName .* is not a name/,
    ],
    [
      "mixed platforms",
      feed([], {
        OSVersions: [
          { OSVersion: "26", Latest: { ...release(), ProductName: "macOS Tahoe 26" }, SecurityReleases: [] },
          { OSVersion: "18", Latest: { ...release(), ProductName: "iOS 18" }, SecurityReleases: [] },
        ],
      }),
      /mixes macOS with other platforms/,
    ],
  ])("%s", (_name, text, message) => {
    expect(() => parseSofa(text, "x.json")).toThrow(FeedError);
    expect(() => parseSofa(text, "x.json")).toThrow(message);
  });

  it("anything JSON at any place is a FeedError or a feed, never another exception", () => {
    const good = JSON.parse(feed([release()])) as Record<string, unknown>;
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom("OSVersions", "Devices", "Version", "BackgroundSecurityImprovements"),
        (value, key) => {
          try {
            parseSofa(JSON.stringify({ ...good, [key]: value }), "x.json");
          } catch (e) {
            expect(e).toBeInstanceOf(FeedError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a snapshot pairing too many devices, releases and CVEs is refused, not indexed for minutes", () => {
    const devices = Array.from({ length: 4000 }, (_, i) => `iPhone${i},1`);
    const cves = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`CVE-2026-${10000 + i}`, { ActivelyExploited: true }]),
    );
    const releases = Array.from({ length: 3 }, (_, i) =>
      release({ ProductVersion: `26.${i + 1}`, SupportedDevices: devices, CVEs: cves, ActivelyExploitedCVEs: [] }),
    );
    expect(() => parseSofa(feed(releases), "big.json")).toThrow(/big\.json is too large to index/);
  });
});

describe("floor-leaves-exploited", () => {
  const compileWith = (minimum: string, models?: string[], options: { feeds?: SofaFeed[] } = {}) =>
    compileFiles(
      {
        "rules.yaml": ruleFile({ id: "floor", platform: "iOS", minimum, ...(models !== undefined ? { models } : {}) }),
      },
      { vulnerabilities: sofaVulnerabilities(options.feeds ?? [IOS]), now: Date.parse("2026-09-01T00:00:00Z") },
    );

  it("warns at a minimum below a release that fixes actively exploited CVEs, naming them and their fixes", () => {
    const found = compileWith("26.1", ["iPhone17,3"]).findings.filter((f) => f.code === "floor-leaves-exploited");
    expect(found.map((f) => [f.severity, f.rule, f.message])).toEqual([
      [
        "warning",
        "floor",
        "minimum 26.1 leaves 3 actively exploited vulnerabilities open on 1 of the 1 iOS model this rule matches, per SOFA of 2026-08-22 (all in CISA's KEV catalog): CVE-2025-14174 and CVE-2025-43529 fixed in 26.2; CVE-2026-20700 fixed in 26.3; a minimum of 26.3 closes them",
      ],
    ]);
  });

  it("says nothing at a minimum that closes them, or for models no release lists", () => {
    expect(compileWith("26.3", ["iPhone17,3"]).findings.filter((f) => f.code === "floor-leaves-exploited")).toEqual([]);
    expect(compileWith("26.1", ["iPhone99,*"]).findings.filter((f) => f.code === "floor-leaves-exploited")).toEqual([]);
    // The macOS feed alone knows no iPhone: an iOS rule is not judged by Mac releases of the same numbers.
    expect(
      compileWith("26.1", undefined, { feeds: [MAC] }).findings.filter((f) => f.code === "floor-leaves-exploited"),
    ).toEqual([]);
  });
});
