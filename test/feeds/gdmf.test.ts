// Apple's GDMF feed, read from the real snapshots in ../shared/feeds/.
import { describe, expect, it } from "vitest";
import { decide } from "enrollgate";
import { parseOsVersion } from "enrollgate/apple";
import {
  feedAvailability,
  FeedError,
  fetchGdmf,
  gdmfAvailability,
  type GdmfDevice,
  gdmfLatest,
  parseGdmf,
} from "enrollgate/feeds";
import { startUpstream } from "../helpers/http.js";
import { compileFiles, mustCompile, ruleFile } from "../helpers/policies.js";
import { readShared } from "../helpers/shared.js";

const AUG = parseGdmf(readShared("feeds", "gdmf-2026-08-22.json"), "gdmf-2026-08-22.json");
const JUN = parseGdmf(readShared("feeds", "gdmf-2026-06-25.json"), "gdmf-2026-06-25.json");
const SEP_2025 = parseGdmf(readShared("feeds", "gdmf-2025-09-20.json"), "gdmf-2025-09-20.json");
const NOW = Date.parse("2026-08-25T12:00:00Z");
const v = parseOsVersion;

const iphone16 = (build = "23F77"): GdmfDevice => ({
  platform: "iOS",
  product: "iPhone17,1",
  deviceId: "iPhone17,1",
  build,
});
const xr: GdmfDevice = { platform: "iOS", product: "iPhone11,8", deviceId: "iPhone11,8", build: "22G86" };
const mac = (deviceId: string | null, build = "25F71"): GdmfDevice => ({
  platform: "macOS",
  product: "Mac14,10",
  deviceId,
  build,
});

describe("parsing the feed", () => {
  it("reads every asset set, including security improvements under both names", () => {
    const sets = (f: typeof AUG) => [...new Set(f.releases.map((r) => r.set))].sort();
    expect(sets(AUG)).toEqual(["AssetSets", "PublicAssetSets", "PublicBackgroundSecurityImprovements"]);
    expect(sets(SEP_2025)).toEqual(["AssetSets", "PublicAssetSets"]); // its PublicRapidSecurityResponses is empty
    expect(AUG.releases.length).toBe(107);
    expect(AUG.skipped).toEqual([]);
    expect(
      parseGdmf(
        JSON.stringify({
          PublicRapidSecurityResponses: {
            iOS: [
              {
                ProductVersion: "17.5.1",
                ProductVersionExtra: "(a)",
                Build: "21F90a",
                PrerequisiteBuild: "21F90",
                PostingDate: "2024-06-01",
                ExpirationDate: "2024-09-01",
                SupportedDevices: ["iPhone15,2"],
              },
            ],
          },
        }),
      ).releases[0],
    ).toMatchObject({
      set: "PublicRapidSecurityResponses",
      versionText: "17.5.1 (a)",
      prerequisiteBuild: "21F90",
    });
  });

  it("reads dates as whole UTC days, expiry inclusive", () => {
    const r = AUG.releases.find((x) => x.set === "PublicAssetSets" && x.build === "23G83");
    expect(new Date(r?.posted ?? 0).toISOString()).toBe("2026-08-17T00:00:00.000Z");
    expect(new Date(r?.expires ?? 0).toISOString()).toBe("2026-11-21T00:00:00.000Z");
  });

  it.each([
    ["not JSON", "{", /is not JSON/],
    ["not an object", "[1,2]", /is not a JSON object/],
    ["not a feed", '{"hello":"world"}', /has none of PublicAssetSets, AssetSets/],
    ["a set that is not platforms", '{"AssetSets":[1]}', /AssetSets is not an object of platforms/],
    ["a platform that is not a list", '{"AssetSets":{"iOS":{}}}', /AssetSets.iOS is not a list/],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseGdmf(text, "feed.json")).toThrow(FeedError);
    expect(() => parseGdmf(text, "feed.json")).toThrow(message);
  });

  it("skips and names entries it cannot read", () => {
    const feed = parseGdmf(
      JSON.stringify({
        PublicAssetSets: {
          iOS: [
            { ProductVersion: 17.6, Build: "21G80", PostingDate: "2024-07-29", SupportedDevices: ["iPhone15,2"] },
            { ProductVersion: "17.6", PostingDate: "2024-07-29", SupportedDevices: [] },
            { ProductVersion: "17.6", Build: "21G80", PostingDate: "someday", SupportedDevices: [] },
            { ProductVersion: "17.6", Build: "21G80", PostingDate: "2024-07-29", SupportedDevices: ["iPhone15,2"] },
          ],
        },
      }),
    );
    expect(feed.releases).toHaveLength(1);
    expect(feed.skipped).toEqual([
      "PublicAssetSets.iOS[0]: ProductVersion 17.6 is not an OS version",
      "PublicAssetSets.iOS[1]: no Build",
      'PublicAssetSets.iOS[2]: PostingDate "someday" is not a date',
    ]);
  });
});

