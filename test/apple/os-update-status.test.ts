// OSUpdateStatus: the command, the responses (the seed's example among them),
// ProductKeys, and judging enrolled devices against the policies.
import { readFileSync } from "node:fs";
import { parse as parsePlist } from "plist";
import { describe, expect, it } from "vitest";
import type { DeviceFacts } from "enrollgate";
import { factsOfDeviceInformation, judgeCompliance, reachesMinimum } from "enrollgate/policy";
import {
  BandedSchema,
  bundledAppleSchema,
  CommandError,
  formatOsVersion,
  osUpdateStatusCommand,
  parseAppleSchema,
  parseOsUpdateStatusResponse,
  parseProductKey,
  readDeviceInformation,
} from "enrollgate/apple";
import { gdmfBuildVersion, parseGdmf } from "enrollgate/feeds";
import { enrollgate } from "../helpers/cli.js";
import { mustCompile, ruleFile } from "../helpers/policies.js";
import { readShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const schema = new BandedSchema(bundledAppleSchema("os-update-status"), "receive", "response");
const fixture = (name: string) => readFileSync(new URL(`../fixtures/os-update-status/${name}`, import.meta.url));
const response = (name: string) => parseOsUpdateStatusResponse(fixture(name), schema);
const FIXTURES = new URL("../fixtures/os-update-status/", import.meta.url).pathname;
const NOW = Date.parse("2026-11-22T12:00:00Z");

const set = mustCompile({
  "r.yaml": ruleFile(
    { id: "iphone-floor", platform: "iOS", models: ["iPhone*"], minimum: "26.6.1" },
    { id: "mac-floor", platform: "macOS", minimum: "26.6.2" },
    { id: "legacy-ios", platform: "iOS", models: ["iPhone14,*"], minimum: "17.6" },
  ),
});
const iphone = factsOfDeviceInformation(readDeviceInformation(fixture("device-info-iphone.plist")));
const mac = factsOfDeviceInformation(readDeviceInformation(fixture("device-info-mac.plist")));
const feed = parseGdmf(readShared("feeds", "gdmf-2026-08-22.json"));
const buildVersions = (b: string) => gdmfBuildVersion(feed, b);

describe("the command", () => {
  it("is Apple's command shape, with a fresh CommandUUID each time", () => {
    const a = osUpdateStatusCommand();
    const b = osUpdateStatusCommand();
    expect(a.commandUUID).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(b.commandUUID).not.toBe(a.commandUUID);
    const parsed = parsePlist(a.plist) as { Command: { RequestType: string }; CommandUUID: string };
    expect(parsed).toEqual({ Command: { RequestType: "OSUpdateStatus" }, CommandUUID: a.commandUUID });
    // The request type Apple's schema names for this command.
    expect(parseAppleSchema(readShared("apple", "system.update.status.yaml")).payload?.requesttype).toBe(
      parsed.Command.RequestType,
    );
  });

  it("takes the seed's CommandUUID and round-trips it", () => {
    const { plist } = osUpdateStatusCommand("0001_OSUpdateStatus");
    expect(parsePlist(plist)).toEqual({
      Command: { RequestType: "OSUpdateStatus" },
      CommandUUID: "0001_OSUpdateStatus",
    });
  });

  it("refuses a CommandUUID that is not one", () => {
    expect(() => osUpdateStatusCommand("")).toThrow(CommandError);
    expect(() => osUpdateStatusCommand("a\nb")).toThrow(/cannot be a CommandUUID/);
  });
});

describe("responses", () => {
  it("reads the seed's example", () => {
    expect(response("seed.plist")).toEqual({
      commandUUID: "0001_OSUpdateStatus",
      status: "Acknowledged",
      udid: "00008020-000915083C80012E",
      errorChain: [],
      items: [
        {
          productKey: "iOSUpdate17A576",
          isDownloaded: false,
          downloadPercentComplete: 0.5030184984207153,
          status: "Downloading",
        },
      ],
    });
  });

  it("reads a macOS response with deferrals and a scheduled install", () => {
    expect(response("mac-scheduled.plist").items[0]).toEqual({
      productKey: "MSU_UPDATE_25G83_patch_26.6.2_minor",
      isDownloaded: true,
      downloadPercentComplete: 1,
      status: "Idle",
      maxDeferrals: 3,
      deferralsRemaining: 1,
      nextScheduledInstall: new Date("2026-11-23T02:00:00Z"),
      pastNotifications: [new Date("2026-11-20T09:00:00Z"), new Date("2026-11-21T09:00:00Z")],
    });
  });

  it("reads an Idle response with no updates, and an Error with its ErrorChain", () => {
    expect(response("idle.plist")).toMatchObject({ status: "Idle", items: [], errorChain: [] });
    expect(response("error.plist")).toMatchObject({
      status: "Error",
      items: [],
      errorChain: [
        {
          code: 12021,
          domain: "MCMDMErrorDomain",
          description: "Le périphérique n’est pas supervisé.",
          usEnglishDescription: "The device is not supervised.",
        },
      ],
    });
  });

  it("keeps update statuses newer OS versions add", () => {
    const xml = fixture("seed.plist").toString().replace("<string>Downloading</string>", "<string>Preparing</string>");
    expect(parseOsUpdateStatusResponse(Buffer.from(xml), schema).items[0]?.status).toBe("Preparing");
  });

  it.each([
    ["malformed.plist", /the plist is not well-formed XML/],
    ["wrong-type.plist", /does not match Apple's schema: OSUpdateStatus.0.DownloadPercentComplete: must be number/],
  ])("names what is wrong with %s", (name, message) => {
    expect(() => response(name)).toThrow(CommandError);
    expect(() => response(name)).toThrow(message);
  });

  it("refuses a download percentage outside 0.0 to 1.0", () => {
    const xml = fixture("seed.plist").toString().replace("0.5030184984207153", "50.3");
    expect(() => parseOsUpdateStatusResponse(Buffer.from(xml), schema)).toThrow(
      /DownloadPercentComplete: must be <= 1/,
    );
  });

  it("refuses a command status Apple does not define", () => {
    const xml = fixture("idle.plist").toString().replace("<string>Idle</string>", "<string>Maybe</string>");
    expect(() => parseOsUpdateStatusResponse(Buffer.from(xml), schema)).toThrow(
      /Status: must be one of "Acknowledged", "Error", "CommandFormatError", "NotNow", "Idle"/,
    );
  });
});

describe("ProductKeys", () => {
  it.each([
    ["MSU_UPDATE_24A335_patch_15.0", "24A335", "15.0", false],
    ["MSU_UPDATE_25G83_patch_26.6.2_minor", "25G83", "26.6.2", false],
    ["MSU_UPDATE_23G93_patch_14.6.1_major", "23G93", "14.6.1", false],
    ["MSU_UPDATE_22F770820d_patch_13.4.1_rsr", "22F770820d", "13.4.1", true],
    ["iOSUpdate17A576", "17A576", null, false],
    ["iOSUpdate21G93", "21G93", null, false],
    ["012-40494", null, null, false],
    ["iOSUpdateSomething", null, null, false],
  ])("%s names build %s and version %s", (key, build, version, rsr) => {
    const info = parseProductKey(key);
    expect([info.build, info.version === null ? null : formatOsVersion(info.version), info.securityResponse]).toEqual([
      build,
      version,
      rsr,
    ]);
  });

  const rule = (minimum: string, minimumBuild?: string) =>
    mustCompile({
      "r.yaml": ruleFile({
        id: "r",
        platform: "macOS",
        minimum,
        ...(minimumBuild !== undefined ? { minimumBuild } : {}),
      }),
    }).rules[0] as Parameters<typeof reachesMinimum>[1];

  it.each([
    ["MSU_UPDATE_25G83_patch_26.6.2", "26.6.2", undefined, true],
    ["MSU_UPDATE_25G76_patch_26.6.1", "26.6.2", undefined, false],
    ["MSU_UPDATE_25G83_patch_26.6.2", "26.6.2", "25G83", true],
    ["MSU_UPDATE_25G80_patch_26.6.2", "26.6.2", "25G83", false],
    ["MSU_UPDATE_22F770820d_patch_13.4.1_rsr", "13.4.1", undefined, true],
    ["MSU_UPDATE_22F770820d_patch_13.4.1_rsr", "13.4.1 (c)", undefined, null],
    ["MSU_UPDATE_22F770820d_patch_13.4.1_rsr", "13.5", undefined, false],
    ["iOSUpdate21G93", "17.6", undefined, null],
    ["012-40494", "17.6", undefined, null],
  ])("%s against minimum %s (%s): %s", (key, minimum, build, expected) => {
    expect(reachesMinimum(key, rule(minimum, build), null).reaches).toBe(expected);
  });

  it("places a build through Apple's feed when given, and says so when it cannot", () => {
    const r = rule("26.6.1");
    expect(reachesMinimum("iOSUpdate23G83", r, buildVersions)).toEqual({
      reaches: true,
      why: "iOSUpdate23G83 installs 26.6.1 (23G83) per Apple's feed; reaches 26.6.1",
    });
    expect(reachesMinimum("iOSUpdate23G83", r, null)).toEqual({
      reaches: null,
      why: "iOSUpdate23G83 names build 23G83, which cannot be placed against 26.6.1 without Apple's feed (--gdmf)",
    });
  });
});

describe("judging enrolled devices", () => {
  const judge = (facts: DeviceFacts | null, name: string, withFeed = false) =>
    judgeCompliance(set, facts, response(name), NOW, withFeed ? buildVersions : null);

  it("updating: a download in progress that reaches the minimum, with its progress", () => {
    expect(judge(iphone, "iphone-downloading.plist", true)).toMatchObject({
      judgement: "updating",
      rule: "iphone-floor",
      summary:
        "below iphone-floor's minimum 26.6.1; updating: iOSUpdate23G83 downloading 25% (iOSUpdate23G83 installs 26.6.1 (23G83) per Apple's feed; reaches 26.6.1)",
    });
  });

  it("unknown: a download in progress whose ProductKey cannot be placed", () => {
    expect(judge(iphone, "iphone-downloading.plist")).toMatchObject({
      judgement: "unknown",
      rule: "iphone-floor",
      summary: /cannot be placed against 26.6.1 without Apple's feed/,
    });
    expect(judge(iphone, "seed.plist")).toMatchObject({
      judgement: "unknown",
      summary: /iOSUpdate17A576 downloading 50.3%/,
    });
  });

  it("updating: a downloaded macOS update with an install scheduled", () => {
    expect(judge(mac, "mac-scheduled.plist")).toMatchObject({
      judgement: "updating",
      rule: "mac-floor",
      summary:
        "below mac-floor's minimum 26.6.2; updating: MSU_UPDATE_25G83_patch_26.6.2_minor downloaded, install scheduled 2026-11-23T02:00:00.000Z, 1 deferral left (MSU_UPDATE_25G83_patch_26.6.2_minor installs 26.6.2 (25G83); reaches 26.6.2)",
    });
  });

  it("behind: the update in progress stops short of the minimum", () => {
    expect(judge(mac, "mac-short.plist")).toMatchObject({
      judgement: "behind",
      rule: "mac-floor",
      summary:
        "below mac-floor's minimum 26.6.2; the update in progress does not reach it (MSU_UPDATE_25G76_patch_26.6.1_minor installs 26.6.1 (25G76); stays below 26.6.2)",
    });
  });

  it("behind: nothing in progress", () => {
    expect(judge(iphone, "none.plist")).toMatchObject({
      judgement: "behind",
      rule: "iphone-floor",
      summary: "below iphone-floor's minimum 26.6.1; no update in progress",
    });
  });

  it("unknown: an Idle answer, or an Error with its chain", () => {
    expect(judge(iphone, "idle.plist")).toMatchObject({
      judgement: "unknown",
      summary: "below iphone-floor's minimum 26.6.1; the device answered Idle, so its updates are unknown",
    });
    expect(judge(iphone, "error.plist")).toMatchObject({
      judgement: "unknown",
      summary:
        "below iphone-floor's minimum 26.6.1; the device answered Error (MCMDMErrorDomain 12021: The device is not supervised.), so its updates are unknown",
    });
  });

  it("compliant: at or above the minimum, whatever it is downloading", () => {
    expect(judge({ ...iphone, osVersion: "26.6.1" }, "seed.plist")).toMatchObject({
      judgement: "compliant",
      rule: null,
    });
  });

  it("judges devices the enrollment error cannot reach, such as iOS 16", () => {
    expect(judge({ ...iphone, product: "iPhone14,2", osVersion: "16.7.10" }, "none.plist")).toMatchObject({
      judgement: "behind",
      rule: "iphone-floor",
    });
  });

  it("unknown without facts", () => {
    expect(judge(null, "seed.plist")).toMatchObject({
      judgement: "unknown",
      summary: "no device facts for 00008020-000915083C80012E",
    });
  });
});

describe("enrollgate os-update-status", () => {
  const policies = async () =>
    tempDir({
      "p/rules.yaml": ruleFile(
        { id: "iphone-floor", platform: "iOS", models: ["iPhone*"], minimum: "26.6.1" },
        { id: "mac-floor", platform: "macOS", minimum: "26.6.2" },
      ),
    });

  it("command prints the plist", async () => {
    const r = await enrollgate(["os-update-status", "command", "--uuid", "0001_OSUpdateStatus"]);
    expect(r.code).toBe(0);
    expect(parsePlist(r.stdout)).toEqual({
      Command: { RequestType: "OSUpdateStatus" },
      CommandUUID: "0001_OSUpdateStatus",
    });
  });

  it("report prints a table, one row per device, and exits 1 when a device is behind", async () => {
    const dir = await policies();
    const args = [
      "os-update-status",
      "report",
      "--policies",
      "p",
      "--device-info",
      `${FIXTURES}device-info-iphone.plist`,
      "--device-info",
      `${FIXTURES}device-info-mac.plist`,
      "--gdmf",
      sharedPath("feeds", "gdmf-2026-08-22.json"),
      "--now",
      "2026-11-22",
    ];
    const r = await enrollgate([...args, `${FIXTURES}iphone-downloading.plist`, `${FIXTURES}mac-short.plist`], {
      cwd: dir,
    });
    expect(r.stdout.split("\n")).toEqual([
      "DEVICE        PRODUCT     OS    RULE          JUDGEMENT  DETAIL",
      "G7QK21P0XY3D  iPhone17,3  26.5  iphone-floor  updating   below iphone-floor's minimum 26.6.1; updating: iOSUpdate23G83 downloading 25% (iOSUpdate23G83 installs 26.6.1 (23G83) per Apple's feed; reaches 26.6.1)",
      "C02ZK1ABMD6T  Mac15,3     26.5  mac-floor     behind     below mac-floor's minimum 26.6.2; the update in progress does not reach it (MSU_UPDATE_25G76_patch_26.6.1_minor installs 26.6.1 (25G76); stays below 26.6.2)",
      "",
    ]);
    expect(r.code).toBe(1);
    const ok = await enrollgate([...args, `${FIXTURES}mac-scheduled.plist`], { cwd: dir });
    expect(ok.code).toBe(0);
  });

  it("report --json gives machines the same, with percentages", async () => {
    const dir = await policies();
    const r = await enrollgate(
      [
        "os-update-status",
        "report",
        "--policies",
        "p",
        "--device-info",
        `${FIXTURES}device-info-mac.plist`,
        "--json",
        "--now",
        "2026-11-22",
        `${FIXTURES}mac-scheduled.plist`,
      ],
      { cwd: dir },
    );
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      udid: "0000FE00-2C4A1B3D5E6F7A8B",
      serial: "C02ZK1ABMD6T",
      judgement: "updating",
      rule: "mac-floor",
      commandStatus: "Acknowledged",
      updates: [
        {
          productKey: "MSU_UPDATE_25G83_patch_26.6.2_minor",
          percent: 100,
          downloaded: true,
          reaches: true,
          nextScheduledInstall: "2026-11-23T02:00:00.000Z",
          deferralsRemaining: 1,
        },
      ],
    });
  });

  it("report takes facts as flags for a single device", async () => {
    const dir = await policies();
    const r = await enrollgate(
      [
        "os-update-status",
        "report",
        "--policies",
        "p",
        "--product",
        "iPhone17,3",
        "--os-version",
        "26.5",
        "--now",
        "2026-11-22",
        `${FIXTURES}none.plist`,
      ],
      { cwd: dir },
    );
    expect(r.stdout).toMatch(/iphone-floor {2}behind {5}below iphone-floor's minimum 26.6.1; no update in progress/);
    expect(r.code).toBe(1);
  });

  it("report names a malformed response and a wrong type, reports the rest, and exits 2", async () => {
    const dir = await policies();
    const r = await enrollgate(
      [
        "os-update-status",
        "report",
        "--policies",
        "p",
        "--product",
        "iPhone17,3",
        "--os-version",
        "26.6.1",
        `${FIXTURES}malformed.plist`,
        `${FIXTURES}wrong-type.plist`,
        `${FIXTURES}seed.plist`,
      ],
      { cwd: dir },
    );
    expect(r.stderr).toMatch(/malformed.plist: the plist is not well-formed XML/);
    expect(r.stderr).toMatch(
      /wrong-type.plist: the response does not match Apple's schema: OSUpdateStatus.0.DownloadPercentComplete: must be number/,
    );
    expect(r.stdout).toMatch(/compliant/);
    expect(r.code).toBe(2);
  });
});
