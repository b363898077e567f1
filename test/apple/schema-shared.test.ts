// Every schema the product depends on (../shared/apple) converts, compiles,
// accepts realistic documents and rejects broken ones with a readable reason.
import { describe, expect, it } from "vitest";
import {
  compileAppleSchema,
  formatViolations,
  parseAppleSchema,
  type SchemaTarget,
  type ValidationResult,
} from "enrollgate/apple";
import { readShared, sharedYamlFiles } from "../helpers/shared.js";

function validator(file: string, target: SchemaTarget): (doc: unknown) => ValidationResult {
  const compiled = compileAppleSchema(parseAppleSchema(readShared("apple", file), file), target);
  if (!compiled.applicable) throw new Error(compiled.reason);
  return compiled.validate;
}

function problems(result: ValidationResult): string {
  return result.ok ? "" : formatViolations(result.violations);
}

interface Case {
  file: string;
  target: SchemaTarget;
  good: unknown[];
  bad: Array<[string, unknown, RegExp]>;
}

const iPhoneMachineInfo = {
  UDID: "00008120-001A2B3C4D5E6F70",
  SERIAL: "F2LXK0Q1HG7F",
  PRODUCT: "iPhone15,2",
  VERSION: "21G93",
  OS_VERSION: "17.6.1",
  LANGUAGE: "en",
  MDM_CAN_REQUEST_SOFTWARE_UPDATE: true,
  SOFTWARE_UPDATE_DEVICE_ID: "iPhone15,2",
  IMEI: "35 123456 789012 3",
};

