// ddmDeclarations(): a set's `enrolled` blocks as Apple DDM declarations, for
// the fleet and for one device, checked here against Apple's own files by an
// Ajv of the test's, apart from the generator's check.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { ddmDeclarations, type Declaration } from "enrollgate";
import { parseAppleSchema, toJsonSchema, type Platform } from "enrollgate/apple";
import { readShared } from "../helpers/shared.js";
import { fleetSet, NOW, RULES } from "./fixtures.js";

const APPLE_FILES: Record<string, string[]> = {
  "com.apple.configuration.softwareupdate.enforcement.specific": [
    "apple",
    "ddm-2026",
    "softwareupdate.enforcement.specific.yaml",
  ],
  "com.apple.configuration.softwareupdate.settings": ["apple", "ddm-2026", "softwareupdate.settings.yaml"],
  "com.apple.activation.simple": ["apple-corpus", "declarative", "declarations", "activations", "simple.yaml"],
  "com.apple.configuration.management.status-subscriptions": [
    "apple-corpus",
    "declarative",
    "declarations",
    "configurations",
    "management.status-subscriptions.yaml",
  ],
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

/** Apple's schema for a declaration type on a platform, compiled by the test's own Ajv. */
function appleValidator(type: string, platform?: Platform) {
  const path = APPLE_FILES[type];
  if (path === undefined) throw new Error(`no Apple file for ${type}`);
  const doc = parseAppleSchema(readShared(...path), path.join("/"));
  const conversion = toJsonSchema(doc, { direction: "emit", ...(platform !== undefined ? { platform } : {}) });
  if (!conversion.applicable) throw new Error(conversion.reason);
  return ajv.compile(conversion.schema);
}

const envelope = ajv.compile(
  (() => {
    const doc = parseAppleSchema(readShared("apple-corpus", "declarative", "declarations", "declarationbase.yaml"));
    const c = toJsonSchema(doc, { direction: "emit" });
    if (!c.applicable) throw new Error(c.reason);
    return c.schema;
  })(),
);

const PLATFORM_OF_RULE: Record<string, Platform> = {
  "iphone-floor": "iOS",
  "ipad-bsi": "iPadOS",
  "mac-studio": "macOS",
  "mac-floor": "macOS",
  "vision-floor": "visionOS",
  "qa-seed": "iOS",
};

function byId(ds: ReadonlyArray<Declaration>): Map<string, Declaration> {
  return new Map(ds.map((d) => [d.Identifier, d]));
}

function payload(d: Declaration | undefined): Record<string, unknown> {
  if (d === undefined) throw new Error("declaration missing");
  return d.Payload as Record<string, unknown>;
}

describe("ddmDeclarations for a fleet", () => {
  const set = fleetSet();
  const result = ddmDeclarations(set, { now: NOW });
  const ds = byId(result.declarations);

  it("writes an enforcement and an activation per rule, two steps for a supplemental, beta settings, one subscription", () => {
    expect(result.problems).toEqual([]);
    expect([...ds.keys()]).toEqual([
      "com.enrollgate.activation.ipad-bsi",
      "com.enrollgate.activation.ipad-bsi.base",
      "com.enrollgate.activation.iphone-floor",
      "com.enrollgate.activation.mac-floor",
      "com.enrollgate.activation.mac-studio",
      "com.enrollgate.activation.qa-seed",
      "com.enrollgate.activation.vision-floor",
      "com.enrollgate.enforcement.ipad-bsi",
      "com.enrollgate.enforcement.ipad-bsi.base",
      "com.enrollgate.enforcement.iphone-floor",
      "com.enrollgate.enforcement.mac-floor",
      "com.enrollgate.enforcement.mac-studio",
      "com.enrollgate.enforcement.qa-seed",
      "com.enrollgate.enforcement.vision-floor",
      "com.enrollgate.settings.qa-seed",
      "com.enrollgate.status-subscriptions",
      "com.enrollgate.status-subscriptions.activation",
    ]);
  });

  it("asks each device for exactly its target, by a local deadline: dates as written, or days after the release", () => {
    expect(payload(ds.get("com.enrollgate.enforcement.iphone-floor"))).toEqual({
      TargetOSVersion: "26.6.1",
      TargetLocalDateTime: "2026-12-15T18:00:00",
      DetailsURL: "https://it.example.com/updates",
    });
    // 26.3.1 (a) was posted on 2026-03-17: 14 days later at 18:00. Its base first, by the same deadline.
    expect(payload(ds.get("com.enrollgate.enforcement.ipad-bsi.base"))).toEqual({
      TargetOSVersion: "26.3.1",
      TargetLocalDateTime: "2026-03-31T18:00:00",
    });
    expect(payload(ds.get("com.enrollgate.enforcement.ipad-bsi"))).toEqual({
      TargetOSVersion: "26.3.1 (a)",
      TargetLocalDateTime: "2026-03-31T18:00:00",
    });
    // macOS 26.6.2 was posted on 2026-08-17: 7 days later at 09:00.
    expect(payload(ds.get("com.enrollgate.enforcement.mac-studio"))).toEqual({
      TargetOSVersion: "26.6.2",
      TargetBuildVersion: "25G83",
      TargetLocalDateTime: "2026-08-24T09:00:00",
    });
    expect(payload(ds.get("com.enrollgate.enforcement.qa-seed"))).toMatchObject({ TargetOSVersion: "27.0" });
  });

  it("limits each activation to its platform and models: model identifiers by LIKE, Mac board ids by device-id", () => {
    const iphone = String(payload(ds.get("com.enrollgate.activation.iphone-floor")).Predicate);
    expect(iphone).toContain('@status(device.operating-system.family) == "iOS"');
    expect(iphone).toContain('@status(device.model.identifier) LIKE "iPhone17,*"');
    // The stricter seed rule takes iPhone18,4: the fleet floor leaves it alone.
    expect(iphone).toContain(
      'NOT (@status(device.operating-system.family) == "iOS" AND @status(device.model.identifier) IN {"iPhone18,4"})',
    );
    const studio = String(payload(ds.get("com.enrollgate.activation.mac-studio")).Predicate);
    expect(studio).toContain('@status(softwareupdate.device-id) IN {"J475cAP", "J475dAP"}');
    expect(studio).not.toContain("device.model.identifier");
    const vision = String(payload(ds.get("com.enrollgate.activation.vision-floor")).Predicate);
    expect(vision).toContain('@status(device.model.identifier) LIKE "RealityDevice*"');
    expect(payload(ds.get("com.enrollgate.activation.qa-seed")).StandardConfigurations).toEqual([
      "com.enrollgate.settings.qa-seed",
      "com.enrollgate.enforcement.qa-seed",
    ]);
  });

  it("requires the beta program with the token from the environment", () => {
    expect(payload(ds.get("com.enrollgate.settings.qa-seed"))).toEqual({
      Beta: {
        ProgramEnrollment: "AlwaysOn",
        RequireProgram: { Description: "iOS 27 AppleSeed for IT", Token: "seed-token-1" },
      },
    });
  });

  it("subscribes to every softwareupdate and device status item judging reads", () => {
    const items = (payload(ds.get("com.enrollgate.status-subscriptions")).StatusItems as Array<{ Name: string }>).map(
      (i) => i.Name,
    );
    expect(items).toEqual(
      expect.arrayContaining([
        "softwareupdate.install-state",
        "softwareupdate.pending-version",
        "softwareupdate.failure-reason",
        "device.operating-system.version",
        "device.model.identifier",
        "softwareupdate.device-id",
      ]),
    );
    expect(items.every((n) => n.startsWith("softwareupdate.") || n.startsWith("device."))).toBe(true);
  });

  it("validates, every declaration, against Apple's files by an Ajv compile of the test's own", () => {
    for (const d of result.declarations) {
      expect(envelope(d), `${d.Identifier}: ${ajv.errorsText(envelope.errors)}`).toBe(true);
      const rule = /^com\.enrollgate\.[a-z]+\.([a-z0-9-]+)/.exec(d.Identifier)?.[1] ?? "";
      const platform = PLATFORM_OF_RULE[rule];
      const validate = appleValidator(d.Type, platform);
      expect(validate(d.Payload), `${d.Identifier}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it("gives stable identifiers and server tokens across runs, changed exactly where the content changes", () => {
    const again = byId(ddmDeclarations(fleetSet(), { now: NOW }).declarations);
    expect([...again.entries()].map(([id, d]) => [id, d.ServerToken])).toEqual(
      [...ds.entries()].map(([id, d]) => [id, d.ServerToken]),
    );
    const later = byId(
      ddmDeclarations(
        fleetSet(
          RULES.replace(
            "deadline: 2026-12-15T18:00:00\n      detailsURL",
            "deadline: 2026-12-22T18:00:00\n      detailsURL",
          ),
        ),
        {
          now: NOW,
        },
      ).declarations,
    );
    const changed = [...ds.keys()].filter((id) => later.get(id)?.ServerToken !== ds.get(id)?.ServerToken);
    expect(changed).toEqual(["com.enrollgate.enforcement.iphone-floor"]);
    const rotated = byId(
      ddmDeclarations(fleetSet(RULES, { QA_BETA_TOKEN: "seed-token-2" }), { now: NOW }).declarations,
    );
    expect([...ds.keys()].filter((id) => rotated.get(id)?.ServerToken !== ds.get(id)?.ServerToken)).toEqual([
      "com.enrollgate.settings.qa-seed",
    ]);
  });

  it("writes no beta settings when the token is unavailable, and says so", () => {
    const r = ddmDeclarations(fleetSet(RULES, {}), { now: NOW });
    expect(r.declarations.map((d) => d.Identifier)).not.toContain("com.enrollgate.settings.qa-seed");
    expect(JSON.stringify(r.declarations)).not.toContain("seed-token");
    expect(r.problems.map((p) => [p.code, p.rule])).toEqual([["beta-token-unset", "qa-seed"]]);
  });
});

describe("ddmDeclarations for target: latest", () => {
  it("resolves the newest full release Apple's feed offers each model, and limits the step to those models", () => {
    const rules = `rules:
  - id: ipad-latest
    platform: iPadOS
    models: ["iPad16,*"]
    minimum: "26.3.1"
    enrolled:
      target: latest
      deadline: { daysAfterRelease: 21, at: "20:00" }
`;
    const r = ddmDeclarations(fleetSet(rules), { now: NOW });
    expect(r.problems).toEqual([]);
    const ds = byId(r.declarations);
    // 26.3.1 (a) is a supplemental, never "latest"; 26.6.1 was posted on 2026-08-17.
    expect(payload(ds.get("com.enrollgate.enforcement.ipad-latest"))).toEqual({
      TargetOSVersion: "26.6.1",
      TargetLocalDateTime: "2026-09-07T20:00:00",
    });
    expect(String(payload(ds.get("com.enrollgate.activation.ipad-latest")).Predicate)).toContain(
      '@status(device.model.identifier) IN {"iPad16,1", "iPad16,2"}',
    );
    expect(r.rules).toEqual([
      {
        rule: "ipad-latest",
        platform: "iPadOS",
        mode: "enforce",
        steps: [
          {
            configuration: "com.enrollgate.enforcement.ipad-latest",
            activation: "com.enrollgate.activation.ipad-latest",
            version: "26.6.1",
            build: null,
            deadline: "2026-09-07T20:00:00",
            models: ["iPad16,1", "iPad16,2"],
          },
        ],
        settings: null,
      },
    ]);
  });
});

describe("ddmDeclarations for one device", () => {
  const set = fleetSet();
  const ids = (facts: Parameters<typeof ddmDeclarations>[1]["device"]) =>
    ddmDeclarations(set, { now: NOW, ...(facts !== undefined ? { device: facts } : {}) }).declarations.map(
      (d) => d.Identifier,
    );

  it("sends a device below its target its rule's configuration and activation", () => {
    expect(ids({ product: "iPhone17,3", osVersion: "26.5", canRequestUpdate: true })).toEqual([
      "com.enrollgate.activation.iphone-floor",
      "com.enrollgate.enforcement.iphone-floor",
    ]);
  });

  it("sends nothing to a device already at or above its target", () => {
    const r = ddmDeclarations(set, {
      now: NOW,
      device: { product: "iPhone17,3", osVersion: "26.7", canRequestUpdate: true },
    });
    expect(r.declarations).toEqual([]);
    expect(r.device).toEqual({
      rule: "iphone-floor",
      summary: "iPhone17,3 on 26.7: at or above iphone-floor's enrolled target 26.6.1; nothing to send",
    });
  });

  it("sends an iPad below the supplemental's base the base step first, and one on the base the supplemental", () => {
    expect(ids({ product: "iPad16,1", osVersion: "26.2", canRequestUpdate: true })).toEqual([
      "com.enrollgate.activation.ipad-bsi.base",
      "com.enrollgate.enforcement.ipad-bsi.base",
    ]);
    expect(ids({ product: "iPad16,1", osVersion: "26.3.1", build: "23D8133", canRequestUpdate: true })).toEqual([
      "com.enrollgate.activation.ipad-bsi",
      "com.enrollgate.enforcement.ipad-bsi",
    ]);
    expect(ids({ product: "iPad16,1", osVersion: "26.3.1", supplementalExtra: "(a)", canRequestUpdate: true })).toEqual(
      [],
    );
  });

  it("tells Macs apart by board id, and holds the render farm to its build", () => {
    const studio = { product: "Mac15,14", deviceId: "J475cAP", osVersion: "26.6.2", canRequestUpdate: true };
    expect(ids({ ...studio, build: "25G80" })).toEqual([
      "com.enrollgate.activation.mac-studio",
      "com.enrollgate.enforcement.mac-studio",
    ]);
    expect(ids({ ...studio, build: "25G83" })).toEqual([]);
    expect(ids({ product: "Mac16,1", deviceId: "J604AP", osVersion: "26.5", canRequestUpdate: true })).toEqual([
      "com.enrollgate.activation.mac-floor",
      "com.enrollgate.enforcement.mac-floor",
    ]);
  });
});
