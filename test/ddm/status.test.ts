// judgeStatus(): DDM status reports, merged per device in order (they are
// incremental), judged against the policy that governs each device.
import { describe, expect, it } from "vitest";
import { judgeStatus, type DeviceJudgement } from "enrollgate";
import { mergeStatusReports } from "enrollgate/ddm";
import { fleetSet, NOW } from "./fixtures.js";

/** A status report as a device sends it, nested by item path. */
function report(items: {
  udid?: string;
  serial?: string;
  model?: string;
  family?: string;
  version?: unknown;
  build?: string;
  extra?: string;
  deviceId?: string;
  installState?: string;
  pending?: { "os-version": string; "build-version"?: string };
  failure?: { count: number; reason?: string; timestamp?: string };
  full?: boolean;
}): object {
  const device: Record<string, unknown> = {};
  const identifier: Record<string, unknown> = {};
  if (items.udid !== undefined) identifier.udid = items.udid;
  if (items.serial !== undefined) identifier["serial-number"] = items.serial;
  if (Object.keys(identifier).length > 0) device.identifier = identifier;
  if (items.model !== undefined) device.model = { identifier: items.model };
  const os: Record<string, unknown> = {};
  if (items.family !== undefined) os.family = items.family;
  if (items.version !== undefined) os.version = items.version;
  if (items.build !== undefined) os["build-version"] = items.build;
  if (items.extra !== undefined) os.supplemental = { "extra-version": items.extra };
  if (Object.keys(os).length > 0) device["operating-system"] = os;
  const su: Record<string, unknown> = {};
  if (items.deviceId !== undefined) su["device-id"] = items.deviceId;
  if (items.installState !== undefined) su["install-state"] = items.installState;
  if (items.pending !== undefined) su["pending-version"] = items.pending;
  if (items.failure !== undefined) su["failure-reason"] = items.failure;
  const statusItems: Record<string, unknown> = {};
  if (Object.keys(device).length > 0) statusItems.device = device;
  if (Object.keys(su).length > 0) statusItems.softwareupdate = su;
  return { StatusItems: statusItems, Errors: [], ...(items.full === true ? { FullReport: true } : {}) };
}

function row(devices: ReadonlyArray<DeviceJudgement>, key: string): DeviceJudgement {
  const d = devices.find((x) => x.udid === key || x.serial === key);
  if (d === undefined) throw new Error(`no device ${key}`);
  return d;
}

