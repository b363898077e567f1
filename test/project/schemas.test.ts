// The schemas enrollgate ships agree with Apple's published files: same keys,
// types, presence and availability. The seed's error schema is Apple's file.
import { describe, expect, it } from "vitest";
import {
  type AppleKey,
  type AppleSchemaDocument,
  compileAppleSchema,
  formatViolations,
  parseAppleSchema,
} from "enrollgate/apple";
import { readShared } from "../helpers/shared.js";
import { readProject } from "../helpers/project.js";

const ours = (name: string) => parseAppleSchema(readProject("schemas", name), name);
const apples = (name: string) => parseAppleSchema(readShared("apple", name), name);

/** Differences in the facts that matter, for every key of Apple's tree. */
function disagreements(apple: ReadonlyArray<AppleKey>, mine: ReadonlyArray<AppleKey>, path = ""): string[] {
  const out: string[] = [];
  for (const a of apple) {
    const m = mine.find((k) => k.key === a.key);
    const at = `${path}${a.key}`;
    if (m === undefined) {
      out.push(`${at}: missing`);
      continue;
    }
    for (const field of ["type", "presence", "default", "rangelist"] as const) {
      if (JSON.stringify(a[field]) !== JSON.stringify(m[field]))
        out.push(`${at}.${field}: ${JSON.stringify(m[field])} vs Apple's ${JSON.stringify(a[field])}`);
    }
    if (JSON.stringify(a.supportedOS ?? null) !== JSON.stringify(m.supportedOS ?? null))
      out.push(`${at}.supportedOS differs`);
    if (a.subkeys !== undefined) out.push(...disagreements(a.subkeys, m.subkeys ?? [], `${at}.`));
  }
  return out;
}

function extraKeys(apple: ReadonlyArray<AppleKey>, mine: ReadonlyArray<AppleKey>): string[] {
  return mine.filter((m) => !apple.some((a) => a.key === m.key)).map((m) => m.key);
}

function samePayload(a: AppleSchemaDocument, m: AppleSchemaDocument) {
  expect(m.payload?.supportedOS).toEqual(a.payload?.supportedOS);
}

describe("schemas/softwareupdate.required.yaml", () => {
  it("is the seed's schema: the same data as Apple's indented file", () => {
    expect(JSON.parse(JSON.stringify(ours("softwareupdate.required.yaml")))).toEqual(
      JSON.parse(JSON.stringify(apples("softwareupdate.required.yaml"))),
    );
  });
});

describe("schemas/machineinfo.yaml", () => {
  const a = apples("machineinfo.yaml");
  const m = ours("machineinfo.yaml");
  it("has Apple's payload availability and type", () => {
    samePayload(a, m);
    expect(m.payload?.payloadtype).toBe(a.payload?.payloadtype);
  });
  it("agrees with Apple on every key, and adds none", () => {
    expect(disagreements(a.payloadkeys ?? [], m.payloadkeys ?? [])).toEqual([]);
    expect(extraKeys(a.payloadkeys ?? [], m.payloadkeys ?? [])).toEqual([]);
  });
});

describe("schemas/os-update-status.yaml", () => {
  const a = apples("system.update.status.yaml");
  const m = ours("os-update-status.yaml");
  it("describes the same command", () => {
    samePayload(a, m);
    expect(m.payload?.requesttype).toBe("OSUpdateStatus");
  });
  it("agrees with Apple on every response key", () => {
    expect(disagreements(a.responsekeys ?? [], m.responsekeys ?? [])).toEqual([]);
  });
  it("adds only the envelope every command response carries", () => {
    expect(extraKeys(a.responsekeys ?? [], m.responsekeys ?? [])).toEqual([
      "CommandUUID",
      "Status",
      "UDID",
      "EnrollmentID",
      "EnrollmentUserID",
      "UserID",
      "ErrorChain",
    ]);
  });
  it("validates the seed's example response", () => {
    const compiled = compileAppleSchema(m, { direction: "receive", platform: "iOS", os: "17.0", keys: "response" });
    if (!compiled.applicable) throw new Error(compiled.reason);
    const r = compiled.validate({
      CommandUUID: "0001_OSUpdateStatus",
      OSUpdateStatus: [
        {
          DownloadPercentComplete: 0.5030184984207153,
          IsDownloaded: false,
          ProductKey: "iOSUpdate17A576",
          Status: "Downloading",
        },
      ],
      Status: "Acknowledged",
      UDID: "00008020-000915083C80012E",
    });
    expect(r.ok ? "" : formatViolations(r.violations)).toBe("");
  });
});

describe("pruning the seed's schema", () => {
  const seed = ours("softwareupdate.required.yaml");
  const body = {
    code: "com.apple.softwareupdate.required",
    details: { OSVersion: "17.6.1", RequireBetaProgram: { Description: "iOS 18 AppleSeed Beta", Token: "tok" } },
  };
  const verdict = (platform: "iOS" | "macOS" | "iPadOS", os: string) => {
    const c = compileAppleSchema(seed, { direction: "emit", platform, os });
    if (!c.applicable) throw new Error(c.reason);
    const r = c.validate(body);
    return r.ok ? "allowed" : formatViolations(r.violations);
  };

  it.each([
    ["iOS", "17.5"],
    ["iOS", "18.0"],
    ["iPadOS", "17.5"],
    ["macOS", "14.5"],
    ["macOS", "15.1"],
  ] as const)("allows details.RequireBetaProgram on %s %s", (platform, os) => {
    expect(verdict(platform, os)).toBe("allowed");
  });

  it.each([
    ["iOS", "17.4"],
    ["iOS", "17.0"],
    ["macOS", "14.4"],
  ] as const)("rejects details.RequireBetaProgram on %s %s", (platform, os) => {
    expect(verdict(platform, os)).toBe("details.RequireBetaProgram: unknown key");
  });

  it("applies to visionOS 26.0 and not to visionOS 2.0", () => {
    expect(compileAppleSchema(seed, { direction: "emit", platform: "visionOS", os: "26.0" }).applicable).toBe(true);
    expect(compileAppleSchema(seed, { direction: "emit", platform: "visionOS", os: "2.0" })).toEqual({
      applicable: false,
      reason: "Error Code Software Update Required requires visionOS 26.0 or later, not 2.0",
    });
  });

  it.each(["tvOS", "watchOS"] as const)("does not apply to %s", (platform) => {
    expect(compileAppleSchema(seed, { direction: "emit", platform, os: "26.0" })).toEqual({
      applicable: false,
      reason: `Error Code Software Update Required is not available on ${platform}`,
    });
  });
});
