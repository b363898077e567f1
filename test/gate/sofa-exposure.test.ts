// The gate with a SOFA snapshot: the set is compiled in the worker with it,
// each decision logs the actively exploited CVEs the device runs exposed to,
// a metric counts such decisions, and a set whose floors leave exploited
// CVEs open is warned about when it loads.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "enrollgate";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { captureLog, type CapturedLog } from "../helpers/http.js";
import { sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = `rules:
  - id: old-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.1"
`;

describe("serve --sofa", () => {
  let server: RunningServer;
  let log: CapturedLog;
  let device: Identity;

  beforeAll(async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    log = captureLog();
    device = await createIdentity(await createCA(), { kind: "ecdsa" });
    server = await startServer({
      policies: "p",
      host: "127.0.0.1",
      port: 0,
      overrides: { verify: "off" },
      logger: log.logger,
      cwd: dir,
      watch: false,
      env: {},
      feeds: { sofa: [sharedPath("feeds", "sofa-2026-08-22", "ios_data_feed.json")] },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const enroll = async (osVersion: string) => {
    const info = machineInfoPlist({
      PRODUCT: "iPhone17,3",
      SOFTWARE_UPDATE_DEVICE_ID: "iPhone17,3",
      OS_VERSION: osVersion,
    });
    const res = await fetch(`${server.url}/mdm/enroll`, {
      headers: { "x-apple-aspen-deviceinfo": base64(await signCms(info, device)) },
    });
    await res.arrayBuffer();
    return res.status;
  };

  it("warns when the set loads that a floor leaves actively exploited CVEs open", () => {
    const warned = log.lines.filter((l) => l.event === "floor-leaves-exploited");
    expect(warned).toHaveLength(1);
    expect(warned[0]?.rules).toEqual(["old-floor"]);
    expect(String(warned[0]?.msg)).toMatch(
      /^rule old-floor leaves actively exploited vulnerabilities open: old-floor: minimum 26\.1 leaves 3 actively exploited/,
    );
  });

  it("logs the exploited CVEs open on each device it decides, and counts those decisions", async () => {
    expect(await enroll("26.2")).toBe(200); // above the floor, yet CVE-2026-20700 is open
    expect(await enroll("26.0")).toBe(403);
    expect(await enroll("26.6.1")).toBe(200);
    const decisions = log.lines.filter((l) => l.event === "decision").map((l) => [l.osVersion, l.exploited]);
    expect(decisions).toEqual([
      ["26.2", ["CVE-2026-20700"]],
      ["26.0", ["CVE-2025-14174", "CVE-2025-43510", "CVE-2025-43520", "CVE-2025-43529", "CVE-2026-20700"]],
      ["26.6.1", []],
    ]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^enrollgate_exploited_exposure_total\{decision="allow",reason="compliant"\} 1$/m);
    expect(metrics).toMatch(/^enrollgate_exploited_exposure_total\{decision="block",reason="below-minimum"\} 1$/m);
  });
});
