// `npm run build` generates validator code for the schemas enrollgate ships
// (scripts/build-validators.mjs), and the installed CLI uses that code instead
// of compiling the schemas at startup. These tests hold the generated code to
// the schemas: for the same document, the same verdict and the same errors as
// Ajv compiling the schema at run time (which is what the tests from source use).
import { createRequire } from "node:module";
import { readdirSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import {
  bundledAppleSchema,
  createAjv,
  formatOsVersion,
  PLATFORMS,
  precompiledKey,
  toJsonSchema,
  versionBoundaries,
} from "enrollgate/apple";
import { ddmDeclarations } from "enrollgate";
import { fleetSet, NOW } from "../ddm/fixtures.js";
import { projectPath, readProject } from "../helpers/project.js";

const requireDist = createRequire(projectPath("dist", "index.js"));

function loadGenerated<T>(path: string): T {
  try {
    return requireDist(path) as T;
  } catch (e) {
    throw new Error(`${path} is missing: run \`npm run build\` first (npm test does) — ${String(e)}`, { cause: e });
  }
}

/** What a user sees of a validation: the verdict and where and why it failed. */
function outcome(validate: ValidateFunction, doc: unknown) {
  const valid = validate(doc);
  const errors = (validate.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath} ${e.keyword} ${e.schemaPath} ${JSON.stringify(e.params)}`,
  );
  return { valid, errors: errors.sort() };
}

describe("generated policy validators", () => {
  const generated = loadGenerated<Record<"rules" | "tests" | "settings", ValidateFunction>>(
    "./policy/policy-validators.cjs",
  );
  const schema = JSON.parse(readProject("schemas", "policy.schema.json")) as { $id: string };
  // The options of src/policy/policy-schema.ts, with the meta-schema check on.
  const ajv = new Ajv2020({ strict: true, allErrors: true, verbose: true });
  ajv.addSchema(schema);
  const runtime = (def: string) => {
    const v = ajv.getSchema(`${schema.$id}#/$defs/${def}`);
    if (v === undefined) throw new Error(`no $defs/${def}`);
    return v;
  };
  const kinds = { rules: runtime("ruleFile"), tests: runtime("testFile"), settings: runtime("settingsFile") } as const;

  const examples = readdirSync(projectPath("policies"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => {
      const kind = f === "enrollgate.yaml" ? "settings" : f.endsWith(".test.yaml") ? "tests" : "rules";
      return [f, kind, parse(readProject("policies", f)) as unknown] as const;
    });
  const broken: ReadonlyArray<readonly [string, "rules" | "tests" | "settings", unknown]> = [
    ["misspelt key", "rules", { rules: [{ id: "a", platform: "iOS", minimum: "17.0", minimun: "17.0" }] }],
    ["number version", "rules", { rules: [{ id: "a", platform: "iOS", minimum: 17.1 }] }],
    [
      "literal token",
      "rules",
      { rules: [{ id: "a", platform: "iOS", minimum: "17.0", betaProgram: { description: "b", token: "abc" } }] },
    ],
    ["bad id and missing platform", "rules", { rules: [{ id: "Bad Id", minimum: "17.0" }] }],
    ["wrong platform", "rules", { rules: [{ id: "a", platform: "ios", minimum: "17.0" }] }],
    ["not a mapping", "rules", ["a", "b"]],
    ["case without expect", "tests", { cases: [{ name: "x", device: { product: "iPhone15,2", osVersion: "17.0" } }] }],
    ["unknown setting", "settings", { verfy: "enforce" }],
    ["setting wrong type", "settings", { verify: 3 }],
  ];

  it("exist for every file kind", () => {
    expect(Object.keys(generated).sort()).toEqual(["rules", "settings", "tests"]);
  });

  it.each([...examples, ...broken])("agree with the runtime-compiled schema on %s", (_name, kind, doc) => {
    const want = outcome(kinds[kind], doc);
    expect(outcome(generated[kind], doc)).toEqual(want);
  });

  it("agree on the broken documents by failing them", () => {
    for (const [, kind, doc] of broken) expect(generated[kind](doc)).toBe(false);
  });
});

