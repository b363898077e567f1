// MachineInfo per request: CMS parse + signature and chain verification +
// plist parse + schema validation, uncached, for RSA-2048 and ECDSA P-256.
import { BandedSchema, bundledAppleSchema, parsePemCertificates, readMachineInfo, TrustStore } from "enrollgate";
import { createCA, createIdentity, machineInfoPlist, signCms, type KeyKind } from "../../support/signing.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round, summarize, timeEach } from "../support/stats.js";

export const machineInfoScenario: Scenario = {
  name: "machine-info",
  async run({ quick }) {
    const ca = await createCA();
    const trust = new TrustStore(parsePemCertificates(ca.pem, "ca"));
    const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");
    const rows: BenchRow[] = [];
    for (const [kind, label] of [["rsa", "RSA-2048"], ["ecdsa", "ECDSA P-256"]] as Array<[KeyKind, string]>) {
      const device = await createIdentity(ca, { kind });
      const der = await signCms(machineInfoPlist(), device, { hash: "SHA-256" });
      if (!readMachineInfo(der, { mode: "enforce", trust, schema }).ok) throw new Error("the benchmark MachineInfo does not verify");
      const s = summarize(timeEach(() => readMachineInfo(der, { mode: "enforce", trust, schema }), quick ? 500 : 3000, 300));
      rows.push({
        scenario: "machine-info",
        what: `MachineInfo, ${label}, ${der.length} bytes`,
        result: `median ${round(s.median / 1000)} µs, p99 ${round(s.p99 / 1000)} µs per request (CMS + verify + plist + schema, uncached)`,
        target: "reported",
        met: null,
        data: { key: label, bytes: der.length, medianUs: s.median / 1000, p99Us: s.p99 / 1000 },
      });
    }
    return rows;
  },
};
