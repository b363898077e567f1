// validate, check and test through the real bin, on real files.
import { describe, expect, it } from "vitest";
import { createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { enrollgate } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const TOKEN = { IOS27_BETA_TOKEN: "test-token" };

describe("the example policies", () => {
  it("validate clean with the beta token in the environment", async () => {
    const r = await enrollgate(["validate", "policies/"], { env: TOKEN });
    expect(r.stdout).toBe("11 files checked, no findings\n");
    expect(r.code).toBe(0);
  });

  it("warn, and still pass, without the token", async () => {
    const r = await enrollgate(["validate", "policies/", "--format", "json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      findings: Array<{ code: string; file: string; rule: string }>;
      errors: number;
      warnings: number;
    };
    expect(out).toMatchObject({ errors: 0, warnings: 1 });
    expect(out.findings[0]).toMatchObject({
      code: "beta-token-unset",
      file: "policies/beta.yaml",
      rule: "qa-ios27-seed",
    });
  });

  it("fail under --strict without the token", async () => {
    const r = await enrollgate(["validate", "policies/", "--strict"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^policies\/beta.yaml:13:21 error beta-token-unset /);
  });

  it("pass their tests, every rule covered", async () => {
    const r = await enrollgate(["test", "policies/", "--require-tests"], { env: TOKEN });
    expect(r.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(r.code).toBe(0);
  });
});

describe("enrollgate validate", () => {
  it("exits 1 with file:line:col findings for a broken file", async () => {
    const dir = await tempDir({ "p/a.yaml": "rules:\n  - id: a\n    platform: iOS\n    minimum: 17.1\n" });
    const r = await enrollgate(["validate", "p"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'p/a.yaml:4:14 error version-not-string "minimum" is the YAML number 17.1; write it as a quoted string: "17.1"\n1 file checked: 1 error, 0 warnings\n',
    );
  });

  it("defaults to GitHub annotations under GitHub Actions", async () => {
    const dir = await tempDir({ "p/a.yaml": "rules:\n  - id: a\n    platform: iOS\n    minimum: 17.1\n" });
    const r = await enrollgate(["validate", "p"], { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
    expect(r.stdout.split("\n")[0]).toBe(
      '::error file=p/a.yaml,line=4,col=14,endLine=4,endColumn=18,title=enrollgate version-not-string (a)::"minimum" is the YAML number 17.1; write it as a quoted string: "17.1"',
    );
  });

  it("writes SARIF and JUnit", async () => {
    const dir = await tempDir({ "p/a.yaml": "rules:\n  - id: a\n    platform: iOS\n    minimum: 17.1\n" });
    const sarif = await enrollgate(["validate", "p", "--format", "sarif"], { cwd: dir });
    expect((JSON.parse(sarif.stdout) as { version: string }).version).toBe("2.1.0");
    const junit = await enrollgate(["validate", "p", "--format", "junit"], { cwd: dir });
    expect(junit.stdout).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="enrollgate validate" tests="1" failures="1"/,
    );
  });

  it("validates several directories as separate sets", async () => {
    const rule = 'rules:\n  - id: same\n    platform: iOS\n    minimum: "17.0"\n';
    const dir = await tempDir({ "one/a.yaml": rule, "two/a.yaml": rule });
    const r = await enrollgate(["validate", "one", "two"], { cwd: dir });
    expect(r.stdout).toBe("2 files checked, no findings\n");
  });

  it.each([
    [["validate", "missing-dir"], /policy directory missing-dir does not exist/],
    [["validate", "policies", "--now", "yesterday"], /--now "yesterday" is not a date/],
    [["validate", "policies", "--format", "xml"], /Allowed choices are text, json, github, sarif, junit/],
  ])("exits 2 for %j", async (args, message) => {
    const r = await enrollgate(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("enrollgate check", () => {
  const iphone = [
    "check",
    "--policies",
    "policies",
    "--product",
    "iPhone17,3",
    "--build",
    "23F77",
    "--now",
    "2026-11-22",
  ];

  it("--json prints DESIGN.md's shape and exits 1 when blocked", async () => {
    const r = await enrollgate([...iphone, "--os-version", "26.5", "--json"], { env: TOKEN });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      decision: "block",
      reason: "below-minimum",
      rule: "iphone-floor",
      response: {
        status: 403,
        contentType: "application/json",
        body: {
          code: "com.apple.softwareupdate.required",
          message: "Update iOS to continue setting up this iPhone.",
          description: "iPhone baseline, ticket SEC-1042",
          details: { OSVersion: "26.6.1" },
        },
      },
    });
  });

  it("exits 0 with a null response when allowed", async () => {
    const r = await enrollgate([...iphone, "--os-version", "26.6.1", "--json"], { env: TOKEN });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ decision: "allow", reason: "compliant", rule: null, response: null });
  });

  it("shows the audit body it would have sent", async () => {
    const r = await enrollgate(
      ["check", "--policies", "policies", "--product", "iPad14,8", "--os-version", "26.6", "--json"],
      { env: TOKEN },
    );
    expect(JSON.parse(r.stdout)).toMatchObject({
      decision: "allow",
      reason: "audit-only",
      rule: "ipad-next-floor",
      response: { status: 403, body: { details: { OSVersion: "26.6.1" } } },
    });
  });

  it("explains the decision for people, never printing the beta token", async () => {
    const r = await enrollgate(
      ["check", "--policies", "policies", "--product", "iPhone18,4", "--os-version", "26.6.1", "--build", "23G83"],
      { env: TOKEN },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^BLOCK {2}below-minimum {2}\(rule qa-ios27-seed\)\niPhone18,4 on iOS 26.6.1 \(23G83\) is below qa-ios27-seed's minimum 27.0; asked to update to 27.0 \(24A5264n\)\n/,
    );
    expect(r.stdout).toMatch(
      /Rules considered:\n {2}iphone-floor {3}enforce {2}not-below {2}meets minimum 26.6.1\n {2}qa-ios27-seed {2}enforce {2}decided {4}below minimum 27.0\n/,
    );
    expect(r.stdout).toContain('"Token":"<redacted>"');
    expect(r.stdout).not.toContain("test-token");
  });

  it("renders plist when the policy set says so", async () => {
    const dir = await tempDir({
      "p/enrollgate.yaml": "format: plist\n",
      "p/a.yaml": 'rules:\n  - id: a\n    platform: iOS\n    minimum: "17.6"\n',
    });
    const r = await enrollgate(["check", "--policies", "p", "--product", "iPhone15,2", "--os-version", "17.5"], {
      cwd: dir,
    });
    expect(r.stdout).toMatch(/Answer: 403 application\/xml\n<\?xml/);
  });

  it("exits 2 when the policies do not compile", async () => {
    const dir = await tempDir({ "p/a.yaml": "rules:\n  - id: a\n" });
    const r = await enrollgate(["check", "--policies", "p", "--product", "iPhone15,2", "--os-version", "17.5"], {
      cwd: dir,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/p\/a.yaml:2:5 error schema-missing-key missing required key "platform"/);
    expect(r.stderr).toMatch(/the policies in p do not compile/);
  });

  it("reads --machine-info as an XML plist or as the CMS message around it", async () => {
    const device = await createIdentity(await createCA(), { kind: "ecdsa" });
    const plist = machineInfoPlist({ OS_VERSION: "26.5", VERSION: "23F77" });
    const dir = await tempDir({
      "mi.plist": plist,
      "mi.der": await signCms(plist, device),
      "junk.bin": new Uint8Array([0x30, 0x03, 0x01, 0x01]),
    });
    for (const file of ["mi.plist", "mi.der"]) {
      const r = await enrollgate(
        ["check", "--policies", `${process.cwd()}/policies`, "--machine-info", file, "--json", "--now", "2026-11-22"],
        { cwd: dir, env: TOKEN },
      );
      expect(JSON.parse(r.stdout)).toMatchObject({ decision: "block", reason: "below-minimum", rule: "iphone-floor" });
    }
    const junk = await enrollgate(["check", "--policies", `${process.cwd()}/policies`, "--machine-info", "junk.bin"], {
      cwd: dir,
      env: TOKEN,
    });
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/junk.bin: not an XML plist, nor CMS around one/);
  });

  it("exits 2 without a device", async () => {
    const r = await enrollgate(["check", "--policies", "policies"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/describe the device with --product/);
  });
});

describe("enrollgate test", () => {
  const rules = 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "17.6"\n';

  it("reports a failing case with what differed and where", async () => {
    const dir = await tempDir({
      "p/a.yaml": rules,
      "p/a.test.yaml":
        'cases:\n  - name: old iPhone is blocked\n    facts: { product: "iPhone15,2", osVersion: "17.5" }\n    expect: { decision: allow, reason: compliant }\n',
    });
    const r = await enrollgate(["test", "p"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "  ✗ old iPhone is blocked  (p/a.test.yaml:2:11)\n      decision: expected allow, got block\n      reason: expected compliant, got below-minimum\n",
    );
    expect(r.stdout).toMatch(/0 passed, 1 failed\n$/);
  });

  it("fails a case naming a rule that does not exist", async () => {
    const dir = await tempDir({
      "p/a.yaml": rules,
      "p/a.test.yaml":
        'cases:\n  - name: x\n    facts: { product: "iPhone15,2", osVersion: "17.5" }\n    expect: { decision: block, reason: below-minimum, rule: flor }\n',
    });
    const r = await enrollgate(["test", "p"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ p\/a.test.yaml:4:61 test-unknown-rule test "x" expects rule "flor"/);
  });

  it("fails a test file with no cases, and a directory with no tests", async () => {
    const empty = await tempDir({ "p/a.yaml": rules, "p/a.test.yaml": "cases: []\n" });
    const r = await enrollgate(["test", "p"], { cwd: empty });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/test-no-cases the test file has no cases/);
    const none = await tempDir({ "p/a.yaml": rules });
    const n = await enrollgate(["test", "p"], { cwd: none });
    expect(n.code).toBe(1);
    expect(n.stdout).toMatch(/no \*\.test\.yaml files in p/);
  });

  it("--require-tests fails a rule no case expects", async () => {
    const dir = await tempDir({
      "p/a.yaml": `${rules}  - id: mac\n    platform: macOS\n    minimum: "15.0"\n`,
      "p/a.test.yaml":
        'cases:\n  - name: x\n    facts: { product: "iPhone15,2", osVersion: "17.5" }\n    expect: { decision: block, reason: below-minimum, rule: floor }\n',
    });
    expect((await enrollgate(["test", "p"], { cwd: dir })).code).toBe(0);
    const r = await enrollgate(["test", "p", "--require-tests"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ p\/a.yaml:5:9 rule-untested rule "mac" has no test case that expects it/);
  });

  it("writes JUnit", async () => {
    const r = await enrollgate(["test", "policies", "--format", "junit"], { env: TOKEN });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/<testsuites name="enrollgate test" tests="\d+" failures="0"/);
  });
});
