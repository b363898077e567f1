// Small statistics for benchmark samples.

export function quantile(sorted: ReadonlyArray<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(samples: ReadonlyArray<number>): { median: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean, n: sorted.length };
}

/** Times each call of `fn` in nanoseconds, minus the cost of timing itself. */
export function timeEach(
  fn: (i: number) => unknown,
  iterations: number,
  warmup = Math.min(iterations, 10_000),
): number[] {
  for (let i = 0; i < warmup; i++) fn(i);
  const empty: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const t0 = process.hrtime.bigint();
    empty.push(Number(process.hrtime.bigint() - t0));
  }
  const overhead = summarize(empty).median;
  const out = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    out[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overhead);
  }
  return out;
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Times several functions call by call in turn (a, b, c, a, b, c, ...), in
 * nanoseconds: noise on a shared machine then falls on all of them alike,
 * which is what a ratio between them needs.
 */
export function timeInterleaved(fns: ReadonlyArray<() => unknown>, iterations: number, warmup = 200): number[][] {
  for (let i = 0; i < warmup; i++) for (const fn of fns) fn();
  const out = fns.map(() => new Array<number>(iterations));
  for (let i = 0; i < iterations; i++) {
    fns.forEach((fn, j) => {
      const t0 = process.hrtime.bigint();
      fn();
      (out[j] as number[])[i] = Number(process.hrtime.bigint() - t0);
    });
  }
  return out;
}