describe("generated softwareupdate.required validators", () => {
  const table = loadGenerated<Record<string, ValidateFunction>>("./apple/apple-validators.cjs");
  const doc = bundledAppleSchema("softwareupdate.required");
  const ajv = createAjv({ validateSchema: true });
  const targets = PLATFORMS.flatMap((platform) =>
    versionBoundaries(doc, platform).map((bound) => ({
      platform,
      os: formatOsVersion(bound),
      direction: "emit" as const,
    })),
  ).filter((t) => toJsonSchema(doc, t).applicable);

  const bodies: ReadonlyArray<readonly [string, unknown]> = [
    ["a minimal body", { code: "com.apple.softwareupdate.required", details: { OSVersion: "17.4" } }],
    [
      "a full body",
      {
        code: "com.apple.softwareupdate.required",
        description: "d",
        message: "m",
        details: { OSVersion: "17.4", BuildVersion: "21E219" },
      },
    ],
    [
      "a beta body",
      {
        code: "com.apple.softwareupdate.required",
        details: { OSVersion: "26.0", RequireBetaProgram: { Description: "b", Token: "t" } },
      },
    ],
    ["a wrong code", { code: "com.apple.other", details: { OSVersion: "17.4" } }],
    ["no details", { code: "com.apple.softwareupdate.required" }],
    ["an unknown key", { code: "com.apple.softwareupdate.required", details: { OSVersion: "17.4", Extra: 1 } }],
    ["a number version", { code: "com.apple.softwareupdate.required", details: { OSVersion: 17.4 } }],
    [
      "a half beta program",
      { code: "com.apple.softwareupdate.required", details: { OSVersion: "26.0", RequireBetaProgram: { Token: "t" } } },
    ],
    ["not an object", "com.apple.softwareupdate.required"],
  ];

  it("cover every platform band the schema has, and nothing else", () => {
    expect(Object.keys(table).sort()).toEqual(targets.map((t) => precompiledKey("softwareupdate.required", t)).sort());
    expect(targets.length).toBeGreaterThan(4);
  });

  it.each(targets.map((t) => [`${t.platform} ${t.os}`, t] as const))(
    "agree with the runtime-compiled schema for %s",
    (_name, target) => {
      const conversion = toJsonSchema(doc, target);
      if (!conversion.applicable) throw new Error("filtered above");
      const runtime = ajv.compile(conversion.schema);
      const generated = table[precompiledKey("softwareupdate.required", target)];
      expect(generated).toBeTypeOf("function");
      if (generated === undefined) return;
      let accepted = 0;
      for (const [, body] of bodies) {
        const want = outcome(runtime, body);
        expect(outcome(generated, body)).toEqual(want);
        if (want.valid) accepted++;
      }
      // Every band accepts at least the minimal body and rejects the broken ones.
      expect(accepted).toBeGreaterThanOrEqual(1);
      expect(accepted).toBeLessThanOrEqual(3);
    },
  );
});

describe("generated DDM validators", () => {
  const table = loadGenerated<Record<string, ValidateFunction>>("./apple/ddm-validators.cjs");
  const ajv = createAjv({ validateSchema: true });
  const names = (dir: string) =>
    readdirSync(projectPath("schemas", ...dir.split("/")))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `${dir}/${f.slice(0, -".yaml".length)}` as Parameters<typeof bundledAppleSchema>[0]);
  const SCHEMA_OF: Record<string, string> = {
    "com.apple.configuration.softwareupdate.enforcement.specific": "ddm/softwareupdate.enforcement.specific",
    "com.apple.configuration.softwareupdate.settings": "ddm/softwareupdate.settings",
    "com.apple.activation.simple": "ddm/activation.simple",
    "com.apple.configuration.management.status-subscriptions": "ddm/management.status-subscriptions",
  };
  const { declarations } = ddmDeclarations(fleetSet(), { now: NOW });

  it("cover each shipped declaration schema for any platform and every band, and each status item as received", () => {
    for (const name of names("ddm")) {
      const doc = bundledAppleSchema(name);
      expect(table[precompiledKey(name, { direction: "emit" })], name).toBeTypeOf("function");
      for (const platform of PLATFORMS)
        for (const bound of versionBoundaries(doc, platform)) {
          const target = { platform, os: formatOsVersion(bound), direction: "emit" as const };
          expect(table[precompiledKey(name, target)] !== undefined, `${name} ${platform} ${target.os}`).toBe(
            toJsonSchema(doc, target).applicable,
          );
        }
    }
    for (const name of names("ddm/status"))
      expect(table[precompiledKey(name, { direction: "receive" })], name).toBeTypeOf("function");
  });

  it("agree with the runtime-compiled schemas on real declarations and broken copies of them", () => {
    expect(declarations.length).toBeGreaterThan(4);
    let compared = 0;
    for (const d of declarations) {
      const name = SCHEMA_OF[d.Type] as Parameters<typeof bundledAppleSchema>[0] | undefined;
      expect(name, d.Type).toBeDefined();
      if (name === undefined) continue;
      const doc = bundledAppleSchema(name);
      const payloads = [d.Payload, { ...d.Payload, NotAnAppleKey: 1 }, {}, "not an object"];
      const targets = [
        { direction: "emit" as const },
        ...PLATFORMS.flatMap((platform) =>
          versionBoundaries(doc, platform).map((b) => ({
            platform,
            os: formatOsVersion(b),
            direction: "emit" as const,
          })),
        ),
      ];
      for (const target of targets) {
        const conversion = toJsonSchema(doc, target);
        if (!conversion.applicable) continue;
        const runtime = ajv.compile(conversion.schema);
        const generated = table[precompiledKey(name, target)];
        expect(generated).toBeTypeOf("function");
        if (generated === undefined) continue;
        for (const p of payloads) expect(outcome(generated, p)).toEqual(outcome(runtime, p));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(10);
  });
});
