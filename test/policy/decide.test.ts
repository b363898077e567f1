// decide(): each step of DESIGN.md and each reason, at its boundaries.
import { describe, expect, it } from "vitest";
import { decide } from "../../src/policy/decide.js";
import type { AvailabilitySource } from "../../src/policy/availability.js";
import type { DeviceFacts } from "../../src/policy/model.js";
import { mustCompile, ruleFile } from "../helpers/policies.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");

function device(product: string, osVersion: string, more: Partial<DeviceFacts> = {}): DeviceFacts {
  return { product, osVersion, build: "23A1", canRequestUpdate: true, ...more };
}

const iphone = (over: Record<string, unknown> = {}) => ({ id: "iphone-floor", platform: "iOS", models: ["iPhone*"], minimum: "17.6.1", ...over });

describe("step 1 and 2: who can be asked to update", () => {
  const set = mustCompile({ "r.yaml": ruleFile(iphone(), { id: "mac-floor", platform: "macOS", minimum: "14.6" }, { id: "vision", platform: "visionOS", minimum: "26.1" }) });

  it.each([
    ["Foo1,1", "17.0", /not a known Apple platform/],
    ["AppleTV14,1", "17.0", /tvOS 17.0 cannot receive/],
    ["Watch7,1", "11.0", /watchOS 11.0 cannot receive/],
    ["iPhone14,2", "16.7.10", /iOS 16.7.10 cannot receive/],
    ["Mac14,2", "13.6", /macOS 13.6 cannot receive/],
    ["RealityDevice14,1", "2.6", /visionOS 2.6 cannot receive/],
  ])("%s on %s: allow, unsupported-os", (product, os, summary) => {
    const d = decide(set, device(product, os), NOW);
    expect(d).toMatchObject({ decision: "allow", reason: "unsupported-os", rule: null, body: null });
    expect(d.summary).toMatch(summary);
  });

  it("the first version of each platform that can receive the error is asked", () => {
    expect(decide(set, device("iPhone15,2", "17.0"), NOW).reason).toBe("below-minimum");
    expect(decide(set, device("Mac14,2", "14.0", { deviceId: "J413AP" }), NOW).reason).toBe("below-minimum");
    expect(decide(set, device("RealityDevice14,1", "26.0"), NOW).reason).toBe("below-minimum");
  });

  it("a device without OS_VERSION predates the error", () => {
    const d = decide(set, { product: "iPhone15,2", build: "20H350", canRequestUpdate: true }, NOW);
    expect(d.reason).toBe("unsupported-os");
  });

  it("a device that did not say MDM_CAN_REQUEST_SOFTWARE_UPDATE: true is allowed", () => {
    expect(decide(set, device("iPhone15,2", "17.0", { canRequestUpdate: false }), NOW)).toMatchObject({ decision: "allow", reason: "cannot-request-update" });
  });
});

