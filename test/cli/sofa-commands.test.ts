// --sofa on validate and check, and feeds.sofa in enrollgate.yaml: the real
// command against the real SOFA snapshots in ../shared/feeds/.
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { readShared, sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const IOS = sharedPath("feeds", "sofa-2026-08-22", "ios_data_feed.json");
const MAC = sharedPath("feeds", "sofa-2026-08-22", "macos_data_feed.json");

const RULES = `rules:
  - id: old-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.1"
  - id: good-floor
    platform: iOS
    models: ["iPhone16,*"]
    minimum: "26.6.1"
`;

const WARNING =
  "p/rules.yaml:5:14 warning floor-leaves-exploited minimum 26.1 leaves 3 actively exploited vulnerabilities open on 5 of the 5 iOS models this rule matches, per SOFA of 2026-08-22 (all in CISA's KEV catalog): CVE-2025-14174 and CVE-2025-43529 fixed in 26.2; CVE-2026-20700 fixed in 26.3; a minimum of 26.3 closes them";

describe("validate --sofa", () => {
  it("warns floor-leaves-exploited at the rule's minimum, and exits 0", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await enrollgate(["validate", "p", "--sofa", IOS, "--now", "2026-09-01"], { cwd: dir });
    expect(r.stdout).toBe(`${WARNING}\n1 file checked: 0 errors, 1 warning\n`);
    expect(r.code).toBe(0);
  });

  it("makes it an error with --strict (exit 1)", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await enrollgate(["validate", "p", "--sofa", IOS, "--sofa", MAC, "--strict", "--now", "2026-09-01"], {
      cwd: dir,
    });
    expect(r.stdout).toContain(WARNING.replace(" warning ", " error "));
    expect(r.code).toBe(1);
  });

  it("reads feeds.sofa from enrollgate.yaml, inside the policy directory only", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "p/enrollgate.yaml": "feeds:\n  sofa: [feeds/ios.json]\n",
      "p/feeds/ios.json": readShared("feeds", "sofa-2026-08-22", "ios_data_feed.json"),
    });
    const r = await enrollgate(["validate", "p", "--now", "2026-09-01"], { cwd: dir });
    expect(r.stdout).toContain(WARNING);
    expect(r.code).toBe(0);

    const outside = await tempDir({ "p/rules.yaml": RULES, "p/enrollgate.yaml": `feeds:\n  sofa: ${IOS}\n` });
    const refused = await enrollgate(["validate", "p", "--now", "2026-09-01"], { cwd: outside });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the snapshot .*ios_data_feed\.json is refused: it is outside the policy directory/);
  });

  it("refuses a snapshot that is not a SOFA feed with exit 2 and the reason", async () => {
    const dir = await tempDir({
      "p/rules.yaml": RULES,
      "bad.json": '{"OSVersions": [], "Devices": {}, "Version": "1.0"}',
    });
    const r = await enrollgate(["validate", "p", "--sofa", "bad.json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Version is "1.0"; enrollgate reads version 2 of the SOFA feed');
  });
});

describe("check --sofa", () => {
  const check = (args: string[]) =>
    enrollgate(["check", "--policies", "policies", "--now", "2026-09-01", "--sofa", IOS, "--sofa", MAC, ...args]);

  it("lists the actively exploited CVEs the device is exposed to, each with its fix", async () => {
    const r = await check(["--product", "iPhone17,3", "--os-version", "26.1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        "Actively exploited vulnerabilities open on iPhone17,3 on iOS 26.1, per SOFA (2026-08-22):",
        "  CVE-2025-14174  fixed in 26.2  CISA KEV  the update to 26.6.1 fixes it",
        "  CVE-2025-43529  fixed in 26.2  CISA KEV  the update to 26.6.1 fixes it",
        "  CVE-2026-20700  fixed in 26.3  CISA KEV  the update to 26.6.1 fixes it",
        "",
      ].join("\n"),
    );
  });

  it("matches a Mac by its board id, and says none or unknown when that is the answer", async () => {
    const mac = await check(["--product", "Mac14,2", "--device-id", "J413AP", "--os-version", "26.2"]);
    expect(mac.stdout).toContain(
      "Actively exploited vulnerabilities open on Mac14,2 on macOS 26.2, per SOFA (2026-08-22):\n  CVE-2026-20700  fixed in 26.3",
    );
    const none = await check(["--product", "iPhone17,3", "--os-version", "26.6.1"]);
    expect(none.stdout).toContain(
      "Actively exploited vulnerabilities: none open on iPhone17,3 on iOS 26.6.1, per SOFA (2026-08-22)\n",
    );
    const unknown = await check(["--product", "iPhone99,1", "--os-version", "26.1"]);
    expect(unknown.stdout).toContain(
      "Actively exploited vulnerabilities: unknown; SOFA (2026-08-22) does not list iPhone99,1 on iOS 26.1\n",
    );
  });

  it("--json adds `exploited`: the CVEs, their fixes and KEV, and whether the asked update fixes them", async () => {
    const r = await check(["--product", "iPhone11,2", "--os-version", "18.7.2", "--json"]);
    const out = JSON.parse(r.stdout) as { decision: string; exploited: unknown };
    expect(out.decision).toBe("block");
    expect(out.exploited).toEqual([
      { cve: "CVE-2025-14174", fixedIn: "18.7.3", inKEV: true, fixedByTarget: true },
      { cve: "CVE-2025-43529", fixedIn: "18.7.3", inKEV: true, fixedByTarget: true },
    ]);
    // Without --sofa, the JSON has no such field.
    const plain = await enrollgate(
      ["check", "--policies", "policies", "--product", "iPhone11,2"].concat([
        "--os-version",
        "18.7.2",
        "--now",
        "2026-09-01",
        "--json",
      ]),
    );
    expect(Object.keys(JSON.parse(plain.stdout) as object)).not.toContain("exploited");
  });
});
