// HTTP, blocked: the gate answering a signed header with Apple's 403, against
// a bare Express handler answering the same 403 bytes. Interleaved rounds.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gateFixture } from "../support/gate.js";
import { interleaved } from "../support/load.js";
import { freePort, startNode } from "../support/processes.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round } from "../support/stats.js";

const BARE = fileURLToPath(new URL("../servers/bare-express.js", import.meta.url));

export const httpBlockedScenario: Scenario = {
  name: "http-blocked",
  async run({ quick }) {
    const fixture = await gateFixture();
    const gate = await fixture.start();
    const headers = await fixture.header("26.5");
    const first = await fetch(`${gate.url}/mdm/enroll`, { headers });
    const body = Buffer.from(await first.arrayBuffer());
    if (first.status !== 403) throw new Error(`the gate answered ${first.status}, not 403: ${body.toString()}`);
    await writeFile(join(fixture.dir, "body.json"), body);
    const port = await freePort();
    const bare = await startNode(
      [BARE, String(port), first.headers.get("content-type") ?? "", join(fixture.dir, "body.json")],
      port,
    );
    const load = { rounds: quick ? 2 : 3, seconds: quick ? 2 : 5, connections: 10 };
    const rows: BenchRow[] = [];
    try {
      const same = await interleaved(
        { url: `${bare.url}/mdm/enroll`, headers, status: 403 },
        { url: `${gate.url}/mdm/enroll`, headers, status: 403 },
        load,
      );
      const ratio = same.subject.medianRps / same.baseline.medianRps;
      rows.push({
        scenario: "http-blocked",
        what: "HTTP blocked (signed header → 403)",
        result: `${round(same.subject.medianRps)} req/s, p50 ${same.subject.p50LatencyMs} ms`,
        baseline: `${round(same.baseline.medianRps)} req/s (bare Express, same 403 bytes)`,
        ratio: round(ratio, 2),
        target: "≥ 0.60 of baseline",
        met: ratio >= 0.6 && same.subject.unexpected === 0 && same.subject.errors === 0,
        data: { ...same, ratio },
      });

      // Every request a different MachineInfo: no verification cache hit at all
      // (the cache holds 4,096 and the rounds cycle through 5,000). First from
      // one device (5,000 serials: its certificate's check is cached across
      // requests, as for a device's GET then POST), then from as many devices.
      const distinct = quick ? 300 : 5000;
      const sets: Array<Record<string, string>> = [];
      for (let i = 0; i < distinct; i++) sets.push(await fixture.header("26.5", `BENCH${String(i).padStart(7, "0")}`));
      const cold = await interleaved(
        { url: `${bare.url}/mdm/enroll`, headers, status: 403 },
        { url: `${gate.url}/mdm/enroll`, headerSets: sets, status: 403 },
        load,
      );
      const coldRatio = cold.subject.medianRps / cold.baseline.medianRps;
      rows.push({
        scenario: "http-blocked",
        what: `HTTP blocked, ${distinct.toLocaleString("en")} distinct MachineInfo (every one verified)`,
        result: `${round(cold.subject.medianRps)} req/s, p50 ${cold.subject.p50LatencyMs} ms`,
        baseline: `${round(cold.baseline.medianRps)} req/s (bare Express)`,
        ratio: round(coldRatio, 2),
        target: "≥ 0.16 (twice 0.08, before certificate caching and the BER tree)",
        met: coldRatio >= 0.16,
        data: { ...cold, ratio: coldRatio },
      });
      const devices: Array<Record<string, string>> = [];
      for (let i = 0; i < distinct; i++)
        devices.push(await fixture.headerFromNewDevice("26.5", `DEVICE${String(i).padStart(6, "0")}`));
      const fleet = await interleaved(
        { url: `${bare.url}/mdm/enroll`, headers, status: 403 },
        { url: `${gate.url}/mdm/enroll`, headerSets: devices, status: 403 },
        load,
      );
      const fleetRatio = fleet.subject.medianRps / fleet.baseline.medianRps;
      rows.push({
        scenario: "http-blocked",
        what: `↳ ${distinct.toLocaleString("en")} distinct devices (a new ECDSA certificate each, checked against the CA)`,
        result: `${round(fleet.subject.medianRps)} req/s, p50 ${fleet.subject.p50LatencyMs} ms`,
        baseline: `${round(fleet.baseline.medianRps)} req/s (bare Express)`,
        ratio: round(fleetRatio, 2),
        target: "reported",
        met: null,
        data: { ...fleet, ratio: fleetRatio },
      });
    } finally {
      await Promise.all([gate.stop(), bare.stop()]);
    }
    return rows;
  },
};
