// HTTP, allowed: `serve --upstream` in front of a local upstream, against the
// upstream reached directly, interleaved. Measured twice:
//   - against a trivial upstream (a fixed 1 KiB body: the worst case for any
//     proxy), with the smallest possible Node proxy in the same rounds as the
//     ceiling a Node proxy can reach on this machine;
//   - against an upstream that signs each profile, as MDM servers do.
import { fileURLToPath } from "node:url";
import { gateFixture, type GateFixture } from "../support/gate.js";
import { interleavedAll, type LoadFigures } from "../support/load.js";
import { freePort, startNode, type Child } from "../support/processes.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round } from "../support/stats.js";

const UPSTREAM = fileURLToPath(new URL("../servers/upstream.js", import.meta.url));
const MINIMAL_PROXY = fileURLToPath(new URL("../servers/minimal-proxy.js", import.meta.url));
const TARGET = 0.7;

async function startUpstream(mode: "trivial" | "signing"): Promise<Child> {
  const port = await freePort();
  return startNode([UPSTREAM, String(port), mode], port);
}

async function allowedGate(fixture: GateFixture, upstream: Child, headers: Record<string, string>): Promise<Child> {
  const gate = await fixture.start(["--upstream", upstream.url]);
  const check = await fetch(`${gate.url}/mdm/enroll`, { headers });
  await check.arrayBuffer();
  if (check.status !== 200) {
    await gate.stop();
    throw new Error(`the gate answered ${check.status}, not 200`);
  }
  return gate;
}

const clean = (f: LoadFigures) => f.unexpected === 0 && f.errors === 0;
const figure = (f: LoadFigures) => `${round(f.medianRps)} req/s, p50 ${f.p50LatencyMs} ms`;

/** The gate against the upstream it fronts, measured in the same rounds. */
function gateRow(
  what: string,
  r: { upstream: LoadFigures; gate: LoadFigures },
  extra: Record<string, unknown> = {},
): BenchRow {
  const ratio = r.gate.medianRps / r.upstream.medianRps;
  return {
    scenario: "http-allowed",
    what,
    result: figure(r.gate),
    baseline: `${round(r.upstream.medianRps)} req/s (the upstream directly)`,
    ratio: round(ratio, 2),
    target: `≥ ${TARGET.toFixed(2)} of baseline`,
    met: ratio >= TARGET && clean(r.gate),
    data: { ...r, ...extra, ratio },
  };
}

export const httpAllowedScenario: Scenario = {
  name: "http-allowed",
  async run({ quick }) {
    const fixture = await gateFixture();
    const headers = await fixture.header("26.6.1");
    const load = { rounds: quick ? 2 : 3, seconds: quick ? 2 : 5, connections: 10 };
    const rows: BenchRow[] = [];

    const trivial = await startUpstream("trivial");
    const gate = await allowedGate(fixture, trivial, headers);
    const proxyPort = await freePort();
    const proxy = await startNode([MINIMAL_PROXY, String(proxyPort), trivial.url], proxyPort);
    try {
      const r = await interleavedAll(
        {
          upstream: { url: `${trivial.url}/mdm/enroll`, headers, status: 200 },
          proxy: { url: `${proxy.url}/mdm/enroll`, headers, status: 200 },
          gate: { url: `${gate.url}/mdm/enroll`, headers, status: 200 },
        },
        load,
      );
      const ceiling = r.proxy.medianRps / r.upstream.medianRps;
      rows.push(
        gateRow("HTTP allowed (serve --upstream), trivial upstream", r, {
          gateVsProxy: r.gate.medianRps / r.proxy.medianRps,
        }),
      );
      rows.push({
        scenario: "http-allowed",
        what: "↳ reference: a minimal Node proxy (no gate), same upstream",
        result: figure(r.proxy),
        baseline: `${round(r.upstream.medianRps)} req/s (the upstream directly)`,
        ratio: round(ceiling, 2),
        target: "reported (ceiling for any Node proxy here)",
        met: null,
        data: { ratio: ceiling },
      });
    } finally {
      await Promise.all([gate.stop(), proxy.stop(), trivial.stop()]);
    }

    const signing = await startUpstream("signing");
    const gate2 = await allowedGate(fixture, signing, headers);
    try {
      const r = await interleavedAll(
        {
          upstream: { url: `${signing.url}/mdm/enroll`, headers, status: 200 },
          gate: { url: `${gate2.url}/mdm/enroll`, headers, status: 200 },
        },
        load,
      );
      rows.push(gateRow("HTTP allowed (serve --upstream), upstream signing each profile", r));
    } finally {
      await Promise.all([gate2.stop(), signing.stop()]);
    }
    return rows;
  },
};
