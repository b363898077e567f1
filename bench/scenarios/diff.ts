// `enrollgate diff` over a 100,000-device inventory: the example policies
// against a copy with the iPhone floor raised. Wall time of the command as a
// user runs it (a new process), against the same command given one device
// (start-up and compiling both sets), interleaved; and in-process, deciding
// the devices under both sets against reading the CSV alone.
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, diffPolicySets, loadPolicySet, readInventories } from "enrollgate";
import { inventoryCsv } from "../../support/inventories.js";
import { BIN, ROOT } from "../support/gate.js";
import type { BenchRow, Scenario } from "../support/result.js";
import { round, summarize } from "../support/stats.js";

const ROWS = 100_000;
const NOW = "2026-12-01";

function wall(cwd: string, inventory: string): number {
  const t0 = process.hrtime.bigint();
  const args = [BIN, "diff", "--base", join(ROOT, "policies"), "--head", "head", "--inventory", inventory];
  const r = spawnSync(process.execPath, [...args, "--now", NOW, "--format", "json"], {
    cwd,
    env: { ...process.env, IOS27_BETA_TOKEN: "bench-token" },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`enrollgate diff exited ${r.status}: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export const diffScenario: Scenario = {
  name: "diff",
  async run({ quick }) {
    const dir = await mkdtemp(join(tmpdir(), "enrollgate-bench-diff-"));
    await cp(join(ROOT, "policies"), join(dir, "head"), { recursive: true });
    const iphone = join(dir, "head", "iphone.yaml");
    await writeFile(iphone, (await readFile(iphone, "utf8")).replace('minimum: "26.6.1"', 'minimum: "26.7"'));
    const csv = inventoryCsv(ROWS);
    await writeFile(join(dir, "fleet.csv"), csv);
    await writeFile(join(dir, "one.csv"), inventoryCsv(1));

    const full: number[] = [];
    const one: number[] = [];
    for (let i = 0; i < (quick ? 2 : 7); i++) {
      one.push(wall(dir, "one.csv"));
      full.push(wall(dir, "fleet.csv"));
    }

    const env = { IOS27_BETA_TOKEN: "bench-token" };
    const base = compile(await loadPolicySet(join(ROOT, "policies")), { env }).set;
    const head = compile(await loadPolicySet(join(dir, "head")), { env }).set;
    if (base === null || head === null) throw new Error("the bench policy sets do not compile");
    const read: number[] = [];
    const decided: number[] = [];
    for (let i = 0; i < (quick ? 3 : 11); i++) {
      let t0 = process.hrtime.bigint();
      const inventory = readInventories([{ name: "fleet.csv", text: csv }]);
      read.push(msSince(t0));
      t0 = process.hrtime.bigint();
      diffPolicySets(base, head, {
        base: "policies",
        head: "head",
        now: Date.parse(NOW),
        inventory: { files: ["fleet.csv"], read: inventory },
      });
      decided.push(msSince(t0));
    }

    const f = summarize(full).median;
    const o = summarize(one).median;
    const r = summarize(read).median;
    const d = summarize(decided).median;
    const rows: BenchRow[] = [
      {
        scenario: "diff",
        what: "enrollgate diff, 100,000-row inventory (a new process: read, compile both sets, decide, print)",
        result: `${round(f)} ms`,
        baseline: `${round(o)} ms (the same command, a 1-row inventory)`,
        ratio: round(f / o, 2),
        target: "< 5 s",
        met: f < 5000,
        data: { fullMs: full, oneRowMs: one },
      },
      {
        scenario: "diff",
        what: "↳ in-process: 100,000 devices decided under both sets, grouped",
        result: `${round(d)} ms`,
        baseline: `${round(r)} ms (reading and checking the CSV alone)`,
        ratio: round(d / r, 2),
        target: "reported",
        met: null,
        data: { decideMs: decided, readMs: read },
      },
    ];
    return rows;
  },
};
