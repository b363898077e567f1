// The short soak: the real gate under load for a few seconds while its policy
// directory churns (support/soak.ts; `npm run soak` runs the long one).
import { describe, expect, it } from "vitest";
import { formatSoakReport, runSoak } from "../../support/soak.js";

describe("the soak, short", () => {
  it("answers every request as the policy set it names says, with no connection errors, and exits cleanly", async () => {
    const report = await runSoak({ seconds: 8, connections: 4, rewriteEveryMs: 100, warmupSeconds: 3 });
    const table = formatSoakReport(report);
    expect(report.requests, table).toBeGreaterThan(1000);
    expect(report.unexpected, `${table}\n${report.samples.join("\n")}`).toBe(0);
    expect(report.mismatched, `${table}\n${report.samples.join("\n")}`).toBe(0);
    expect(report.connectionErrors + report.timeouts, table).toBe(0);
    // Both valid sets were active at some point, and broken ones were refused.
    expect(report.answersBySet.A, table).toBeGreaterThan(0);
    expect(report.answersBySet.B, table).toBeGreaterThan(0);
    expect(report.reloads.failed, table).toBeGreaterThan(0);
    // Every kind of request was answered: blocked, allowed, malformed and oversized.
    for (const status of ["200", "403", "400", "413"]) expect(report.byStatus[status] ?? 0, table).toBeGreaterThan(0);
    expect(report.exitCode, table).toBe(0);
    // Eight seconds are too few for resident memory to settle (npm run soak measures its growth); it stays bounded.
    expect(report.rssMb?.max ?? 0, table).toBeLessThan(256);
  }, 60_000);
});