describe("step 3: candidate rules", () => {
  it("no rule for the model: no-matching-rule", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ models: ["iPhone15,*"] })) });
    expect(decide(set, device("iPhone16,1", "17.0"), NOW)).toMatchObject({ decision: "allow", reason: "no-matching-rule" });
  });

  it("an iOS rule does not apply to an iPad", () => {
    const set = mustCompile({ "r.yaml": ruleFile({ id: "all-ios", platform: "iOS", minimum: "18.0" }) });
    expect(decide(set, device("iPad13,1", "17.0"), NOW).reason).toBe("no-matching-rule");
    expect(decide(set, device("iPhone13,1", "17.0"), NOW).reason).toBe("below-minimum");
  });

  it("matches a Mac by its board id in SOFTWARE_UPDATE_DEVICE_ID", () => {
    const set = mustCompile({ "r.yaml": ruleFile({ id: "studio", platform: "macOS", models: ["J475?AP"], minimum: "15.0" }) });
    expect(decide(set, device("Mac14,13", "14.6", { deviceId: "J475cAP" }), NOW)).toMatchObject({ reason: "below-minimum", rule: "studio" });
    expect(decide(set, device("Mac14,13", "14.6", { deviceId: "J413AP" }), NOW).reason).toBe("no-matching-rule");
    expect(decide(set, device("Mac14,13", "14.6"), NOW).reason).toBe("no-matching-rule");
  });

  describe("activeFrom, either side", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ activeFrom: "2026-12-01" })) });
    it("inactive the instant before", () => {
      const d = decide(set, device("iPhone15,2", "17.0"), Date.parse("2026-11-30T23:59:59.999Z"));
      expect(d.reason).toBe("no-matching-rule");
      expect(d.considered).toEqual([{ rule: "iphone-floor", mode: "enforce", outcome: "inactive", detail: "inactive until 2026-12-01" }]);
    });
    it("active from midnight UTC", () => {
      expect(decide(set, device("iPhone15,2", "17.0"), Date.parse("2026-12-01T00:00:00Z")).reason).toBe("below-minimum");
    });
  });

  describe("exemption until, either side", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ exempt: { serials: ["F2LXK0Q1HG7F"], until: "2027-01-31" } })) });
    const exempt = device("iPhone15,2", "17.0", { serial: "F2LXK0Q1HG7F" });
    it("exempt through the last moment of its day", () => {
      expect(decide(set, exempt, Date.parse("2027-01-31T23:59:59.999Z"))).toMatchObject({ decision: "allow", reason: "exempt", rule: "iphone-floor", body: null });
    });
    it("blocked from the next day", () => {
      expect(decide(set, exempt, Date.parse("2027-02-01T00:00:00Z"))).toMatchObject({ decision: "block", reason: "below-minimum" });
    });
    it("only the listed serial", () => {
      expect(decide(set, { ...exempt, serial: "OTHER" }, NOW).reason).toBe("below-minimum");
    });
    it("an exempt device that meets the minimum anyway has no matching rule", () => {
      expect(decide(set, { ...exempt, osVersion: "18.0" }, NOW).reason).toBe("no-matching-rule");
    });
    it("an exemption from one rule does not exempt from another", () => {
      const two = mustCompile({ "r.yaml": ruleFile(iphone({ exempt: { serials: ["F2LXK0Q1HG7F"] } }), { id: "iphone15", platform: "iOS", models: ["iPhone15,2"], minimum: "17.2" }) });
      expect(decide(two, exempt, NOW)).toMatchObject({ reason: "below-minimum", rule: "iphone15" });
    });
  });
});

describe("step 4: below the minimum", () => {
  it.each([
    // [minimum, device OS_VERSION, SUPPLEMENTAL_OS_VERSION_EXTRA, blocked]
    ["17.0 (a)", "17.0", undefined, true],
    ["17.0 (a)", "17.0", "(a)", false],
    ["17.0 (a)", "17.0", "(b)", false],
    ["17.0 (b)", "17.0", "(a)", true],
    ["17.0.1", "17.0", "(b)", true],
    ["17.0", "17.0", "(a)", false],
    ["17.1", "17.0.1", undefined, true],
    ["17.1", "17.1.0", undefined, false],
  ] as const)("minimum %s, device %s %s: blocked=%s", (minimum, os, extra, blocked) => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ minimum })) });
    const d = decide(set, device("iPhone15,2", os, extra === undefined ? {} : { supplementalExtra: extra }), NOW);
    expect(d.decision).toBe(blocked ? "block" : "allow");
  });

  describe("builds at an equal version", () => {
    const set = mustCompile({ "r.yaml": ruleFile({ id: "mac", platform: "macOS", minimum: "14.6.1", minimumBuild: "23G93" }) });
    const mac = (os: string, build: string, more: Partial<DeviceFacts> = {}) => device("Mac14,3", os, { build, deviceId: "J473AP", ...more });
    it.each([
      ["14.6.1", "23G92", "block"],
      ["14.6.1", "23G93", "allow"],
      ["14.6.1", "23G6093", "allow"], // the hardware fork of the same release
      ["14.6.1", "23G101", "allow"],
      ["14.6.1", "23G5080f", "block"], // a seed of the same train
      ["14.7", "23H12", "allow"],
      ["14.6", "23G80", "block"],
    ])("%s (%s): %s", (os, build, decision) => {
      expect(decide(set, mac(os, build), NOW).decision).toBe(decision);
    });
    it("SUPPLEMENTAL_BUILD_VERSION takes precedence over VERSION", () => {
      expect(decide(set, mac("14.6.1", "23G92", { supplementalBuild: "23G93" }), NOW).decision).toBe("allow");
    });
    it("a device on the target version is told the build, not just the version it runs", () => {
      const d = decide(set, mac("14.6.1", "23G92"), NOW);
      expect(d.body).toEqual({ code: "com.apple.softwareupdate.required", details: { OSVersion: "14.6.1", BuildVersion: "23G93" } });
    });
    it("a device on an older version is told the version alone", () => {
      expect(decide(set, mac("14.5", "23F79"), NOW).body?.details).toEqual({ OSVersion: "14.6.1" });
    });
    it("targetBuild is named whatever the device runs", () => {
      const withTarget = mustCompile({ "r.yaml": ruleFile({ id: "mac", platform: "macOS", minimum: "14.6.1", minimumBuild: "23G93", targetBuild: "23G101" }) });
      expect(decide(withTarget, mac("14.5", "23F79"), NOW).body?.details).toEqual({ OSVersion: "14.6.1", BuildVersion: "23G101" });
      expect(decide(withTarget, mac("14.6.1", "23G92"), NOW).body?.details).toEqual({ OSVersion: "14.6.1", BuildVersion: "23G101" });
    });
  });
});

