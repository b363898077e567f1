// Silent weakening (issue 11, class 13): an emptied rule or test file is an
// error, not fewer rules or tests; and every reload that protects less than
// the set it replaces says so in the log, change by change.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeWeakening, type PolicySnapshot, weakenings } from "enrollgate/policy";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { BIN, enrollgate } from "../helpers/cli.js";
import { eventually } from "../helpers/http.js";
import { mustCompile } from "../helpers/policies.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const HINT = "write rules: [] to enforce nothing on purpose";

describe("empty files, in validate and test", () => {
  const validate = async (files: Record<string, string>) => {
    const r = await enrollgate(["validate", "p", "--format", "json"], { cwd: await tempDir(files) });
    return {
      code: r.code,
      findings: (
        JSON.parse(r.stdout) as {
          findings: Array<{ file: string; line: number; code: string; severity: string; message: string }>;
        }
      ).findings,
    };
  };
  const floor = 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6.1" }\n';

  it.each([
    ["empty", ""],
    [
      "comment-only",
      "# yaml-language-server: $schema=../schemas/policy.schema.json\n# the iPad rules moved to ipad.yaml\n",
    ],
    ["whitespace and a document marker", "\n  \n---\n"],
  ])("an %s rule file is an error that says how to enforce nothing on purpose", async (_what, text) => {
    const { code, findings } = await validate({ "p/rules.yaml": floor, "p/ipad.yaml": text });
    expect(code).toBe(1);
    expect(findings).toEqual([
      expect.objectContaining({
        file: "p/ipad.yaml",
        line: 1,
        severity: "error",
        code: "empty-rule-file",
        message: expect.stringContaining(HINT),
      }),
    ]);
  });

  it("rules: [] written out is fine", async () => {
    expect(await validate({ "p/rules.yaml": floor, "p/ipad.yaml": "# nothing for iPads yet\nrules: []\n" })).toEqual({
      code: 0,
      findings: [],
    });
  });

  it.each([
    ["empty", "", "test-no-cases", /the test file is empty/],
    ["comment-only", "# cases to come\n", "test-no-cases", /the test file is empty/],
    ["without a cases key", "name: floor tests\n", "schema-missing-key", /missing required key "cases"/],
    ["with an empty list", "cases: []\n", "test-no-cases", /has no cases/],
  ])("a test file %s fails validate and test", async (_what, text, code, message) => {
    const dir = await tempDir({ "p/rules.yaml": floor, "p/floor.test.yaml": text });
    const v = await enrollgate(["validate", "p", "--format", "json"], { cwd: dir });
    expect(v.code).toBe(1);
    expect((JSON.parse(v.stdout) as { findings: Array<{ code: string; message: string }> }).findings).toContainEqual(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
    const t = await enrollgate(["test", "p"], { cwd: dir });
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(new RegExp(`✗ p/floor.test.yaml:1:\\d+ ${code} `));
  });
});

describe("weakenings(), before and after", () => {
  const snapshot = (rules: string, settings: Partial<PolicySnapshot["settings"]> = {}): PolicySnapshot => ({
    rules: mustCompile({ "r.yaml": rules }).rules,
    settings: { verify: "enforce", noMachineInfo: "allow", ...settings },
  });
  const base = [
    "rules:",
    '  - { id: iphone, platform: iOS, models: ["iPhone15,*", "iPhone16,*"], minimum: "26.6.1", minimumBuild: "23G80", target: "26.6.2", whenUnavailable: block }',
    '  - { id: ipad, platform: iPadOS, minimum: "26.6" }',
    '  - { id: mac, platform: macOS, minimum: "26.5", exempt: { serials: [C02ZK1ABMD6T], until: 2026-12-31 } }',
    "",
  ].join("\n");

  it("finds nothing between a set and itself, or a stricter one", () => {
    expect(weakenings(snapshot(base), snapshot(base))).toEqual([]);
    const stricter = base
      .replace('minimum: "26.6"', 'minimum: "26.7"')
      .replace('models: ["iPhone15,*", "iPhone16,*"]', 'models: ["iPhone*"]');
    expect(weakenings(snapshot(base), snapshot(stricter, {}))).toEqual([]);
    expect(weakenings(snapshot(base, { verify: "audit" }), snapshot(base, { verify: "enforce" }))).toEqual([]);
  });

  it("names every change that protects less, with its old and new value", () => {
    const weaker = [
      "rules:",
      '  - { id: iphone, platform: iOS, models: ["iPhone16,*"], minimum: "26.6.1", target: "26.6.1", mode: audit, activeFrom: 2027-01-01 }',
      '  - { id: mac, platform: macOS, minimum: "26.4", exempt: { serials: [C02ZK1ABMD6T, C02ZK1ABMD6U] } }',
      "",
    ].join("\n");
    const found = weakenings(snapshot(base, { noMachineInfo: "reject" }), snapshot(weaker, { verify: "off" }));
    expect(found.map(describeWeakening)).toEqual([
      "rule iphone: minimumBuild lowered from 23G80 to none",
      "rule iphone: target lowered from 26.6.2 to 26.6.1",
      "rule iphone: models narrowed from iPhone15,*, iPhone16,* to iPhone16,*",
      "rule iphone: mode relaxed from enforce to audit",
      "rule iphone: activeFrom moved later from always to 2027-01-01",
      "rule iphone: whenUnavailable relaxed from block to allow",
      "rule ipad removed (was iPadOS every model, minimum 26.6)",
      "rule mac: minimum lowered from 26.5 to 26.4",
      "rule mac: exemption widened from C02ZK1ABMD6T until 2026-12-31 to C02ZK1ABMD6T, C02ZK1ABMD6U",
      "verify relaxed from enforce to off",
      "noMachineInfo relaxed from reject to allow",
    ]);
  });

  it("treats a rule moved to another platform, or renamed, as the old rule gone", () => {
    const moved = snapshot(
      'rules:\n  - { id: iphone, platform: iPadOS, minimum: "26.6.1" }\n  - { id: ipad-floor, platform: iPadOS, minimum: "26.6" }\n',
    );
    expect(weakenings(snapshot(base), moved).map((w) => [w.change, w.rule])).toEqual([
      ["platform-changed", "iphone"],
      ["rule-removed", "ipad"],
      ["rule-removed", "mac"],
    ]);
  });

  it("counts trusted proxies added, in a list or a comma list", () => {
    const s = snapshot(base);
    expect(
      weakenings(
        { ...s, settings: { ...s.settings, trustProxy: [] } },
        { ...s, settings: { ...s.settings, trustProxy: ["0.0.0.0/0"] } },
      ),
    ).toEqual([{ change: "trusted-proxies-added", rule: null, from: "none", to: "0.0.0.0/0" }]);
    expect(
      weakenings(
        { ...s, settings: { ...s.settings, trustProxy: ["10.0.0.1"] } },
        { ...s, settings: { ...s.settings, trustProxy: ["10.0.0.1, 10.0.0.0/8"] } },
      ).map(describeWeakening),
    ).toEqual(["trusted proxies added from 10.0.0.1 to 10.0.0.1, 10.0.0.0/8"]);
    expect(
      weakenings(
        { ...s, settings: { ...s.settings, trustProxy: ["10.0.0.1", "loopback"] } },
        { ...s, settings: { ...s.settings, trustProxy: ["LOOPBACK"] } },
      ),
    ).toEqual([]);
  });

  it("names enforcement after enrollment given up: the enrolled block removed, its target lowered, its deadline later", () => {
    const enrolled = (target: string, deadline: string) =>
      `rules:\n  - id: iphone\n    platform: iOS\n    minimum: "26.5"\n    target: "26.6.2"\n${
        target === "" ? "" : `    enrolled: { target: "${target}", deadline: ${deadline} }\n`
      }`;
    const was = snapshot(enrolled("26.6.2", "2026-12-15T18:00:00"));
    expect(weakenings(was, snapshot(enrolled("26.6.2", "2026-12-15T18:00:00")))).toEqual([]);
    expect(weakenings(was, snapshot(enrolled("26.6.2", "2026-12-10T09:00:00")))).toEqual([]);
    expect(weakenings(was, snapshot(enrolled("26.6", "2027-01-15T18:00:00"))).map(describeWeakening)).toEqual([
      "rule iphone: enrolled target lowered from 26.6.2 to 26.6",
      "rule iphone: enrolled deadline moved later from 2026-12-15T18:00:00 to 2027-01-15T18:00:00",
    ]);
    expect(weakenings(was, snapshot(enrolled("", ""))).map(describeWeakening)).toEqual([
      "rule iphone: enrolled enforcement removed from target 26.6.2 by 2026-12-15T18:00:00 to none",
    ]);
  });

  it("counts trust anchors added to the ones in effect", () => {
    const s = snapshot(base);
    expect(weakenings({ ...s, trustAnchors: ["AA"] }, { ...s, trustAnchors: ["AA", "BB"] })).toEqual([
      { change: "trust-anchors-added", rule: null, from: "1 anchors", to: "1 more: BB" },
    ]);
    expect(weakenings({ ...s, trustAnchors: ["AA", "BB"] }, { ...s, trustAnchors: ["BB"] })).toEqual([]);
  });
});

describe("reloads of a running gate", () => {
  let dir: string;
  let gate: Running;
  let url: string;
  let device: Identity;
  const rules = (iphone: string, ipad: boolean) =>
    `rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "${iphone}" }\n${ipad ? '  - { id: ipad-floor, platform: iPadOS, minimum: "26.6.1" }\n' : ""}`;

  beforeAll(async () => {
    const ca = await createCA();
    device = await createIdentity(ca, { kind: "ecdsa" });
    dir = await tempDir({
      "p/rules.yaml": rules("26.6.1", true),
      "p/enrollgate.yaml": "verify: enforce\ntrustAnchors: [ca.pem]\n",
      "p/ca.pem": ca.pem,
    });
    const port = await freePort();
    gate = run(
      process.execPath,
      [BIN, "serve", "--policies", "p", "--host", "127.0.0.1", "--port", String(port), "--no-watch"],
      { cwd: dir },
    );
    await listening(gate);
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    gate.child.kill("SIGTERM");
    await gate.exited;
  });

  const status = async (product: string, os: string) =>
    (
      await fetch(`${url}/mdm/enroll`, {
        headers: {
          "x-apple-aspen-deviceinfo": base64(
            await signCms(machineInfoPlist({ PRODUCT: product, OS_VERSION: os }), device),
          ),
        },
      })
    ).status;
  const count = (event: string) => gate.lines.filter((l) => l.event === event).length;
  async function reload(): Promise<void> {
    const done = count("policy-reload") + count("policy-reload-failed");
    gate.child.kill("SIGHUP");
    await eventually(() => count("policy-reload") + count("policy-reload-failed") > done, "the reload");
  }

  it("an emptied rule file fails the reload with the hint, and the rules it held keep deciding", async () => {
    expect(await status("iPad16,3", "26.5")).toBe(403);
    await writeFile(join(dir, "p/rules.yaml"), "# emptied by a bad merge\n");
    await reload();
    expect(gate.lines.at(-1)).toMatchObject({
      event: "policy-reload-failed",
      findings: [
        `p/rules.yaml:1:1 empty-rule-file the rule file is empty (nothing but comments or whitespace), which would silently remove the rules it held; ${HINT}`,
      ],
    });
    expect(await status("iPad16,3", "26.5")).toBe(403);
    expect(await status("iPhone17,3", "26.5")).toBe(403);
  });

  it("a reload that removes a rule, lowers a minimum and relaxes verification logs a warning naming each, and counts them", async () => {
    await writeFile(join(dir, "p/rules.yaml"), rules("26.5", false));
    await writeFile(join(dir, "p/enrollgate.yaml"), "verify: audit\ntrustAnchors: [ca.pem]\n");
    const before = count("policy-weakened");
    await reload();
    // The warning follows the reload line on stdout, perhaps in a later chunk.
    await eventually(() => count("policy-weakened") === before + 1, "the warning");
    const line = gate.lines.find((l) => l.event === "policy-weakened");
    expect(line).toMatchObject({
      level: 40,
      reason: "SIGHUP",
      changes: [
        { change: "minimum-lowered", rule: "iphone-floor", from: "26.6.1", to: "26.5" },
        { change: "rule-removed", rule: "ipad-floor", from: "iPadOS every model, minimum 26.6.1", to: "removed" },
        { change: "verification-relaxed", rule: null, from: "enforce", to: "audit" },
      ],
      msg: "the new policy set protects less: rule iphone-floor: minimum lowered from 26.6.1 to 26.5; rule ipad-floor removed (was iPadOS every model, minimum 26.6.1); verify relaxed from enforce to audit",
    });
    // The new set is in effect: the warning does not stop it.
    expect(await status("iPad16,3", "26.5")).toBe(200);
    expect(await status("iPhone17,3", "26.5")).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^enrollgate_policy_weakenings_total\{change="minimum-lowered"\} 1$/m);
    expect(metrics).toMatch(/^enrollgate_policy_weakenings_total\{change="rule-removed"\} 1$/m);
    expect(metrics).toMatch(/^enrollgate_policy_weakenings_total\{change="verification-relaxed"\} 1$/m);
  });

  it("a reload that trusts every peer as a proxy logs a warning naming it", async () => {
    await writeFile(join(dir, "p/enrollgate.yaml"), "verify: audit\ntrustAnchors: [ca.pem]\ntrustProxy: [0.0.0.0/0]\n");
    const before = count("policy-weakened");
    await reload();
    await eventually(() => count("policy-weakened") === before + 1, "the warning");
    expect(gate.lines.filter((l) => l.event === "policy-weakened").at(-1)).toMatchObject({
      changes: [{ change: "trusted-proxies-added", rule: null, from: "none", to: "0.0.0.0/0" }],
      msg: "the new policy set protects less: trusted proxies added from none to 0.0.0.0/0",
    });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
      /^enrollgate_policy_weakenings_total\{change="trusted-proxies-added"\} 1$/m,
    );
  });

  it("a reload that only strengthens logs no warning", async () => {
    await writeFile(join(dir, "p/rules.yaml"), rules("26.6.1", true));
    await writeFile(join(dir, "p/enrollgate.yaml"), "verify: enforce\ntrustAnchors: [ca.pem]\n");
    const before = count("policy-weakened");
    await reload();
    expect(gate.lines.at(-1)).toMatchObject({ event: "policy-reload", changed: true });
    // A decision logged after the reload: anything the reload logged is on stdout before it.
    const decisions = count("decision");
    expect(await status("iPad16,3", "26.5")).toBe(403);
    await eventually(() => count("decision") > decisions, "the decision line");
    expect(count("policy-weakened")).toBe(before);
  });
});
