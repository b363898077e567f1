// `npm run bench`: every scenario, a Markdown table on stdout, and the
// figures as JSON in bench/results/latest.json (ignored by git, so a run
// leaves the working tree as it was), or in the file `--out FILE` names.
// `--quick` for a short smoke run; `--only a,b` for some scenarios.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { cpus, platform, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { cliScenario } from "./scenarios/cli.js";
import { compileScenario } from "./scenarios/compile.js";
import { decideScenario } from "./scenarios/decide.js";
import { diffScenario } from "./scenarios/diff.js";
import { httpAllowedScenario } from "./scenarios/http-allowed.js";
import { httpBlockedScenario } from "./scenarios/http-blocked.js";
import { httpsBlockedScenario } from "./scenarios/https-blocked.js";
import { machineInfoScenario } from "./scenarios/machine-info.js";
import type { BenchRow, Scenario } from "./support/result.js";

const SCENARIOS: Scenario[] = [
  decideScenario,
  compileScenario,
  machineInfoScenario,
  httpBlockedScenario,
  httpsBlockedScenario,
  httpAllowedScenario,
  cliScenario,
  diffScenario,
];

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyAt = args.indexOf("--only");
const only = onlyAt === -1 ? null : new Set((args[onlyAt + 1] ?? "").split(","));
const outAt = args.indexOf("--out");
// Relative to where `npm run bench` was started (npm runs scripts from the project root; INIT_CWD is the caller's).
const out =
  outAt === -1
    ? fileURLToPath(new URL("../../bench/results/latest.json", import.meta.url))
    : resolve(process.env.INIT_CWD ?? process.cwd(), args[outAt + 1] ?? "");
const usage = (message: string): never => {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
};
if (outAt !== -1 && (args[outAt + 1] ?? "-").startsWith("-")) usage("--out needs a file name");
const unknown = only === null ? [] : [...only].filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown.length > 0)
  usage(`--only: no scenario ${unknown.join(", ")}; there are ${SCENARIOS.map((s) => s.name).join(", ")}`);

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

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), quick, machine, rows }, null, 2)}\n`);
process.stderr.write(`bench: figures written to ${out}\n`);