describe("step 5: the strictest enforce rule decides", () => {
  const facts = device("iPhone15,2", "17.0", { build: "21A329" });

  it("the highest minimum", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ id: "low", minimum: "17.1" }), iphone({ id: "high", minimum: "17.6" })) });
    const d = decide(set, facts, NOW);
    expect(d).toMatchObject({ reason: "below-minimum", rule: "high", body: { details: { OSVersion: "17.6" } } });
    expect(d.considered.map((c) => [c.rule, c.outcome])).toEqual([["high", "decided"], ["low", "below"]]);
  });

  it("then the highest minimumBuild", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ id: "plain", minimum: "17.6" }), iphone({ id: "built", minimum: "17.6", minimumBuild: "21G93", models: ["iPhone15,*"] })) });
    expect(decide(set, facts, NOW).rule).toBe("built");
  });

  it("then the most specific model pattern", () => {
    const set = mustCompile({
      "r.yaml": ruleFile(
        { id: "a-any", platform: "iOS", minimum: "17.6" },
        iphone({ id: "b-glob", minimum: "17.6", models: ["iPhone15,*"] }),
        iphone({ id: "c-exact", minimum: "17.6", models: ["iPhone15,2"] }),
      ),
    });
    expect(decide(set, facts, NOW).rule).toBe("c-exact");
    expect(decide(set, { ...facts, product: "iPhone15,3" }, NOW).rule).toBe("b-glob");
    expect(decide(set, { ...facts, product: "iPhone16,1" }, NOW).rule).toBe("a-any");
  });

  it("then the smaller id", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ id: "zulu", minimum: "17.6", models: ["iPhone15,*"] }), iphone({ id: "alpha", minimum: "17.6", models: ["iPhone1?,2"] })) });
    expect(decide(set, facts, NOW).rule).toBe("alpha");
  });
});

describe("step 5: targets that are not available", () => {
  const unavailable = (versions: string[]): AvailabilitySource => ({
    name: "test feed",
    revision: "test",
    resolvesLatest: false,
    latest: () => null,
    check: (q) => (versions.includes(`${q.version.major}.${q.version.minor}.${q.version.patch}`) ? { available: false, reason: "not for this model" } : { available: true }),
  });
  const files = (whenUnavailable: string) => ({
    "r.yaml": ruleFile(
      iphone({ id: "floor-26", minimum: "26.6.1", whenUnavailable }),
      iphone({ id: "floor-18", minimum: "18.7.10", models: ["iPhone11,*"] }),
    ),
  });
  const xr = device("iPhone11,8", "18.6", { build: "22G86" });

  it("whenUnavailable: allow hands over to the next strictest rule", () => {
    const set = mustCompile(files("allow"), { availability: unavailable(["26.6.1"]) });
    const d = decide(set, xr, NOW);
    expect(d).toMatchObject({ decision: "block", reason: "below-minimum", rule: "floor-18", body: { details: { OSVersion: "18.7.10" } } });
    expect(d.summary).toMatch(/floor-26: target not available, not for this model/);
  });

  it("with no rule left, allow with target-unavailable naming the strictest", () => {
    const set = mustCompile(files("allow"), { availability: unavailable(["26.6.1", "18.7.10"]) });
    expect(decide(set, xr, NOW)).toMatchObject({ decision: "allow", reason: "target-unavailable", rule: "floor-26", body: null });
  });

  it("whenUnavailable: block blocks anyway", () => {
    const set = mustCompile(files("block"), { availability: unavailable(["26.6.1"]) });
    expect(decide(set, xr, NOW)).toMatchObject({ decision: "block", reason: "below-minimum", rule: "floor-26", body: { details: { OSVersion: "26.6.1" } } });
  });
});

