// HTTP load with autocannon, subject and baseline interleaved round by round so
// that both see the same noisy neighbours on a shared machine.
import autocannon from "autocannon";
import { summarize } from "./stats.js";

export interface LoadTarget {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Rotates through these header sets, one request each (for distinct MachineInfo). */
  readonly headerSets?: ReadonlyArray<Record<string, string>>;
  /** The status every answer must have. */
  readonly status: number;
}

export interface LoadFigures {
  readonly rps: number[];
  readonly medianRps: number;
  readonly p50LatencyMs: number;
  readonly unexpected: number;
  readonly errors: number;
}

async function once(
  target: LoadTarget,
  seconds: number,
  connections: number,
): Promise<{ rps: number; p50: number; unexpected: number; errors: number }> {
  let i = 0;
  const sets = target.headerSets;
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    headers: target.headers ?? {},
    ...(sets !== undefined
      ? {
          requests: [
            {
              setupRequest: (req: Record<string, unknown>) => ({
                ...req,
                headers: { ...(req.headers as Record<string, string>), ...sets[i++ % sets.length] },
              }),
            },
          ],
        }
      : {}),
  } as autocannon.Options);
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }> | undefined;
  const total = Object.values(codes ?? {}).reduce((s, c) => s + c.count, 0);
  const expected = codes?.[String(target.status)]?.count ?? 0;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    unexpected: total - expected,
    errors: result.errors + result.timeouts,
  };
}

/**
 * Runs every target in turn, round after round, so that all of them see the
 * same noisy neighbours; returns each one's figures under its name.
 */
export async function interleavedAll<K extends string>(
  targets: Record<K, LoadTarget>,
  options: { rounds: number; seconds: number; connections: number },
): Promise<Record<K, LoadFigures>> {
  const names = Object.keys(targets) as K[];
  const runs = new Map<K, Array<Awaited<ReturnType<typeof once>>>>(names.map((n) => [n, []]));
  // A short warm-up of each first: JIT and keep-alive connections.
  for (const n of names) await once(targets[n], 1, options.connections);
  for (let r = 0; r < options.rounds; r++) {
    for (const n of names) runs.get(n)?.push(await once(targets[n], options.seconds, options.connections));
  }
  const figures = (list: Array<Awaited<ReturnType<typeof once>>>): LoadFigures => ({
    rps: list.map((x) => x.rps),
    medianRps: summarize(list.map((x) => x.rps)).median,
    p50LatencyMs: summarize(list.map((x) => x.p50)).median,
    unexpected: list.reduce((t, x) => t + x.unexpected, 0),
    errors: list.reduce((t, x) => t + x.errors, 0),
  });
  return Object.fromEntries(names.map((n) => [n, figures(runs.get(n) ?? [])])) as Record<K, LoadFigures>;
}

/** Runs baseline and subject alternately; returns both sets of figures. */
export function interleaved(
  baseline: LoadTarget,
  subject: LoadTarget,
  options: { rounds: number; seconds: number; connections: number },
): Promise<{ baseline: LoadFigures; subject: LoadFigures }> {
  return interleavedAll({ baseline, subject }, options);
}
