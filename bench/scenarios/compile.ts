// compile(): 10,000 rules in 100 files, every 403 body validated against
// Apple's schema; time and heap, in a process capped at 100 MB of heap.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchRow, Scenario } from "../support/result.js";
import { round, summarize } from "../support/stats.js";

const CHILD = fileURLToPath(new URL("./compile-child.js", import.meta.url));
const CAP_MB = 100;

export const compileScenario: Scenario = {
  name: "compile",
  run({ quick }) {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ["--expose-gc", `--max-old-space-size=${CAP_MB}`, CHILD, quick ? "2" : "5"],
        { maxBuffer: 1 << 20 },
        (error, stdout, stderr) => {
          if (error !== null) {
            const oom = /heap out of memory|Reached heap limit/i.test(stderr);
            if (!oom) return reject(new Error(`compile benchmark failed: ${stderr || error.message}`));
            return resolve([
              {
                scenario: "compile",
                what: "compile(), 10,000 rules in 100 files",
                result: `ran out of a ${CAP_MB} MB heap`,
                target: `< 1 s, heap < ${CAP_MB} MB`,
                met: false,
                data: { oom: true },
              },
            ]);
          }
          const r = JSON.parse(stdout) as { times: number[]; peakHeapBytes: number; retainedBytes: number };
          const s = summarize(r.times);
          const peakMb = r.peakHeapBytes / 1024 / 1024;
          const retainedMb = r.retainedBytes / 1024 / 1024;
          const rows: BenchRow[] = [
            {
              scenario: "compile",
              what: "compile(), 10,000 rules in 100 files",
              result: `median ${round(s.median)} ms (first, cold: ${round(r.times[0] ?? 0)} ms); heap at return ${round(peakMb, 1)} MB, set retained ${round(retainedMb, 1)} MB; runs under a ${CAP_MB} MB heap cap`,
              target: `< 1 s, heap < ${CAP_MB} MB`,
              met: s.median < 1000 && (r.times[0] ?? Infinity) < 1000 && peakMb < CAP_MB,
              data: {
                timesMs: r.times,
                medianMs: s.median,
                coldMs: r.times[0],
                heapAtReturnMb: peakMb,
                retainedMb,
                heapCapMb: CAP_MB,
              },
            },
          ];
          resolve(rows);
        },
      );
    });
  },
};
