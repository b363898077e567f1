// The compiled set as plain data and back (what crosses from the compile
// worker to the serving thread): the rebuilt set decides exactly as the one
// the compiler made, for the example policies with Apple's feed.
import { describe, expect, it } from "vitest";
import { compile, type CompiledPolicySet, decide, type DeviceFacts, loadPolicySet, runTests } from "enrollgate";
import { compiledSetData, hydrateCompiledSet, HydrationError } from "enrollgate/policy";
import { bundledAppleSchema, errorSchema } from "enrollgate/apple";
import { feedAvailability, parseGdmf } from "enrollgate/feeds";
import { generatePolicySet } from "../../support/policy-sets.js";
import { mustCompile } from "../helpers/policies.js";
import { projectPath } from "../helpers/project.js";
import { readShared } from "../helpers/shared.js";

const NOW = Date.parse("2026-09-01T00:00:00Z");

describe("a compiled set, through structured clone and back", () => {
  const throughClone = (set: CompiledPolicySet) =>
    hydrateCompiledSet(structuredClone(compiledSetData(set)), {
      errors: errorSchema(bundledAppleSchema("softwareupdate.required")),
      availability: set.availability,
    });

  it("passes every example test case", async () => {
    const result = compile(await loadPolicySet(projectPath("policies")), {
      now: NOW,
      purpose: "serve",
      env: { IOS27_BETA_TOKEN: "token-1" },
    });
    if (result.set === null) throw new Error(JSON.stringify(result.findings));
    const report = runTests(throughClone(result.set), result.tests, { now: NOW });
    expect(report.results.length).toBeGreaterThan(10);
    expect(report.results.filter((r) => r.problems.length > 0).map((r) => [r.test.name, r.problems])).toEqual([]);
  });

  it("decides a grid of devices as the original does, with Apple's feed", async () => {
    const availability = feedAvailability({ gdmf: parseGdmf(readShared("feeds", "gdmf-2026-08-22.json")) });
    const result = compile(await loadPolicySet(projectPath("policies")), {
      now: NOW,
      purpose: "serve",
      env: { IOS27_BETA_TOKEN: "token-1" },
      availability,
    });
    const set = result.set;
    if (set === null) throw new Error(JSON.stringify(result.findings));
    const copy = throughClone(set);
    expect(copy.revision).toBe(set.revision);
    expect(copy.settings).toEqual(set.settings);
    expect(copy.rules.map((r) => [r.id, r.token, r.source.file])).toEqual(
      set.rules.map((r) => [r.id, r.token, r.source.file]),
    );

    const devices: DeviceFacts[] = [];
    for (const product of ["iPhone17,3", "iPhone11,2", "iPad16,3", "Mac15,3", "RealityDevice14,1", "iPhone18,4"]) {
      for (const osVersion of ["17.4", "18.5", "26.0", "26.5", "26.6.1", "27.0"]) {
        devices.push({
          product,
          osVersion,
          build: "23A1",
          deviceId: product.startsWith("Mac") ? "J514cAP" : product,
          serial: "G7QK21P0XY3D",
          canRequestUpdate: true,
        });
      }
    }
    const plain = (d: ReturnType<typeof decide>) => ({
      decision: d.decision,
      reason: d.reason,
      rule: d.rule,
      body: d.body,
      summary: d.summary,
      considered: d.considered,
    });
    for (const device of devices)
      expect(plain(decide(copy, device, NOW)), JSON.stringify(device)).toEqual(plain(decide(set, device, NOW)));
  });

  it("keeps a 1,000-rule set's decisions", () => {
    const generated = generatePolicySet({ rules: 1000, files: 3 });
    const set = mustCompile(generated.files);
    const copy = hydrateCompiledSet(structuredClone(compiledSetData(set)), {
      errors: set.errors,
      availability: set.availability,
    });
    for (const device of [...generated.blocked, ...generated.allowed])
      expect(decide(copy, device, NOW).decision).toBe(decide(set, device, NOW).decision);
  });

  it("refuses bodies rendered for a schema band this thread does not have", () => {
    const set = mustCompile({ "r.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6.1" }\n' });
    const data = compiledSetData(set);
    const tampered = {
      ...data,
      rules: data.rules.map((r) => ({
        ...r,
        bodies: r.bodies?.map((b) => ({ ...b, from: { major: 99, minor: 0, patch: 0, extra: null } })) ?? null,
      })),
    };
    expect(() => hydrateCompiledSet(tampered, { errors: set.errors, availability: set.availability })).toThrow(
      HydrationError,
    );
  });
});
