// decide() over generated policy sets and generated (often nonsensical) device
// facts: it never throws, always answers with a decision the gate can act on,
// and a block always carries a 403 body that names a version above the device's.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, type DeviceFacts } from "enrollgate";
import { type AvailabilitySource, REASONS } from "enrollgate/policy";
import { compareOsVersions, tryParseOsVersion } from "enrollgate/apple";
import { compileFiles } from "../helpers/policies.js";

const PRODUCTS = [
  "iPhone17,3",
  "iPhone11,8",
  "iPad16,3",
  "Mac16,1",
  "MacBookPro18,3",
  "RealityDevice14,1",
  "AppleTV14,1",
  "Watch7,1",
  "VirtualMac2,1",
  "iPhone999,1",
];
/** Model globs that can match each policy platform (tvOS and watchOS get no rules: no 403 exists there). */
const MODELS: Record<string, string[]> = {
  iOS: ["iPhone17,*", "iPhone*", "iPhone11,8", "iPhone17,3"],
  iPadOS: ["iPad16,3", "iPad*"],
  macOS: ["Mac*", "MacBookPro18,3", "J316sAP", "VirtualMac2,1"],
  visionOS: ["RealityDevice14,*", "RealityDevice*"],
};

const version = fc.tuple(
  fc.integer({ min: 15, max: 28 }),
  fc.integer({ min: 0, max: 7 }),
  fc.integer({ min: 0, max: 4 }),
  fc.constantFrom("", " (a)", " (c)"),
);
const show = ([a, b, c, x]: [number, number, number, string]) => `${a}.${b}${c === 0 ? "" : `.${c}`}${x}`;
const versionText = version.map(show);
const buildText = fc
  .tuple(
    fc.integer({ min: 20, max: 25 }),
    fc.constantFrom("A", "E", "G"),
    fc.integer({ min: 1, max: 9999 }),
    fc.constantFrom("", "a"),
  )
  .map((p) => p.join(""));
// Rule dates mostly before the decision times below: most rules are active.
const date = fc
  .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2027-06-30T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

/**
 * A rule as a policy author might write it: mostly valid, sometimes not (those sets must fail to compile, not crash).
 */
const rule = fc
  .record({
    platform: fc.constantFrom(...Object.keys(MODELS)),
    minimum: version,
    // A target at or above the minimum, usually.
    targetBump: fc.option(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: 0, max: 3 })), {
      nil: undefined,
    }),
    latest: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 9 },
      { arbitrary: fc.constantFrom("latest", "latest-in-major"), weight: 1 },
    ),
    optional: fc.record(
      {
        minimumBuild: buildText,
        targetBuild: buildText,
        mode: fc.constantFrom("enforce", "audit"),
        whenUnavailable: fc.constantFrom("allow", "block"),
        activeFrom: date,
        exempt: fc.record(
          { serials: fc.uniqueArray(fc.constantFrom("SERIAL1", "SERIAL2"), { minLength: 1 }), until: date },
          { requiredKeys: ["serials"] },
        ),
        betaProgram: fc.constant({ description: "Seed program", token: { env: "BETA_TOKEN" } }),
        message: fc.string({ minLength: 1, maxLength: 40 }),
      },
      { requiredKeys: [] },
    ),
    modelPick: fc.option(fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  })
  .map(({ platform, minimum, targetBump, latest, optional, modelPick }) => {
    const models = MODELS[platform] ?? [];
    const target =
      latest ??
      (targetBump === undefined
        ? undefined
        : show([minimum[0] + targetBump[0], targetBump[0] === 0 ? minimum[1] + targetBump[1] : targetBump[1], 0, ""]));
    return {
      platform,
      minimum: show(minimum),
      ...(modelPick === undefined ? {} : { models: [...new Set(modelPick.map((i) => models[i % models.length]))] }),
      ...(target === undefined ? {} : { target }),
      ...optional,
    };
  });
const rules = fc.array(rule, { minLength: 1, maxLength: 6 });
const filesOf = (list: ReadonlyArray<Record<string, unknown>>) => ({
  "rules.yaml": JSON.stringify({ rules: list.map((r, i) => ({ id: `r${i}`, ...r })) }),
});

