// HTTPS, blocked: the gate serving TLS (serve --tls-cert --tls-key) answering
// a signed header with Apple's 403, against a bare Node HTTPS server sending
// the same 403 bytes with the same certificate. Interleaved rounds; both keep
// their connections alive, as devices and load balancers do, so this is the
// cost of the gate's work under TLS, not of handshakes. The same gate over
// plain HTTP runs in the same rounds, for reference: what TLS itself costs it.
import { writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gateFixture } from "../support/gate.js";
import { interleavedAll } from "../support/load.js";
import { freePort, startNode } from "../support/processes.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round } from "../support/stats.js";

const BARE = fileURLToPath(new URL("../servers/bare-https.js", import.meta.url));

/** One request over HTTPS: its status, content type and body. */
function once(
  url: string,
  headers: Record<string, string>,
  ca: string,
): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers["content-type"] ?? "",
          body: Buffer.concat(chunks),
        }),
      );
    })
      .on("error", reject)
      .end();
  });
}

export const httpsBlockedScenario: Scenario = {
  name: "https-blocked",
  async run({ quick }) {
    const fixture = await gateFixture();
    const gate = await fixture.startTls();
    const plain = await fixture.start();
    const headers = await fixture.header("26.5");
    const first = await once(`${gate.url}/mdm/enroll`, headers, fixture.tls.ca);
    if (first.status !== 403) throw new Error(`the gate answered ${first.status}, not 403: ${first.body.toString()}`);
    await writeFile(join(fixture.dir, "body.json"), first.body);
    const port = await freePort();
    const bare = await startNode(
      [BARE, String(port), first.type, join(fixture.dir, "body.json"), fixture.tls.cert, fixture.tls.key],
      port,
      { tls: { ca: fixture.tls.ca } },
    );
    const load = { rounds: quick ? 2 : 3, seconds: quick ? 2 : 5, connections: 10 };
    try {
      const same = await interleavedAll(
        {
          baseline: { url: `${bare.url}/mdm/enroll`, headers, status: 403 },
          subject: { url: `${gate.url}/mdm/enroll`, headers, status: 403 },
          plain: { url: `${plain.url}/mdm/enroll`, headers, status: 403 },
        },
        load,
      );
      const ratio = same.subject.medianRps / same.baseline.medianRps;
      const tlsCost = same.subject.medianRps / same.plain.medianRps;
      return [
        {
          scenario: "https-blocked",
          what: "HTTPS blocked (serve --tls-cert, signed header → 403)",
          result: `${round(same.subject.medianRps)} req/s, p50 ${same.subject.p50LatencyMs} ms`,
          baseline: `${round(same.baseline.medianRps)} req/s (bare Node HTTPS, same 403 bytes, same certificate)`,
          ratio: round(ratio, 2),
          target: "≥ 0.60 of baseline",
          met: ratio >= 0.6 && same.subject.unexpected === 0 && same.subject.errors === 0,
          data: { ...same, ratio },
        } satisfies BenchRow,
        {
          scenario: "https-blocked",
          what: "↳ the same HTTPS gate against itself over plain HTTP (what TLS costs the gate)",
          result: `${round(same.subject.medianRps)} req/s`,
          baseline: `${round(same.plain.medianRps)} req/s (serve without --tls-cert, same rounds)`,
          ratio: round(tlsCost, 2),
          target: "reported",
          met: null,
          data: { plain: same.plain, ratio: tlsCost },
        } satisfies BenchRow,
      ];
    } finally {
      await Promise.all([gate.stop(), plain.stop(), bare.stop()]);
    }
  },
};
