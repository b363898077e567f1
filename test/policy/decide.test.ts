// decide(): what a decision explains (its summary, the rules it considered),
// and what holds of every decision and every compiled set. The decisions
// themselves, each step of DESIGN.md and each reason at its boundaries, are
// data in test/corpus/decisions/, run through decide(), `enrollgate check`
// and the gate alike (decision-corpus.test.ts in test/policy, test/cli and
// test/gate).
import { describe, expect, it } from "vitest";
import { decide, type DeviceFacts } from "enrollgate";
import type { AvailabilitySource } from "enrollgate/policy";
import { mustCompile, ruleFile } from "../helpers/policies.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");

function device(product: string, osVersion: string, more: Partial<DeviceFacts> = {}): DeviceFacts {
  return { product, osVersion, build: "23A1", canRequestUpdate: true, ...more };
}

const iphone = (over: Record<string, unknown> = {}) => ({
  id: "iphone-floor",
  platform: "iOS",
  models: ["iPhone*"],
  minimum: "17.6.1",
  ...over,
});

describe("step 1 and 2: who can be asked to update", () => {
  const set = mustCompile({
    "r.yaml": ruleFile(
      iphone(),
      { id: "mac-floor", platform: "macOS", minimum: "14.6" },
      { id: "vision", platform: "visionOS", minimum: "26.1" },
    ),
  });

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
});

describe("step 3: candidate rules", () => {
  describe("activeFrom, either side", () => {
    const set = mustCompile({ "r.yaml": ruleFile(iphone({ activeFrom: "2026-12-01" })) });
    it("inactive the instant before", () => {
      const d = decide(set, device("iPhone15,2", "17.0"), Date.parse("2026-11-30T23:59:59.999Z"));
      expect(d.reason).toBe("no-matching-rule");
      expect(d.considered).toEqual([
        { rule: "iphone-floor", mode: "enforce", outcome: "inactive", detail: "inactive until 2026-12-01" },
      ]);
    });
  });
});

describe("step 5: the strictest enforce rule decides", () => {
  const facts = device("iPhone15,2", "17.0", { build: "21A329" });

  it("the highest minimum", () => {
    const set = mustCompile({
      "r.yaml": ruleFile(iphone({ id: "low", minimum: "17.1" }), iphone({ id: "high", minimum: "17.6" })),
    });
    const d = decide(set, facts, NOW);
    expect(d).toMatchObject({ reason: "below-minimum", rule: "high", body: { details: { OSVersion: "17.6" } } });
    expect(d.considered.map((c) => [c.rule, c.outcome])).toEqual([
      ["high", "decided"],
      ["low", "below"],
    ]);
  });
});

describe("step 5: targets that are not available", () => {
  const unavailable = (versions: string[]): AvailabilitySource => ({
    name: "test feed",
    revision: "test",
    resolvesLatest: false,
    latest: () => null,
    check: (q) =>
      versions.includes(`${q.version.major}.${q.version.minor}.${q.version.patch}`)
        ? { available: false, reason: "not for this model" }
        : { available: true },
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
    expect(d).toMatchObject({
      decision: "block",
      reason: "below-minimum",
      rule: "floor-18",
      body: { details: { OSVersion: "18.7.10" } },
    });
    expect(d.summary).toMatch(/floor-26: target not available, not for this model/);
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
    const many = Array.from({ length: 10_000 }, (_, i) => ({
      id: `r${i}`,
      platform: "iOS",
      models: [`iPhone${100 + i},1`],
      minimum: "17.1",
    }));
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