/** Facts from a device, a broken device, or an attacker who got past nothing. */
const anyText = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "binary", maxLength: 30 }));
const chaotic: fc.Arbitrary<DeviceFacts> = fc.record(
  {
    product: fc.oneof(fc.constantFrom(...PRODUCTS), anyText),
    osVersion: fc.oneof(versionText, anyText),
    build: fc.oneof(buildText, anyText),
    serial: fc.oneof(fc.constantFrom("SERIAL1", "SERIAL2"), anyText),
    deviceId: fc.oneof(fc.constantFrom("J316sAP", "VMA2MACOSAP"), anyText),
    supplementalExtra: fc.oneof(fc.constantFrom("(a)", "(b)"), anyText),
    supplementalBuild: fc.oneof(buildText, anyText),
    canRequestUpdate: fc.boolean(),
  },
  { requiredKeys: ["product", "canRequestUpdate"] },
);
/** Devices of the platforms a set has rules for, on versions that can receive the 403. */
const DEVICES: Record<string, Array<{ product: string; deviceId?: string }>> = {
  iOS: [{ product: "iPhone17,3" }, { product: "iPhone11,8" }, { product: "iPhone999,1" }],
  iPadOS: [{ product: "iPad16,3" }],
  macOS: [
    { product: "Mac16,1", deviceId: "J316sAP" },
    { product: "MacBookPro18,3", deviceId: "J314sAP" },
    { product: "VirtualMac2,1", deviceId: "VMA2MACOSAP" },
  ],
  visionOS: [{ product: "RealityDevice14,1" }],
};
const realisticFor = (platforms: ReadonlyArray<string>): fc.Arbitrary<DeviceFacts> =>
  fc
    .record({
      device: fc.constantFrom(...platforms.flatMap((p) => DEVICES[p] ?? [])),
      osVersion: fc
        .tuple(fc.integer({ min: 17, max: 28 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 4 }))
        .map(([a, b, c]) => `${a}.${b}.${c}`),
      build: buildText,
      serial: fc.constantFrom("SERIAL1", "SERIAL2", "SERIAL3"),
    })
    .map(({ device, osVersion, build, serial }) => ({ ...device, osVersion, build, serial, canRequestUpdate: true }));

/** A policy set, and devices to decide: mostly of its platforms, some chaotic. */
const scenario = rules.chain((list) =>
  fc.tuple(
    fc.constant(filesOf(list)),
    fc.array(
      fc.oneof({ arbitrary: realisticFor(list.map((r) => r.platform)), weight: 3 }, { arbitrary: chaotic, weight: 1 }),
      { minLength: 1, maxLength: 5 },
    ),
  ),
);

/** A feed that refuses some versions and knows a latest for some devices. */
const feed = fc
  .record({ refuseMinor: fc.integer({ min: 0, max: 7 }), latest: fc.option(versionText, { nil: null }) })
  .map(({ refuseMinor, latest }): AvailabilitySource => ({
    name: "generated feed",
    revision: `feed-${refuseMinor}-${latest ?? "none"}`,
    resolvesLatest: latest !== null,
    latest: (device) => (latest === null || device.product.length % 2 === 0 ? null : tryParseOsVersion(latest)),
    check: (q) =>
      q.version.minor === refuseMinor ? { available: false, reason: "not offered to this model" } : { available: true },
  }));

const now = fc
  .date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2028-12-31T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.getTime());

describe("decide() on generated policy sets and facts", () => {
  it("never throws, and always gives a decision with a known reason", () => {
    let compiled = 0;
    let blocks = 0;
    fc.assert(
      fc.property(
        scenario,
        fc.option(feed, { nil: undefined }),
        now,
        fc.constantFrom("enrollment", "compliance"),
        ([files, devices], availability, at, purpose) => {
          const { set } = compileFiles(files, {
            env: { BETA_TOKEN: "seed-token" },
            ...(availability !== undefined ? { availability } : {}),
          });
          if (set === null) return;
          compiled++;
          for (const device of devices) {
            const d = decide(set, device, at, { purpose });
            expect(["allow", "block"]).toContain(d.decision);
            expect(REASONS).toContain(d.reason);
            expect(typeof d.summary).toBe("string");
            expect(() => JSON.stringify(d)).not.toThrow();
            if (d.decision === "block") blocks++;
            if (d.decision === "block" && purpose === "enrollment") {
              expect(d.body?.code).toBe("com.apple.softwareupdate.required");
              // Never ask a device for a version at or below the one it runs.
              const asked = tryParseOsVersion(d.body?.details.OSVersion);
              const runs = tryParseOsVersion(device.osVersion);
              expect(asked).not.toBeNull();
              if (asked !== null && runs !== null && device.supplementalExtra === undefined)
                expect(compareOsVersions(asked, runs)).toBeGreaterThanOrEqual(0);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
    // The generator must reach decide() often enough to mean something.
    expect(compiled).toBeGreaterThan(100);
    expect(blocks).toBeGreaterThan(15);
  });

  it("never throws on facts that are not even the right types", () => {
    const { set } = compileFiles({
      "r.yaml": JSON.stringify({
        rules: [
          { id: "a", platform: "iOS", minimum: "26.0" },
          { id: "b", platform: "macOS", models: ["Mac*"], minimum: "26.0", target: "26.1", targetBuild: "25B78" },
        ],
      }),
    });
    if (set === null) throw new Error("fixture does not compile");
    fc.assert(
      fc.property(
        fc.anything(),
        fc.dictionary(
          fc.constantFrom(
            "product",
            "osVersion",
            "build",
            "supplementalExtra",
            "deviceId",
            "serial",
            "canRequestUpdate",
          ),
          fc.anything(),
        ),
        (whole, fields) => {
          for (const f of [whole, fields]) {
            const d = decide(set, f as DeviceFacts, Date.now());
            expect(["allow", "block"]).toContain(d.decision);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