describe("is a version available to a device at a time", () => {
  it("an iPhone that can install the target", () => {
    expect(gdmfAvailability(AUG, iphone16(), v("26.6.1"), NOW)).toMatchObject({
      available: true,
      release: { build: expect.stringMatching(/^23G6?083$/) },
    });
  });

  it("an iPhone whose hardware stops at iOS 18", () => {
    expect(gdmfAvailability(AUG, xr, v("26.6.1"), NOW)).toEqual({
      available: false,
      reason: "Apple's feed does not offer 26.6.1 to iPhone11,8",
    });
    expect(gdmfAvailability(AUG, xr, v("18.7.10"), NOW).available).toBe(true);
  });

  it("an expired version, either side of its last day", () => {
    expect(gdmfAvailability(AUG, iphone16(), v("26.5"), Date.parse("2026-09-27T23:59:59Z")).available).toBe(true);
    expect(gdmfAvailability(AUG, iphone16(), v("26.5"), Date.parse("2026-09-28T00:00:00Z"))).toEqual({
      available: false,
      reason: "Apple's feed offered 26.5 to iPhone17,1 only until 2026-09-27",
    });
  });

  it("a version the feed does not list at all", () => {
    expect(gdmfAvailability(AUG, iphone16(), v("27.0"), NOW)).toEqual({
      available: false,
      reason: "Apple's feed does not list iOS 27.0",
    });
  });

  it("a background security improvement needs its prerequisite build", () => {
    const device = (build: string | null): GdmfDevice => ({
      platform: "macOS",
      product: "Mac15,12",
      deviceId: "J180dAP",
      build,
    });
    expect(gdmfAvailability(AUG, device("25D2128"), v("26.3.1 (a)"), NOW)).toMatchObject({
      available: true,
      release: { set: "PublicBackgroundSecurityImprovements", build: "25D771280a" },
    });
    expect(gdmfAvailability(AUG, device("25D2140"), v("26.3.1 (a)"), NOW)).toEqual({
      available: false,
      reason: "26.3.1 (a) installs only on build 25D2128; the device runs 25D2140",
    });
    expect(gdmfAvailability(AUG, device(null), v("26.3.1 (a)"), NOW)).toMatchObject({
      available: false,
      reason: /the device runs an unknown build/,
    });
    expect(gdmfAvailability(AUG, device("25D2128"), v("26.3.1"), NOW)).toMatchObject({ available: false });
  });

  it("a Mac is matched by its board id", () => {
    expect(gdmfAvailability(AUG, mac("J414sAP"), v("26.6.2"), NOW).available).toBe(true);
    expect(gdmfAvailability(AUG, mac("Mac-E1008331FDC96864"), v("26.6.2"), NOW)).toMatchObject({
      available: false,
      reason: /does not offer 26.6.2 to Mac-E1008331FDC96864/,
    });
    expect(gdmfAvailability(AUG, mac(null), v("26.6.2"), NOW)).toEqual({
      available: false,
      reason: "the device did not report SOFTWARE_UPDATE_DEVICE_ID, so Apple's feed cannot confirm 26.6.2 for it",
    });
  });

  it("watchOS 26 under the feed's iOS key does not count for iPhones", () => {
    const watchOnly = parseGdmf(
      JSON.stringify({
        PublicAssetSets: {
          iOS: [{ ProductVersion: "26.9", Build: "23R9", PostingDate: "2026-01-01", SupportedDevices: ["Watch7,1"] }],
        },
      }),
    );
    expect(gdmfAvailability(watchOnly, iphone16(), v("26.9"), NOW)).toEqual({
      available: false,
      reason: "Apple's feed does not list iOS 26.9",
    });
  });
});

describe("latest and latest-in-major", () => {
  it.each([
    [iphone16(), null, "26.6.1"],
    [iphone16(), 18, "18.7.8"],
    [xr, null, "18.7.10"],
    [mac("J414sAP"), null, "26.6.2"],
    [mac("J414sAP"), 15, "15.7.9"],
    [mac("J414sAP"), 14, "14.8.9"],
  ])("for %j within major %s: %s", (device, major, expected) => {
    const latest = gdmfLatest(AUG, device, NOW, major);
    expect(latest && `${latest.major}.${latest.minor}.${latest.patch}`).toBe(
      expected.split(".").concat(["0"]).slice(0, 3).join("."),
    );
  });

  it("moves with the feed, per model", () => {
    // In June 26.5.1 went to five models only; the iPhone 16 stayed on 26.5.
    const at = Date.parse("2026-06-26T00:00:00Z");
    const latest = gdmfLatest(JUN, iphone16(), at, null);
    expect(latest && `${latest.major}.${latest.minor}.${latest.patch}`).toBe("26.5.0");
    const fold = gdmfLatest(
      JUN,
      { platform: "iOS", product: "iPhone18,1", deviceId: "iPhone18,1", build: null },
      at,
      null,
    );
    expect(fold && `${fold.major}.${fold.minor}.${fold.patch}`).toBe("26.5.1");
  });

  it("has nothing to offer once everything has expired", () => {
    expect(gdmfLatest(AUG, iphone16(), Date.parse("2026-11-22T00:00:00Z"), null)).toBeNull();
  });
});