const cases: Case[] = [
  {
    file: "softwareupdate.required.yaml",
    target: { direction: "emit", platform: "iOS", os: "17.5" },
    good: [
      { code: "com.apple.softwareupdate.required", details: { OSVersion: "17.6.1" } },
      {
        code: "com.apple.softwareupdate.required",
        message: "Update iOS to continue.",
        description: "SEC-123",
        details: {
          OSVersion: "17.0 (a)",
          BuildVersion: "21A351a",
          RequireBetaProgram: { Description: "AppleSeed", Token: "t0k" },
        },
      },
    ],
    bad: [
      [
        "a code outside its rangelist",
        { code: "com.apple.other", details: { OSVersion: "17.6" } },
        /^code: must be one of "com.apple.softwareupdate.required"$/,
      ],
      [
        "a missing required key",
        { code: "com.apple.softwareupdate.required", details: {} },
        /^details: missing required key "OSVersion"$/,
      ],
      [
        "a wrong type",
        { code: "com.apple.softwareupdate.required", details: { OSVersion: 17.6 } },
        /^details.OSVersion: must be string$/,
      ],
      [
        "an unknown key",
        { code: "com.apple.softwareupdate.required", details: { OSVersion: "17.6", Urgent: true } },
        /^details.Urgent: unknown key$/,
      ],
      [
        "a missing nested key",
        {
          code: "com.apple.softwareupdate.required",
          details: { OSVersion: "17.6", RequireBetaProgram: { Token: "t" } },
        },
        /^details.RequireBetaProgram: missing required key "Description"$/,
      ],
    ],
  },
  {
    file: "machineinfo.yaml",
    target: { direction: "receive", platform: "iOS", os: "17.6.1" },
    good: [iPhoneMachineInfo, { ...iPhoneMachineInfo, A_KEY_FROM_IOS_27: "fine on receive" }],
    bad: [
      ["a missing required key", { ...iPhoneMachineInfo, SERIAL: undefined }, /missing required key "SERIAL"/],
      [
        "a wrong type",
        { ...iPhoneMachineInfo, MDM_CAN_REQUEST_SOFTWARE_UPDATE: "yes" },
        /^MDM_CAN_REQUEST_SOFTWARE_UPDATE: must be boolean$/,
      ],
      [
        "OS_VERSION missing on iOS 17",
        { ...iPhoneMachineInfo, OS_VERSION: undefined },
        /missing required key "OS_VERSION"/,
      ],
    ],
  },
  {
    file: "machineinfo.yaml",
    target: { direction: "emit", platform: "macOS", os: "14.6" },
    good: [
      {
        UDID: "U",
        SERIAL: "C02XL0GZJGH5",
        PRODUCT: "Mac14,3",
        VERSION: "23G80",
        OS_VERSION: "14.6",
        SOFTWARE_UPDATE_DEVICE_ID: "J473AP",
      },
    ],
    bad: [
      [
        "an unknown key in emit direction",
        { UDID: "U", SERIAL: "S", PRODUCT: "Mac14,3", VERSION: "23G80", OS_VERSION: "14.6", EXTRA: 1 },
        /^EXTRA: unknown key$/,
      ],
      [
        "a key macOS does not have",
        { UDID: "U", SERIAL: "S", PRODUCT: "Mac14,3", VERSION: "23G80", OS_VERSION: "14.6", IMEI: "1" },
        /^IMEI: unknown key$/,
      ],
    ],
  },
  {
    file: "system.update.status.yaml",
    target: { direction: "receive", platform: "macOS", os: "15.1", keys: "response" },
    good: [
      {
        OSUpdateStatus: [
          {
            ProductKey: "MSU_UPDATE_24B83_patch_15.1",
            IsDownloaded: true,
            DownloadPercentComplete: 1.0,
            Status: "Installing",
            MaxDeferrals: 3,
            DeferralsRemaining: 1,
            NextScheduledInstall: new Date("2026-11-23T02:00:00Z"),
            PastNotifications: [new Date("2026-11-20T09:00:00Z"), "2026-11-21T09:00:00Z"],
          },
        ],
        CommandUUID: "0001_OSUpdateStatus",
        Status: "Acknowledged",
        UDID: "00008020-000915083C80012E",
      },
    ],
    bad: [
      [
        "a wrong type",
        { OSUpdateStatus: [{ ProductKey: "k", IsDownloaded: "no", DownloadPercentComplete: 0.5, Status: "Idle" }] },
        /^OSUpdateStatus.0.IsDownloaded: must be boolean$/,
      ],
      [
        "a missing item key",
        { OSUpdateStatus: [{ ProductKey: "k", IsDownloaded: false, Status: "Idle" }] },
        /^OSUpdateStatus.0: missing required key "DownloadPercentComplete"$/,
      ],
      [
        "a date that is neither",
        {
          OSUpdateStatus: [
            {
              ProductKey: "k",
              IsDownloaded: false,
              DownloadPercentComplete: 0,
              Status: "Idle",
              NextScheduledInstall: "tomorrow",
            },
          ],
        },
        /^OSUpdateStatus.0.NextScheduledInstall: does not match any allowed form$/,
      ],
    ],
  },
  {
    file: "system.update.available.yaml",
    target: { direction: "receive", platform: "iOS", os: "17.6", keys: "response" },
    good: [
      {
        AvailableOSUpdates: [
          {
            ProductKey: "iOSUpdate21H16",
            HumanReadableName: "iOS 17.7",
            ProductName: "iOS",
            Version: "17.7",
            Build: "21H16",
            InstallSize: 1234567,
            DownloadSize: 7654321,
            IsCritical: false,
            RestartRequired: true,
            AllowsInstallLater: true,
            IsSecurityResponse: false,
          },
        ],
      },
    ],
    bad: [
      [
        "a wrong type",
        {
          AvailableOSUpdates: [
            {
              ProductKey: "k",
              HumanReadableName: "n",
              ProductName: "iOS",
              Version: "17.7",
              Build: "21H16",
              InstallSize: "big",
              DownloadSize: 1,
              IsSecurityResponse: false,
            },
          ],
        },
        /InstallSize: must be integer/,
      ],
    ],
  },
  {
    file: "unrecognized.device.yaml",
    target: { direction: "emit", platform: "watchOS", os: "10.0" },
    good: [{ code: "com.apple.unrecognized.device", message: "Contact IT." }],
    bad: [
      [
        "a wrong code",
        { code: "com.apple.softwareupdate.required" },
        /^code: must be one of "com.apple.unrecognized.device"$/,
      ],
    ],
  },
  {
    file: "watch.pairing.token.missing.yaml",
    target: { direction: "emit", platform: "watchOS", os: "11.0" },
    good: [
      {
        code: "com.apple.watch.pairing.token.missing",
        details: { "security-token": "3f1d7b0e-6a57-4e55-9d1c-2d1e8d0e0c11" },
      },
    ],
    bad: [
      [
        "a missing details key",
        { code: "com.apple.watch.pairing.token.missing", details: {} },
        /^details: missing required key "security-token"$/,
      ],
    ],
  },
  {
    file: "well-known.failed.yaml",
    target: { direction: "emit", platform: "iOS", os: "17.5" },
    good: [{ code: "com.apple.well-known.failed", description: "unknown domain" }],
    bad: [["an unknown key", { code: "com.apple.well-known.failed", details: {} }, /^details: unknown key$/]],
  },
  {
    file: "ddm-2026/softwareupdate.enforcement.specific.yaml",
    target: { direction: "emit", platform: "iOS", os: "26.0" },
    good: [
      { TargetOSVersion: "26.1", TargetLocalDateTime: "2026-12-15T18:00:00" },
      {
        TargetOSVersion: "26.1",
        TargetBuildVersion: "23B85",
        TargetLocalDateTime: "2026-12-15T18:00:00",
        DetailsURL: "https://it.example.com/updates",
      },
    ],
    bad: [
      ["a missing deadline", { TargetOSVersion: "26.1" }, /missing required key "TargetLocalDateTime"/],
      [
        "an unknown key",
        { TargetOSVersion: "26.1", TargetLocalDateTime: "2026-12-15T18:00:00", Urgent: true },
        /^Urgent: unknown key$/,
      ],
    ],
  },
  {
    file: "ddm-2026/softwareupdate.settings.yaml",
    target: { direction: "emit", platform: "iOS", os: "26.0" },
    good: [
      {
        Beta: { ProgramEnrollment: "AlwaysOn", RequireProgram: { Description: "iOS 26 AppleSeed Beta", Token: "t0k" } },
      },
    ],
    bad: [["a wrong type", { Notifications: "yes" }, /^Notifications: must be boolean$/]],
  },
];

describe("the Apple schema files enrollgate depends on", () => {
  it("covers every file in ../shared/apple", () => {
    const files = sharedYamlFiles("apple");
    expect(new Set(cases.map((c) => c.file))).toEqual(new Set(files));
  });

  describe.each(cases)("$file ($target.direction, $target.platform $target.os)", ({ file, target, good, bad }) => {
    const validate = validator(file, target);
    it.each(good.map((doc, i) => [i, doc]))("accepts realistic document #%i", (_i, doc) => {
      expect(problems(validate(doc))).toBe("");
    });
    it.each(bad)("rejects %s", (_what, doc, message) => {
      const result = validate(JSON.parse(JSON.stringify(doc)) as unknown);
      expect(result.ok).toBe(false);
      expect(problems(result)).toMatch(message);
    });
  });
});