describe("step 6: audit rules", () => {
  it("report what they would have sent, and allow", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ id: "next", minimum: "17.6", mode: "audit", message: "Update" })) });
    expect(decide(set, device("iPhone15,2", "17.5"), NOW)).toMatchObject({
      decision: "allow",
      reason: "audit-only",
      rule: "next",
      body: { code: "com.apple.softwareupdate.required", message: "Update", details: { OSVersion: "17.6" } },
    });
  });

  it("give way to an enforce rule that blocks", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ id: "next", minimum: "17.6", mode: "audit" }), iphone({ id: "now", minimum: "17.2" })) });
    expect(decide(set, device("iPhone15,2", "17.1"), NOW)).toMatchObject({ decision: "block", rule: "now" });
    expect(decide(set, device("iPhone15,2", "17.3"), NOW)).toMatchObject({ decision: "allow", reason: "audit-only", rule: "next" });
    expect(decide(set, device("iPhone15,2", "17.6"), NOW)).toMatchObject({ decision: "allow", reason: "compliant", rule: null });
  });
});

describe("RequireBetaProgram goes only where the OS accepts it", () => {
  const beta = { description: "iOS 18 AppleSeed", token: { env: "BETA_TOKEN" } };
  const set = mustCompile(
    {
      "r.yaml": ruleFile(
        iphone({ minimum: "18.0", targetBuild: "22A5282m", betaProgram: beta }),
        { id: "mac-beta", platform: "macOS", minimum: "15.0", betaProgram: beta },
      ),
    },
    { env: { BETA_TOKEN: "secret-token" } },
  );
  it.each([
    ["iPhone15,2", "17.4", undefined, false],
    ["iPhone15,2", "17.5", undefined, true],
    ["Mac14,3", "14.4", "J473AP", false],
    ["Mac14,3", "14.5", "J473AP", true],
  ] as const)("%s on %s: present=%s", (product, os, deviceId, present) => {
    const d = decide(set, device(product, os, deviceId === undefined ? {} : { deviceId }), NOW);
    expect(d.decision).toBe("block");
    expect(d.body?.details.RequireBetaProgram).toEqual(present ? { Description: "iOS 18 AppleSeed", Token: "secret-token" } : undefined);
  });
});

describe("decide is total", () => {
  const set = mustCompile({ "r.yaml": ruleFile(iphone()) });
  it.each([
    null,
    {},
    { product: 42 },
    { product: "iPhone15,2", osVersion: 17.5, canRequestUpdate: true },
    { product: "iPhone15,2", osVersion: "seventeen", canRequestUpdate: true },
    { product: "iPhone15,2", osVersion: "17.0", supplementalExtra: "junk", canRequestUpdate: true },
    { product: "iPhone15,2", osVersion: "17.0", build: "???", canRequestUpdate: "yes" },
    { product: "iPhone15,2", osVersion: "17.0", serial: ["array"], canRequestUpdate: true },
  ])("decides for %j without throwing", (facts) => {
    const d = decide(set, facts as unknown as DeviceFacts, NOW);
    expect(["allow", "block"]).toContain(d.decision);
  });

  it("reads a malformed extra as no extra", () => {
    expect(decide(set, device("iPhone15,2", "17.6.1", { supplementalExtra: "junk" }), NOW).reason).toBe("compliant");
  });
});

describe("the compiled set", () => {
  it("is immutable", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone()) });
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set.rules)).toBe(true);
    expect(Object.isFrozen(set.rules[0])).toBe(true);
  });

  it("finds a device's exact-model rule among 10,000 without considering the rest", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ id: `r${i}`, platform: "iOS", models: [`iPhone${100 + i},1`], minimum: "17.1" }));
    const set = mustCompile({ "r.yaml": ruleFile(...many) });
    const d = decide(set, device("iPhone5123,1", "17.0"), NOW);
    expect(d).toMatchObject({ decision: "block", rule: "r5023" });
    expect(d.considered).toHaveLength(1);
  });

  it("changes revision when a file changes, and only then", () => {
    const a = mustCompile({ "r.yaml": ruleFile(iphone()) });
    const b = mustCompile({ "r.yaml": ruleFile(iphone()) });
    const c = mustCompile({ "r.yaml": ruleFile(iphone({ minimum: "17.6.2" })) });
    expect(a.revision).toMatch(/^[0-9a-f]{12}$/);
    expect(b.revision).toBe(a.revision);
    expect(c.revision).not.toBe(a.revision);
  });
});