describe("judgeStatus", () => {
  const set = fleetSet();

  it("judges each device against its enrolled target: compliant, updating, failed, behind, overdue, unknown", () => {
    const { devices, problems } = judgeStatus(
      set,
      [
        report({ udid: "U1", serial: "S1", model: "iPhone17,3", family: "iOS", version: "26.5", build: "23F77" }),
        report({ udid: "U2", model: "iPhone17,1", family: "iOS", version: "26.7", build: "23H10" }),
        report({
          udid: "U3",
          model: "Mac16,1",
          family: "macOS",
          version: "26.5",
          build: "25F71",
          deviceId: "J604AP",
          installState: "failed",
          failure: { count: 2, reason: "Not enough space", timestamp: "2026-08-24T10:00:00Z" },
        }),
        report({
          udid: "U4",
          model: "Mac15,14",
          family: "macOS",
          version: "26.5",
          build: "25F71",
          deviceId: "J475cAP",
        }),
        report({ udid: "U5", model: "RealityDevice14,1", family: "visionOS", version: "26.6" }),
        report({ udid: "U6", family: "iOS" }),
        // U1 again: only what changed, as devices report.
        report({
          udid: "U1",
          installState: "downloading",
          pending: { "os-version": "26.6.1", "build-version": "23G83" },
        }),
      ],
      NOW,
    );
    expect(problems).toEqual([]);
    expect(devices.map((d) => [d.udid, d.judgement, d.rule])).toEqual([
      ["U1", "updating", "iphone-floor"],
      ["U2", "compliant", "iphone-floor"],
      ["U3", "failed", "mac-floor"],
      ["U4", "overdue", "mac-studio"],
      ["U5", "behind", "vision-floor"],
      ["U6", "unknown", null],
    ]);
    expect(row(devices, "U1").summary).toBe(
      "below iphone-floor's enrolled target 26.6.1, due by 2026-12-15T18:00:00; updating to 26.6.1 (23G83): downloading",
    );
    expect(row(devices, "U1").sources).toEqual(["report 1", "report 7"]);
    expect(row(devices, "U2").summary).toBe("26.7 (23H10) meets iphone-floor's enrolled target 26.6.1");
    expect(row(devices, "U3").summary).toBe(
      "below mac-floor's enrolled target 26.6.2, due by 2026-09-01T09:00:00; the update failed 2 times: Not enough space (last 2026-08-24T10:00:00Z)",
    );
    expect(row(devices, "U4")).toMatchObject({
      target: "26.6.2 (25G83)",
      deadline: "2026-08-24T09:00:00",
      summary:
        "below mac-studio's enrolled target 26.6.2 (25G83), due by 2026-08-24T09:00:00, which has passed; nothing pending reaches it",
    });
    expect(row(devices, "U6").summary).toBe("device.model.identifier not reported, so no rule can be matched");
  });

  it("calls a device behind, then overdue once the deadline has passed on every clock, or in the devices' zone", () => {
    const behind = [report({ udid: "V", model: "iPhone17,3", family: "iOS", version: "26.5", build: "23F77" })];
    expect(judgeStatus(set, behind, NOW).devices[0]?.judgement).toBe("behind");
    // 18:00 on 2026-12-15 is reached last at UTC−12: 06:00Z the next day.
    expect(judgeStatus(set, behind, Date.parse("2026-12-16T05:59:00Z")).devices[0]?.judgement).toBe("behind");
    expect(judgeStatus(set, behind, Date.parse("2026-12-16T06:00:00Z")).devices[0]?.judgement).toBe("overdue");
    const berlin = { timeZone: "Europe/Berlin" };
    expect(judgeStatus(set, behind, Date.parse("2026-12-15T16:59:00Z"), berlin).devices[0]?.judgement).toBe("behind");
    expect(judgeStatus(set, behind, Date.parse("2026-12-15T17:00:00Z"), berlin).devices[0]?.judgement).toBe("overdue");
    // A failure past the deadline is overdue too.
    const failed = [report({ udid: "W", model: "iPhone17,3", family: "iOS", version: "26.5", installState: "failed" })];
    expect(judgeStatus(set, failed, Date.parse("2026-12-20T00:00:00Z")).devices[0]?.judgement).toBe("overdue");
  });

  it("judges a supplemental target by the extra: the base step is updating, the supplemental itself compliant", () => {
    const { devices } = judgeStatus(
      set,
      [
        report({
          udid: "P1",
          model: "iPad16,1",
          family: "iPadOS",
          version: "26.2",
          pending: { "os-version": "26.3.1", "build-version": "23D8133" },
          installState: "downloading",
        }),
        report({ udid: "P2", model: "iPad16,1", family: "iPadOS", version: "26.3.1", extra: "(a)", build: "23D8133" }),
        report({ udid: "P3", model: "iPad16,1", family: "iPadOS", version: "26.3.1", build: "23D8133" }),
      ],
      Date.parse("2026-03-20T12:00:00Z"),
    );
    expect(devices.map((d) => [d.udid, d.judgement])).toEqual([
      ["P1", "updating"],
      ["P2", "compliant"],
      ["P3", "behind"],
    ]);
    expect(row(devices, "P1").summary).toContain("updating to 26.3.1 (23D8133), the base of 26.3.1 (a) (step 1 of 2)");
  });

  it("merges reports by UDID, else serial number, and starts afresh at a FullReport", () => {
    const merged = mergeStatusReports([
      report({ serial: "S9", model: "iPhone17,3", version: "26.5" }),
      report({ udid: "U9", serial: "S9", installState: "idle" }),
      report({ udid: "U9", version: "26.6.1" }),
      report({ udid: "U8", model: "iPhone17,1", version: "26.5" }),
      report({ udid: "U8", full: true, version: "26.7" }),
    ]);
    expect(merged.devices.map((d) => [d.key, d.udid, d.serial, d.sources.length])).toEqual([
      ["S9", "U9", "S9", 3],
      ["U8", "U8", null, 2],
    ]);
    const s9 = merged.devices[0]?.items;
    expect([s9?.get("device.model.identifier"), s9?.get("device.operating-system.version")]).toEqual([
      "iPhone17,3",
      "26.6.1",
    ]);
    expect(merged.devices[1]?.items.get("device.model.identifier")).toBeUndefined();
  });

  it("names a report it cannot read, and still judges the others", () => {
    const { devices, problems } = judgeStatus(
      set,
      [
        { report: "not a report", source: "a.json" },
        { report: [1, 2, 3], source: "b.json" },
        { report: { StatusItems: "x", Errors: [] }, source: "c.json" },
        { report: { StatusItems: {}, Errors: [] }, source: "d.json" },
        { report: report({ udid: "U1", model: "iPhone17,3", version: 26.5 }), source: "e.json" },
        { report: report({ udid: "U2", model: "iPhone17,3", family: "iOS", version: "26.7" }), source: "f.json" },
      ],
      NOW,
    );
    expect(problems.map((p) => [p.source, p.unreadable])).toEqual([
      ["a.json", true],
      ["b.json", true],
      ["c.json", true],
      ["d.json", true],
      ["e.json", false],
    ]);
    expect(problems[3]?.message).toContain("names no device");
    expect(problems[4]?.message).toContain("device.operating-system.version does not match Apple's schema");
    expect(devices.map((d) => [d.udid, d.judgement])).toEqual([
      ["U1", "unknown"],
      ["U2", "compliant"],
    ]);
  });

  it("never throws on hostile reports: deep nesting, prototype keys, huge strings", () => {
    let deep: unknown = {};
    for (let i = 0; i < 5000; i++) deep = { device: deep };
    const hostile = [
      { StatusItems: deep, Errors: [] },
      JSON.parse(
        '{"StatusItems":{"__proto__":{"udid":"x"},"device":{"identifier":{"udid":"H1"}}},"Errors":[{"Reasons":5}]}',
      ),
      report({ udid: "H2", model: "x".repeat(100_000), version: "9".repeat(5000) }),
      { StatusItems: { device: { identifier: { udid: { toString: 1 } } } }, Errors: null },
    ];
    const r = judgeStatus(set, hostile, NOW);
    expect(r.devices.every((d) => d.judgement === "unknown")).toBe(true);
  });
});
