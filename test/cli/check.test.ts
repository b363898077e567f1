// `enrollgate check` through the real bin (issue 15's rough edges): refusing
// what the gate could not read, reading MachineInfo as people capture it,
// explaining decisions made before any rule, and deciding as `serve` does.
import { describe, expect, it } from "vitest";
import { base64, base64url, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { enrollgate } from "../helpers/cli.js";
import { spawnGate } from "../helpers/gate-process.js";
import { eventually } from "../helpers/http.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = 'rules:\n  - { id: iphone-floor, platform: iOS, minimum: "26.6" }\n';
const NOW = ["--now", "2026-09-01"];

async function check(args: string[], files: Record<string, string | Uint8Array> = {}) {
  const dir = await tempDir({ "p/rules.yaml": RULES, ...files });
  return enrollgate(["check", "--policies", "p", ...NOW, ...args], { cwd: dir });
}

describe("enrollgate check refuses what the gate could not read", () => {
  it.each([
    [
      ["--os-version", "26.x"],
      'enrollgate: --os-version: "26.x" is not an Apple OS version (expected MAJOR[.MINOR[.PATCH]] with an optional " (a)" extra, e.g. "17.6.1" or "17.0 (a)")\n',
    ],
    [
      ["--os-version", "26.5", "--build", "23F77; rm"],
      'enrollgate: --build: "23F77; rm" is not an Apple build number (expected e.g. "21G93", "20A242a" or "21E5212f")\n',
    ],
    [
      ["--os-version", "26.5", "--supplemental-extra", "a"],
      'enrollgate: --supplemental-extra: "a" is not a supplemental OS version extra (expected "(a)", "(b)", ...)\n',
    ],
    [
      ["--os-version", "1.2.3.4", "--supplemental-build", ""],
      'enrollgate: --os-version: "1.2.3.4" is not an Apple OS version (expected MAJOR[.MINOR[.PATCH]] with an optional " (a)" extra, e.g. "17.6.1" or "17.0 (a)"); --supplemental-build: "" is not an Apple build number (expected e.g. "21G93", "20A242a" or "21E5212f")\n',
    ],
  ])("%j: exit 2 with the reason", async (flags, stderr) => {
    const r = await check(["--product", "iPhone17,3", ...flags]);
    expect(r).toMatchObject({ code: 2, stdout: "", stderr });
  });

  it("refuses --machine-info together with fact flags", async () => {
    const r = await check(["--machine-info", "mi.plist", "--os-version", "26.6", "--can-update"], {
      "mi.plist": machineInfoPlist(),
    });
    expect(r).toMatchObject({
      code: 2,
      stdout: "",
      stderr:
        "enrollgate: --machine-info describes the whole device; drop --os-version, --can-update (or describe the device with flags alone)\n",
    });
  });
});

describe("enrollgate check reads MachineInfo in any form a device sends", () => {
  it("the XML plist, DER, PEM, standard and URL-safe base64, wrapped or with the header's name: one decision", async () => {
    const device = await createIdentity(await createCA(), { kind: "ecdsa" });
    const plist = machineInfoPlist({ OS_VERSION: "26.5", VERSION: "23F77" });
    const der = await signCms(plist, device);
    const b64 = base64(der);
    const files: Record<string, string | Uint8Array> = {
      "mi.plist": plist,
      "mi.der": der,
      "mi.pem": `-----BEGIN PKCS7-----\n${b64.replace(/.{64}/g, "$&\n")}\n-----END PKCS7-----\n`,
      "mi.b64": `${b64}\n`,
      "mi.b64url": base64url(der),
      "mi.wrapped": b64.replace(/.{76}/g, "$&\r\n"),
      "mi.header": `x-apple-aspen-deviceinfo: ${b64}\r\n`,
      "mi.query": `deviceinfo=${encodeURIComponent(b64)}`,
      "mi.plist.b64": Buffer.from(plist).toString("base64"),
    };
    expect(b64).toMatch(/[+/]/); // the two alphabets differ in this message
    const dir = await tempDir({ "p/rules.yaml": RULES, ...files });
    for (const file of Object.keys(files)) {
      const r = await enrollgate(["check", "--policies", "p", "--machine-info", file, "--json", ...NOW], { cwd: dir });
      expect([file, r.code, r.stderr]).toEqual([file, 1, ""]);
      expect(JSON.parse(r.stdout)).toMatchObject({ decision: "block", reason: "below-minimum", rule: "iphone-floor" });
    }
  });

  it.each([
    ["empty.txt", "", "the file is empty"],
    ["words.txt", "hello, world", "not MachineInfo: expected the XML plist, the CMS message around it (DER or PEM)"],
    [
      "noise.b64",
      Buffer.from("just some text").toString("base64"),
      "decodes to neither a CMS message nor an XML plist",
    ],
    ["cut.pem", "-----BEGIN PKCS7-----\nMIIB\n", "the PEM block is not closed by a matching -----END line"],
    ["bad.pem", "-----BEGIN PKCS7-----\n!!!!\n-----END PKCS7-----\n", "the PEM block (PKCS7) is not base64"],
    ["cut.b64", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "not an XML plist, nor CMS around one"],
    ["query.txt", "deviceinfo=%E0%A4%A", "the deviceinfo parameter is not valid percent-encoding"],
    ["huge.b64", "A".repeat(1024 * 1024 + 1), "MachineInfo is a few KiB"],
  ])("%s: exit 2 with what is wrong, no crash", async (name, content, message) => {
    const r = await check(["--machine-info", name], { [name]: content });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`enrollgate: ${name}: `);
    expect(r.stderr).toContain(message);
  });
});

