// Runs in its own process (node --expose-gc --max-old-space-size=100): compiles
// 10,000 rules in 100 files and reports time and retained heap as JSON.
import { compile } from "enrollgate";
import { generatedSource } from "../support/sources.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const runs = Number(process.argv[2] ?? 5);
const { source } = generatedSource(10_000, 100);

/**
 * One measured compile, in its own call so that nothing from an earlier run
 * is still reachable from this frame when the heap is measured.
 */
function measure(collect: () => void): { ms: number; heapAtReturn: number; retained: number } {
  collect();
  const before = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const result = compile(source);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // Heap in use when compile() returns, garbage not yet collected: the most
  // compile() held at once is bounded by the process's heap cap, not sampled.
  const heapAtReturn = process.memoryUsage().heapUsed;
  collect();
  const retained = process.memoryUsage().heapUsed - before;
  // Used after the measurement, so the set is alive while it is measured.
  if (result.set?.rules.length !== 10_001) throw new Error("the generated set does not compile to 10,001 rules");
  return { ms, heapAtReturn, retained };
}

const runsOut = Array.from({ length: runs }, () => measure(gc));
process.stdout.write(
  JSON.stringify({
    times: runsOut.map((r) => r.ms),
    peakHeapBytes: Math.max(...runsOut.map((r) => r.heapAtReturn)),
    retainedBytes: Math.max(...runsOut.map((r) => r.retained)),
  }),
);
