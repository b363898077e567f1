// Model globs: the same matches a regular expression would give, without its
// backtracking. A policy glob such as `*a*a*a*a*b` and a long PRODUCT in
// MachineInfo made one request cost minutes of the gate's only thread.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileGlob } from "enrollgate/policy";
import { createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { BIN } from "../helpers/cli.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

/** The glob as a regular expression: the reference for what matches. */
const reference = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? "[^]*" : c === "?" ? "[^]" : c.replace(/[.+^${}()|[\]\\,-]/g, "\\$&")))
      .join("")}$`,
  );

describe("model globs", () => {
  it("match exactly what the equivalent regular expression matches", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*?]{0,8}$/), fc.stringMatching(/^[abAB]{0,10}$/), (pattern, model) => {
        const glob = compileGlob(pattern);
        expect(glob.test(model)).toBe(reference(pattern).test(model));
        expect(glob.testIgnoringCase(model)).toBe(new RegExp(reference(pattern).source, "i").test(model));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ["iPhone15,*", "iPhone15,2", true],
    ["iPhone15,*", "iPhone15", false],
    ["J41?sAP", "J414sAP", true],
    ["J41?sAP", "J41sAP", false],
    ["Mac-*", "Mac-27AD2F918AE68F61", true],
    ["iPhone*", "iPhone17,3\n", true],
    ["*", "", true],
  ])("%s against %j: %s", (pattern, model, matches) => {
    expect(compileGlob(pattern).test(model)).toBe(matches);
  });

  it("take at most pattern × model steps on a pattern built to backtrack", () => {
    const glob = compileGlob(`iPhone${"*a".repeat(20)}*b`);
    // A regular expression needs longer than the test may run for this.
    expect(glob.test(`iPhone${"a".repeat(60_000)}`)).toBe(false);
    expect(glob.test(`iPhone${"a".repeat(60_000)}b`)).toBe(true);
  });
});

describe("a policy glob built to backtrack, at the gate", () => {
  let gate: Running;
  let url: string;
  beforeAll(async () => {
    const dir = await tempDir({
      "p/rules.yaml": `rules:\n  - { id: trap, platform: iOS, models: ["iPhone${"*a".repeat(12)}*b"], minimum: "26.6.1" }\n`,
    });
    const port = await freePort();
    gate = run(
      process.execPath,
      [BIN, "serve", "--policies", "p", "--host", "127.0.0.1", "--port", String(port), "--verify", "off", "--no-watch"],
      { cwd: dir },
    );
    await listening(gate);
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    gate.child.kill("SIGTERM");
    await gate.exited;
  });

  it("decides a device with a 20,000-character PRODUCT at once, and the rule still applies to the devices it names", async () => {
    const device = await createIdentity(await createCA(), { kind: "ecdsa" });
    const post = async (product: string) =>
      fetch(`${url}/mdm/profile`, {
        method: "POST",
        body: await signCms(machineInfoPlist({ PRODUCT: product, OS_VERSION: "26.5" }), device),
        headers: { "content-type": "application/pkcs7-signature" },
      });
    const long = await post(`iPhone${"a".repeat(20_000)}`);
    expect(long.status).toBe(200);
    expect(await long.json()).toMatchObject({ decision: "allow", reason: "no-matching-rule" });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await post(`iPhone${"a".repeat(12)}b`)).status).toBe(403);
  });
});
