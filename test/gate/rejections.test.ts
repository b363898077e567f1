// One table of the errors the gate answers (src/gate/rejections.ts):
// docs/gate.md shows exactly it, the docs give each code its status, and every error code
// the gate's source sends is in it.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BandedSchema, bundledAppleSchema, parsePemCertificates, TrustStore } from "enrollgate/apple";
import { ingestMachineInfo, REJECTIONS } from "enrollgate/gate";
import { createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { docsPages, projectPath, readProject } from "../helpers/project.js";

describe("the rejection table", () => {
  it("is docs/gate.md's table of errors, row for row: status, code and meaning", () => {
    const page = readProject("docs", "gate.md");
    const section = page.slice(page.indexOf("\n## Errors the gate answers\n"));
    const rows = [
      ...section
        .slice(0, section.indexOf("\n\n", section.indexOf("| status |")))
        .matchAll(/^\| (\d{3}) \| `([a-z0-9-]+)` \| (.+) \|$/gm),
    ].map((m) => [m[2], Number(m[1]), m[3]]);
    expect(rows).toEqual(Object.entries(REJECTIONS).map(([code, r]) => [code, r.status, r.meaning]));
  });

  it("gives the status the docs and SECURITY.md write beside each code (`400 bad-cms`)", () => {
    const named = ["README.md", "SECURITY.md", ...docsPages()].flatMap((doc) =>
      [...readProject(doc).matchAll(/`(\d{3}) ([a-z][a-z0-9-]*)`/g)].map(
        (m) => [doc, m[2] ?? "", Number(m[1])] as const,
      ),
    );
    expect(named.length).toBeGreaterThan(5);
    for (const [doc, code, status] of named)
      expect(REJECTIONS[code as keyof typeof REJECTIONS]?.status, `${doc}: ${status} ${code}`).toBe(status);
  });

  it("holds every error code src/gate and MachineInfo reading send", () => {
    const dir = projectPath("src", "gate");
    const sources = [
      ...readdirSync(dir).map((f) => readProject("src", "gate", f)),
      readProject("src", "apple", "machine-info.ts"),
    ].join("\n");
    const sent = new Set(
      [
        ...sources.matchAll(
          /\berror: "([a-z0-9-]+)"|(?<!readonly )\bcode: "([a-z0-9-]+)"|\b(?:statusOf|failure|reject|refuse)\([^"\n)]*"([a-z0-9-]+)"/g,
        ),
      ].map((m) => m[1] ?? m[2] ?? m[3]),
    );
    expect(sent.size).toBeGreaterThan(10);
    for (const code of sent) expect(Object.keys(REJECTIONS), code).toContain(code);
  });

  it("agrees with the statuses MachineInfo reading reports", async () => {
    // src/apple names the problem; the gate's table alone gives it a status.
    expect(readProject("src", "apple", "machine-info.ts")).not.toMatch(/status: \d{3}/);
    const ca = await createCA();
    const device = await createIdentity(ca, { kind: "ecdsa" });
    const options = {
      mode: "enforce",
      trust: new TrustStore(parsePemCertificates(ca.pem, "ca")),
      schema: new BandedSchema(bundledAppleSchema("machineinfo"), "receive"),
    } as const;
    const stranger = await createIdentity(await createCA("Someone Else's CA"), { kind: "ecdsa" });
    const refused = [
      ingestMachineInfo(Buffer.from("nope"), options),
      ingestMachineInfo(
        await signCms("<plist><dict><key>PRODUCT</key><integer>x</integer></dict></plist>", device),
        options,
      ),
      ingestMachineInfo(await signCms(machineInfoPlist().replace("<true/>", "<string>yes</string>"), device), options),
      ingestMachineInfo(await signCms(machineInfoPlist(), stranger), options),
    ];
    expect(refused.map((r) => (r.ok ? "accepted" : r.code))).toEqual([
      "bad-cms",
      "bad-plist",
      "invalid-machine-info",
      "unverified-machine-info",
    ]);
    for (const r of refused) if (!r.ok) expect(r.status, r.code).toBe(REJECTIONS[r.code].status);
  });
});
