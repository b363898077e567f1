// `enrollgate schema`, `--help` and `--version` through the real bin.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { readProject } from "../helpers/project.js";
import { sharedPath } from "../helpers/shared.js";

const SEED = sharedPath("apple", "softwareupdate.required.yaml");

describe("enrollgate --help / --version", () => {
  it("prints usage listing the schema command", async () => {
    const r = await enrollgate(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: enrollgate/);
    expect(r.stdout).toMatch(/schema \[options\] <file>/);
  });

  it("prints the package version", async () => {
    const r = await enrollgate(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readProject("package.json")) as { version: string }).version);
  });

  it("exits 2 on an unknown command", async () => {
    const r = await enrollgate(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe("enrollgate schema", () => {
  it("prints a JSON Schema 2020-12 document", async () => {
    const r = await enrollgate(["schema", SEED]);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.required).toEqual(["code", "details"]);
    expect(schema.additionalProperties).toBe(false);
  });

  it("prunes to a platform and OS version", async () => {
    const keysAt = async (os: string) => {
      const r = await enrollgate(["schema", SEED, "--platform", "iOS", "--os", os]);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as { properties: { details: { properties: Record<string, unknown> } } };
      return Object.keys(s.properties.details.properties);
    };
    expect(await keysAt("17.4")).toEqual(["OSVersion", "BuildVersion"]);
    expect(await keysAt("17.5")).toEqual(["OSVersion", "BuildVersion", "RequireBetaProgram"]);
  });

  it("allows unknown keys in the receive direction", async () => {
    const r = await enrollgate(["schema", sharedPath("apple", "machineinfo.yaml"), "--direction", "receive"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Record<string, unknown>).additionalProperties).toBeUndefined();
  });

  it("prints responsekeys with --keys response", async () => {
    const r = await enrollgate(["schema", sharedPath("apple", "system.update.status.yaml"), "--keys", "response"]);
    expect(r.code).toBe(0);
    expect(Object.keys((JSON.parse(r.stdout) as { properties: object }).properties)).toEqual(["OSUpdateStatus"]);
  });

  it("exits 1 with a one-line reason when the payload does not apply", async () => {
    const tv = await enrollgate(["schema", SEED, "--platform", "tvOS"]);
    expect(tv.code).toBe(1);
    expect(tv.stdout).toBe("");
    expect(tv.stderr).toBe("Error Code Software Update Required is not available on tvOS\n");
    const old = await enrollgate(["schema", SEED, "--platform", "visionOS", "--os", "2.0"]);
    expect(old.code).toBe(1);
    expect(old.stderr).toBe("Error Code Software Update Required requires visionOS 26.0 or later, not 2.0\n");
  });

  it.each([
    [["schema", "missing.yaml"], /cannot read missing.yaml: ENOENT/],
    [["schema", SEED, "--platform", "Android"], /unknown platform "Android"/],
    [["schema", SEED, "--os", "17.0"], /--os needs --platform/],
    [["schema", SEED, "--platform", "iOS", "--os", "17.1.x"], /"17.1.x" is not an Apple OS version/],
    [["schema", SEED, "--direction", "sideways"], /Allowed choices are emit, receive/],
    [["schema"], /missing required argument 'file'/],
  ])("exits 2 for %j", async (args, message) => {
    const r = await enrollgate(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("exits 2 naming the line of a broken schema file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "enrollgate-"));
    await writeFile(join(dir, "broken.yaml"), "title: Broken\npayloadkeys:\n- key: A\n  type: [oops\n");
    const r = await enrollgate(["schema", "broken.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^enrollgate: broken.yaml:\d+:\d+: /);
  });
});