describe("enrollgate check explains decisions made before any rule", () => {
  it("unsupported-os says no rule was evaluated, not that rules did not match", async () => {
    const r = await check(["--product", "iPhone10,3", "--os-version", "16.7.10"]);
    expect(r).toMatchObject({
      code: 0,
      stderr: "",
      stdout: [
        "ALLOW  unsupported-os",
        "iOS 16.7.10 cannot receive com.apple.softwareupdate.required",
        "",
        "No rule was evaluated: the gate lets through a device it cannot send com.apple.softwareupdate.required to, whatever the rules say.",
        "",
      ].join("\n"),
    });
  });

  it("cannot-request-update says no rule was evaluated, and what the rules would decide", async () => {
    const r = await check(["--product", "iPhone17,3", "--os-version", "26.5", "--can-update", "false"]);
    expect(r).toMatchObject({
      code: 0,
      stderr: "",
      stdout: [
        "ALLOW  cannot-request-update",
        "iPhone17,3 did not report MDM_CAN_REQUEST_SOFTWARE_UPDATE: true",
        "",
        "No rule was evaluated: Setup Assistant cannot update a device that does not report MDM_CAN_REQUEST_SOFTWARE_UPDATE: true, so the gate lets it through rather than strand it, whatever the rules say.",
        "Were it to report MDM_CAN_REQUEST_SOFTWARE_UPDATE: true: BLOCK  below-minimum  (rule iphone-floor)",
        "iPhone17,3 on iOS 26.5 is below iphone-floor's minimum 26.6; asked to update to 26.6",
        "",
      ].join("\n"),
    });
  });
});

describe("enrollgate check decides as serve does with the same feeds", () => {
  // 26.7 is not in the feed: an error for validate, a warning for the gate, which decides per device.
  const rules = [
    "rules:",
    '  - { id: iphone-floor, platform: iOS, models: ["iPhone17,*"], minimum: "26.6", target: "26.7" }',
    '  - { id: older-floor, platform: iOS, models: ["iPhone15,*"], minimum: "26.6" }',
    "",
  ].join("\n");
  const gdmf = JSON.stringify({
    PublicAssetSets: {
      iOS: [
        {
          ProductVersion: "26.6",
          Build: "23G80",
          PostingDate: "2026-08-18",
          ExpirationDate: "2027-12-31",
          SupportedDevices: ["iPhone17,3", "iPhone15,2"],
        },
      ],
    },
  });

  it("a GDMF finding the gate serves with does not make check refuse, and both decide alike", async () => {
    const ca = await createCA();
    const device = await createIdentity(ca, { kind: "ecdsa" });
    const files = { "p/rules.yaml": rules, "gdmf.json": gdmf, "ca.pem": ca.pem };
    const devices = [
      { PRODUCT: "iPhone17,3", OS_VERSION: "26.5", VERSION: "23F77" },
      { PRODUCT: "iPhone15,2", OS_VERSION: "26.5", VERSION: "23F77" },
      { PRODUCT: "iPhone15,2", OS_VERSION: "26.6", VERSION: "23G80" },
    ];
    const dir = await tempDir(files);
    for (const [i, fields] of devices.entries())
      await tempDirWrite(dir, `mi${i}.der`, await signCms(machineInfoPlist(fields), device));

    const validate = await enrollgate(["validate", "p", "--gdmf", "gdmf.json"], { cwd: dir });
    expect(validate.code).toBe(1);
    expect(validate.stdout).toContain("error target-not-in-feed Apple's feed does not list iOS 26.7");

    const checked: Array<{ reason: string; rule: string | null; status: number }> = [];
    for (const i of devices.keys()) {
      const r = await enrollgate(
        ["check", "--policies", "p", "--gdmf", "gdmf.json", "--machine-info", `mi${i}.der`, "--json"],
        {
          cwd: dir,
        },
      );
      expect(r.stderr).toBe(
        "enrollgate: warning: p/rules.yaml:2:89 target-not-in-feed Apple's feed does not list iOS 26.7 (the gate serves with this warning)\n",
      );
      const json = JSON.parse(r.stdout) as { reason: string; rule: string | null; response: { status: number } | null };
      checked.push({ reason: json.reason, rule: json.rule, status: json.response?.status ?? 200 });
    }
    expect(checked.map((c) => c.reason)).toEqual(["target-unavailable", "below-minimum", "compliant"]);

    const gate = await spawnGate(files, ["--gdmf", "gdmf.json", "--verify", "enforce", "--trust-anchor", "ca.pem"]);
    const served: Array<{ reason: unknown; rule: unknown; status: number }> = [];
    try {
      const decisions = () => gate.running.lines.filter((l) => l.event === "decision");
      for (const [i, fields] of devices.entries()) {
        const der = await signCms(machineInfoPlist(fields), device);
        const res = await fetch(`${gate.url}/mdm/enroll`, { headers: { "x-apple-aspen-deviceinfo": base64(der) } });
        await res.arrayBuffer();
        // The log line is written on the gate's own time: wait for it rather than race it.
        await eventually(() => decisions().length > i, "the decision log line");
        const logged = decisions()[i];
        served.push({ reason: logged?.reason, rule: logged?.rule ?? null, status: res.status });
      }
    } finally {
      await gate.stop();
    }
    expect(served).toEqual(checked);
  });
});

async function tempDirWrite(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const { writeFile } = await import("node:fs/promises");
  await writeFile(`${dir}/${name}`, bytes);
}
