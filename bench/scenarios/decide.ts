// decide(): ns per decision on compiled sets of 10 to 100,000 rules (exact
// models and globs mixed), for a mix of blocked and allowed devices.
import { compile, decide, type DeviceFacts } from "enrollgate";
import type { BenchRow, Scenario } from "../support/result.js";
import { generatedSource } from "../support/sources.js";
import { round, summarize, timeEach } from "../support/stats.js";

const SIZES = [10, 1_000, 10_000, 100_000] as const;
const POOL = 64;

export const decideScenario: Scenario = {
  name: "decide",
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const medians = new Map<number, number>();
    for (const size of SIZES) {
      const { source, generated } = generatedSource(size, Math.max(1, Math.min(100, size / 100)));
      const { set } = compile(source);
      if (set === null) throw new Error(`the generated set of ${size} rules does not compile`);
      // The same number of distinct devices at every size, spread over the whole
      // rule range: the figures then compare the index, not the CPU cache.
      const devices: DeviceFacts[] = [];
      for (let i = 0; i < POOL; i++) {
        const at = (list: ReadonlyArray<DeviceFacts>) => list[Math.floor((i * list.length) / POOL)] as DeviceFacts;
        devices.push(at(generated.blocked), at(generated.allowed));
      }
      const now = Date.parse("2026-11-22T12:00:00Z");
      let blocked = 0;
      const samples = timeEach(
        (i) => {
          if (decide(set, devices[i % devices.length] as DeviceFacts, now).decision === "block") blocked++;
        },
        quick ? 50_000 : 300_000,
      );
      const s = summarize(samples);
      medians.set(size, s.median);
      rows.push({
        scenario: "decide",
        what: `decide(), ${size.toLocaleString("en")} rules`,
        result: `median ${round(s.median)} ns, p99 ${round(s.p99)} ns`,
        target: size === 10_000 ? "median < 1 µs" : "",
        met: size === 10_000 ? s.median < 1000 : null,
        data: {
          rules: size,
          medianNs: s.median,
          p99Ns: s.p99,
          meanNs: s.mean,
          decisions: s.n,
          blockedShare: round(blocked / s.n, 2),
        },
      });
      await new Promise((r) => setImmediate(r)); // let the previous set go
    }
    const flat = (medians.get(100_000) ?? 0) / (medians.get(1_000) ?? 1);
    rows.push({
      scenario: "decide",
      what: "decide(), 100,000 vs 1,000 rules",
      result: `${round(flat, 2)}× the 1,000-rule median`,
      ratio: round(flat, 2),
      target: "flat (≤ 1.5×)",
      met: flat <= 1.5,
      data: { ratio: flat },
    });
    return rows;
  },
};
