// `npm run soak`: the long soak (support/soak.ts), 5 minutes by default.
// Flags: --seconds N, --connections N, --warmup N, --out FILE. Prints the
// report as a Markdown table, writes it as JSON to bench/results/soak.json
// (ignored by git) or the --out file, and exits 1 when any answer
// was unexpected or mismatched, a connection failed, or resident memory grew
// 10% or more after the warm-up.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { formatSoakReport, runSoak } from "../support/soak.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(args[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
};

const seconds = flag("seconds", 300);
const report = await runSoak({
  seconds,
  connections: flag("connections", 10),
  rewriteEveryMs: 100,
  warmupSeconds: flag("warmup", Math.min(60, Math.round(seconds / 5))),
  progress: (line) => process.stderr.write(`${line}\n`),
});

const machine = `${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}`;
process.stdout.write(`Machine: ${machine}\n\n${formatSoakReport(report)}\n`);
if (report.samples.length > 0) process.stdout.write(`\n${report.samples.join("\n")}\n`);
const outAt = args.indexOf("--out");
const out =
  outAt === -1
    ? fileURLToPath(new URL("../../bench/results/soak.json", import.meta.url))
    : resolve(process.env.INIT_CWD ?? process.cwd(), args[outAt + 1] ?? "");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, report }, null, 2)}\n`);

const failed =
  report.unexpected > 0 ||
  report.mismatched > 0 ||
  report.connectionErrors + report.timeouts > 0 ||
  report.exitCode !== 0 ||
  (report.rssGrowth ?? 0) >= 0.1;
process.exitCode = failed ? 1 : 0;
