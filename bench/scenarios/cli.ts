// CLI cold start: `enrollgate validate policies/` against `node -e 0`, interleaved.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BIN, ROOT } from "../support/gate.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round, summarize } from "../support/stats.js";

function wall(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, IOS27_BETA_TOKEN: "bench-token" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export const cliScenario: Scenario = {
  name: "cli",
  run({ quick }) {
    const node: number[] = [];
    const validate: number[] = [];
    for (let i = 0; i < (quick ? 5 : 15); i++) {
      node.push(wall(["-e", "0"]));
      validate.push(wall([BIN, "validate", join(ROOT, "policies")]));
    }
    const n = summarize(node).median;
    const v = summarize(validate).median;
    const ratio = v / n;
    const rows: BenchRow[] = [
      {
        scenario: "cli",
        what: "CLI cold start: enrollgate validate policies/",
        result: `${round(v)} ms`,
        baseline: `${round(n)} ms (node -e 0)`,
        ratio: round(ratio, 2),
        target: "< 3× baseline",
        met: ratio < 3,
        data: { validateMs: validate, nodeMs: node, ratio },
      },
    ];
    return Promise.resolve(rows);
  },
};