describe("compiling with the feed", () => {
  const files = { "r.yaml": ruleFile({ id: "iphone", platform: "iOS", minimum: "26.6.1" }) };
  const availability = feedAvailability({ gdmf: AUG });
  const lateNovember = Date.parse("2026-11-22T00:00:00Z");

  it("makes an expired target an error when validating", () => {
    const { findings, set } = compileFiles(files, { availability, now: lateNovember });
    expect(findings.map((f) => [f.code, f.severity])).toEqual([["target-expired", "error"]]);
    expect(set).toBeNull();
  });

  it("but only a warning for a running gate: a stale snapshot must not stop it, each device is checked instead", () => {
    const { findings, set } = compileFiles(files, { availability, now: lateNovember, purpose: "serve" });
    expect(findings.map((f) => [f.code, f.severity])).toEqual([["target-expired", "warning"]]);
    expect(set).not.toBeNull();
    if (set === null) return;
    expect(
      decide(
        set,
        { product: "iPhone17,1", deviceId: "iPhone17,1", osVersion: "26.5", canRequestUpdate: true },
        lateNovember,
      ),
    ).toMatchObject({ reason: "target-unavailable" });
  });
});

describe("decisions with the feed", () => {
  const rules = (whenUnavailable: "allow" | "block", extra: Record<string, unknown>[] = []) =>
    ruleFile({ id: "iphone-26", platform: "iOS", minimum: "26.6.1", whenUnavailable }, ...extra);
  const facts = {
    product: "iPhone11,8",
    deviceId: "iPhone11,8",
    osVersion: "18.6",
    build: "22G86",
    canRequestUpdate: true,
  };
  const availability = feedAvailability({ gdmf: AUG });

  it("allows hardware that cannot install the target, with target-unavailable", () => {
    const set = mustCompile({ "r.yaml": rules("allow") }, { availability });
    expect(decide(set, facts, NOW)).toMatchObject({
      decision: "allow",
      reason: "target-unavailable",
      rule: "iphone-26",
      summary: /does not offer 26.6.1 to iPhone11,8/,
    });
  });

  it("or blocks it, when the rule says whenUnavailable: block", () => {
    const set = mustCompile({ "r.yaml": rules("block") }, { availability });
    expect(decide(set, facts, NOW)).toMatchObject({ decision: "block", reason: "below-minimum", rule: "iphone-26" });
  });

  it("or hands over to a floor that hardware can reach", () => {
    const set = mustCompile(
      { "r.yaml": rules("allow", [{ id: "xr-18", platform: "iOS", models: ["iPhone11,*"], minimum: "18.7.10" }]) },
      { availability },
    );
    expect(decide(set, facts, NOW)).toMatchObject({
      decision: "block",
      rule: "xr-18",
      body: { details: { OSVersion: "18.7.10" } },
    });
  });

  it("resolves target: latest per device", () => {
    const set = mustCompile(
      { "r.yaml": ruleFile({ id: "latest", platform: "iOS", minimum: "18.7", target: "latest" }) },
      { availability },
    );
    expect(decide(set, { ...facts, product: "iPhone17,1", deviceId: "iPhone17,1" }, NOW).body?.details.OSVersion).toBe(
      "26.6.1",
    );
    expect(decide(set, facts, NOW).body?.details.OSVersion).toBe("18.7.10");
  });

  it("resolves latest-in-major within the minimum's major", () => {
    const set = mustCompile(
      { "r.yaml": ruleFile({ id: "major", platform: "iOS", minimum: "18.7", target: "latest-in-major" }) },
      { availability },
    );
    expect(decide(set, { ...facts, product: "iPhone17,1", deviceId: "iPhone17,1" }, NOW).body?.details.OSVersion).toBe(
      "18.7.8",
    );
  });

  it("does not look for a beta seed in the public feed", () => {
    const set = mustCompile(
      {
        "r.yaml": ruleFile({
          id: "seed",
          platform: "iOS",
          minimum: "27.0",
          betaProgram: { description: "Seed", token: { env: "T_BETA_TOKEN" } },
        }),
      },
      { availability, env: { T_BETA_TOKEN: "t" } },
    );
    expect(
      decide(set, { ...facts, product: "iPhone17,1", deviceId: "iPhone17,1", osVersion: "26.6.1" }, NOW),
    ).toMatchObject({ decision: "block", reason: "below-minimum" });
  });
});

describe("fetching the feed", () => {
  it("gives up on a feed that does not answer, with a FeedError naming the URL", async () => {
    const silent = await startUpstream(() => "hang");
    try {
      const url = `${silent.url}/v2/pmv`;
      const error = await fetchGdmf(url, { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FeedError);
      expect((error as FeedError).message).toBe(`${url}: no answer within 100 ms`);
    } finally {
      await silent.close();
    }
  });
});
