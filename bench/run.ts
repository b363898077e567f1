// `npm run bench`: every scenario, a Markdown table on stdout, and
// bench/results.json. `--quick` for a short smoke run; `--only a,b` for some.
import { writeFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { cliScenario } from "./scenarios/cli.js";
import { compileScenario } from "./scenarios/compile.js";
import { decideScenario } from "./scenarios/decide.js";
import { diffScenario } from "./scenarios/diff.js";
import { httpAllowedScenario } from "./scenarios/http-allowed.js";
import { httpBlockedScenario } from "./scenarios/http-blocked.js";
import { machineInfoScenario } from "./scenarios/machine-info.js";
import type { BenchRow, Scenario } from "./support/result.js";

const SCENARIOS: Scenario[] = [
  decideScenario,
  compileScenario,
  machineInfoScenario,
  httpBlockedScenario,
  httpAllowedScenario,
  cliScenario,
  diffScenario,
];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyAt = args.indexOf("--only");
const only = onlyAt === -1 ? null : new Set((args[onlyAt + 1] ?? "").split(","));

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  os: `${platform()} ${release()}`,
};

const rows: BenchRow[] = [];
const started = Date.now();
for (const scenario of SCENARIOS) {
  if (only !== null && !only.has(scenario.name)) continue;
  process.stderr.write(`bench: ${scenario.name}...\n`);
  rows.push(...(await scenario.run({ quick })));
}

const mark = (met: boolean | null) => (met === null ? "" : met ? "✅" : "❌");
const lines = [
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}${quick ? " (quick run)" : ""}`,
  "",
  "| what | result | same-run baseline | ratio | target | met |",
  "| --- | --- | --- | --- | --- | --- |",
  ...rows.map(
    (r) => `| ${r.what} | ${r.result} | ${r.baseline ?? ""} | ${r.ratio ?? ""} | ${r.target} | ${mark(r.met)} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
process.stderr.write(`bench: done in ${Math.round((Date.now() - started) / 1000)} s\n`);

const out = fileURLToPath(new URL("../../bench/results.json", import.meta.url));
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), quick, machine, rows }, null, 2)}\n`);
