// The soak: the real `enrollgate serve` under autocannon with a mix of
// blocked, allowed, malformed, oversized and MachineInfo-less requests, while
// the policy directory is rewritten every 100 ms, alternating two valid sets
// (A and B) with broken ones. Every answer names the policy set that gave it
// (X-Enrollgate-Revision, or the revision in the allowed JSON), and each is
// checked against what that set says for that device. Used by `npm run soak`
// (long) and by the tests (short).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, mkdir, rename, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "./signing.js";

export interface SoakOptions {
  readonly seconds: number;
  readonly connections: number;
  /** How often the policy directory is rewritten. */
  readonly rewriteEveryMs: number;
  /** Resident memory is compared from this point on (JIT and heap growth come first). */
  readonly warmupSeconds: number;
  /** Node flags for the gate process. */
  readonly nodeArgs?: ReadonlyArray<string>;
  readonly progress?: (line: string) => void;
}

type SetName = "A" | "B";
const KINDS = ["d1-26.5.1", "d2-26.0", "d3-26.7", "malformed", "oversized", "no-machine-info"] as const;
type Kind = (typeof KINDS)[number];

export interface SoakReport {
  readonly seconds: number;
  readonly connections: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly byStatus: Record<string, number>;
  readonly byKind: Record<Kind, Record<string, number>>;
  /** Answers whose status the set they name does not give that request. */
  readonly unexpected: number;
  /**
   * Answers whose body (the OSVersion asked for, the set's marker) differs from the set they name, or that name no
   * valid set.
   */
  readonly mismatched: number;
  readonly samples: ReadonlyArray<string>;
  readonly connectionErrors: number;
  readonly timeouts: number;
  readonly answersBySet: Record<SetName, number>;
  readonly rewrites: { readonly valid: number; readonly broken: number };
  readonly reloads: { readonly applied: number; readonly failed: number };
  readonly rssMb: {
    readonly start: number;
    readonly afterWarmup: number;
    readonly end: number;
    readonly max: number;
  } | null;
  /** end / afterWarmup - 1 */
  readonly rssGrowth: number | null;
  readonly exitCode: number | null;
}

/** The project root, from this file in support/ or compiled in dist-bench/support/. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "enrollgate")
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the enrollgate project root");
    dir = up;
  }
}

const rulesFor = (set: SetName) => {
  const floor = set === "A" ? "26.5" : "26.6.1";
  return `rules:\n  - id: floor-${set.toLowerCase()}\n    platform: iOS\n    models: ["iPhone*"]\n    minimum: "${floor}"\n    message: "Update to ${floor} (set ${set})"\n`;
};
const BROKEN = [
  "rules:\n  - id: floor\n    platform: iOS\n    minimum: [unclosed\n", // YAML syntax
  "rules:\n  - { id: floor, platform: iOS, minimum: 26.7 }\n", // a version as a YAML number
  'rules:\n  - { id: floor, platform: iOS, minimum: "26.7", minimun: "26.8" }\n', // an unknown key
];

/** What set `set` answers to a request of `kind`: the status, and the OSVersion of a 403. */
function expected(set: SetName, kind: Kind): { status: number; os?: string } {
  switch (kind) {
    case "d1-26.5.1":
      return set === "A" ? { status: 200 } : { status: 403, os: "26.6.1" };
    case "d2-26.0":
      return { status: 403, os: set === "A" ? "26.5" : "26.6.1" };
    case "d3-26.7":
    case "no-machine-info":
      return { status: 200 };
    case "malformed":
      return { status: 400 };
    case "oversized":
      return { status: 413 };
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const { port } = s.address() as { port: number };
  await new Promise((ok) => s.close(ok));
  return port;
}

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const say = options.progress ?? (() => undefined);
  const root = projectRoot();
  const dir = await mkdtemp(join(tmpdir(), "enrollgate-soak-"));
  await mkdir(join(dir, "p"));
  const ca = await createCA("Soak CA");
  const device = await createIdentity(ca, { kind: "ecdsa" });
  await writeFile(join(dir, "ca.pem"), ca.pem);
  await writeFile(join(dir, "p", "rules.yaml"), rulesFor("A"));

  const header = async (os: string) => ({
    "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os }), device)),
  });
  const headersOf: Record<Kind, Record<string, string>> = {
    "d1-26.5.1": await header("26.5.1"),
    "d2-26.0": await header("26.0"),
    "d3-26.7": await header("26.7"),
    malformed: { "x-apple-aspen-deviceinfo": "not*base64" },
    oversized: { "content-type": "application/pkcs7-signature" },
    "no-machine-info": {},
  };

  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      join(root, "dist", "cli", "main.js"),
      "serve",
      "--policies",
      "p",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--verify",
      "enforce",
      "--trust-anchor",
      "ca.pem",
      "--log-level",
      "warn",
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "" } },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 50) {
    if (child.exitCode !== null) throw new Error(`the gate did not start: ${stderr}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (waited > 20_000) throw new Error(`the gate did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid ?? 0;

  // Rewrites: A, broken, B, broken, ... each file replaced in one rename, so
  // the gate reads either the old file or the new one.
  const rewrites = { valid: 0, broken: 0 };
  let step = 0;
  const rewriter = setInterval(() => {
    const i = step++;
    const text = i % 2 === 1 ? (BROKEN[((i - 1) / 2) % BROKEN.length] as string) : rulesFor(i % 4 === 0 ? "A" : "B");
    if (i % 2 === 1) rewrites.broken++;
    else rewrites.valid++;
    const tmp = join(dir, "p", `.rules-${i}.tmp`);
    void writeFile(tmp, text).then(
      () => rename(tmp, join(dir, "p", "rules.yaml")),
      () => undefined,
    );
  }, options.rewriteEveryMs);

  // Answers aggregated by what identifies them; checked once the sets are known.
  const answers = new Map<string, number>();
  const revisionSet = new Map<string, SetName>();
  const byKind = Object.fromEntries(KINDS.map((k) => [k, {}])) as Record<Kind, Record<string, number>>;
  const onResponse =
    (kind: Kind) => (status: number, body: string, _context: unknown, headers: Record<string, string | string[]>) => {
      let revision = "";
      for (const [name, value] of Object.entries(headers))
        if (name.toLowerCase() === "x-enrollgate-revision") revision = String(value);
      let os = "";
      let marker = "";
      if (status === 200 || status === 403) {
        try {
          const json = JSON.parse(body) as { revision?: string; message?: string; details?: { OSVersion?: string } };
          if (revision === "") revision = json.revision ?? "";
          os = json.details?.OSVersion ?? "";
          marker = /\(set ([AB])\)/.exec(json.message ?? "")?.[1] ?? "";
          if (marker !== "" && revision !== "") revisionSet.set(revision, marker as SetName);
        } catch {
          os = "<not JSON>";
        }
      }
      byKind[kind][String(status)] = (byKind[kind][String(status)] ?? 0) + 1;
      const key = [kind, status, revision, os, marker].join("|");
      answers.set(key, (answers.get(key) ?? 0) + 1);
    };

  const rss: Array<{ at: number; mb: number }> = [];
  const started = Date.now();
  const sampleRss = () => {
    const mb = rssMb(pid);
    if (mb !== null) rss.push({ at: (Date.now() - started) / 1000, mb });
  };
  sampleRss();
  const sampler = setInterval(sampleRss, 500);
  say(
    `soak: ${options.seconds} s, ${options.connections} connections, policy rewrite every ${options.rewriteEveryMs} ms`,
  );
  const result = await autocannon({
    url: `${url}/mdm/enroll`,
    connections: options.connections,
    duration: options.seconds,
    requests: KINDS.map((kind) => ({
      method: kind === "oversized" ? "POST" : "GET",
      headers: headersOf[kind],
      ...(kind === "oversized" ? { body: Buffer.alloc(100 * 1024, 0x30) } : {}),
      onResponse: onResponse(kind),
    })),
  } as autocannon.Options);
  clearInterval(rewriter);
  clearInterval(sampler);
  sampleRss();

  const metrics = await (await fetch(`${url}/metrics`)).text();
  const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1] ?? "0");
  child.kill("SIGTERM");
  const exitCode = await exited;

  // Every answer against the set its revision names.
  let unexpected = 0;
  let mismatched = 0;
  const samples: string[] = [];
  const answersBySet: Record<SetName, number> = { A: 0, B: 0 };
  const byStatus: Record<string, number> = {};
  let requests = 0;
  for (const [key, count] of answers) {
    const [kind, statusText, revision, os, marker] = key.split("|") as [Kind, string, string, string, string];
    const status = Number(statusText);
    requests += count;
    byStatus[statusText] = (byStatus[statusText] ?? 0) + count;
    const set = revisionSet.get(revision);
    if (set === undefined) {
      mismatched += count;
      if (samples.length < 10)
        samples.push(`${count} × ${kind}: ${status} from revision "${revision}", which names no valid set`);
      continue;
    }
    answersBySet[set] += count;
    const want = expected(set, kind);
    if (status !== want.status) {
      unexpected += count;
      if (samples.length < 10) samples.push(`${count} × ${kind}: ${status} from set ${set}, expected ${want.status}`);
    } else if ((want.os ?? "") !== os || (status === 403 && marker !== set)) {
      mismatched += count;
      if (samples.length < 10)
        samples.push(`${count} × ${kind}: 403 asking for ${os} (${marker}) from set ${set}, expected ${want.os ?? ""}`);
    }
  }

  const afterWarmup = rss.find((s) => s.at >= options.warmupSeconds) ?? rss[0];
  const end = rss.at(-1);
  const rssReport =
    afterWarmup !== undefined && end !== undefined && rss[0] !== undefined
      ? { start: rss[0].mb, afterWarmup: afterWarmup.mb, end: end.mb, max: Math.max(...rss.map((s) => s.mb)) }
      : null;
  return {
    seconds: options.seconds,
    connections: options.connections,
    requests,
    requestsPerSecond: requests / options.seconds,
    byStatus,
    byKind,
    unexpected,
    mismatched,
    samples,
    connectionErrors: result.errors,
    timeouts: result.timeouts,
    answersBySet,
    rewrites,
    reloads: {
      applied: counter("enrollgate_policy_reloads_total"),
      failed: counter("enrollgate_policy_reload_failures_total"),
    },
    rssMb: rssReport,
    rssGrowth: rssReport === null ? null : rssReport.end / rssReport.afterWarmup - 1,
    exitCode,
  };
}

/** The report as a Markdown table, for the terminal and docs/gate.md. */
export function formatSoakReport(r: SoakReport): string {
  const mb = (n: number) => `${n.toFixed(1)} MB`;
  const rows: Array<[string, string]> = [
    ["duration, connections", `${r.seconds} s, ${r.connections}`],
    ["requests", `${r.requests.toLocaleString("en")} (${Math.round(r.requestsPerSecond).toLocaleString("en")}/s)`],
    [
      "responses by status",
      Object.entries(r.byStatus)
        .sort()
        .map(([s, n]) => `${s}: ${n.toLocaleString("en")}`)
        .join(", "),
    ],
    [
      "answered by set A / set B",
      `${r.answersBySet.A.toLocaleString("en")} / ${r.answersBySet.B.toLocaleString("en")}`,
    ],
    ["policy rewrites (valid / broken)", `${r.rewrites.valid} / ${r.rewrites.broken}`],
    ["reloads that changed the set / refused (last good set kept)", `${r.reloads.applied} / ${r.reloads.failed}`],
    ["unexpected statuses", String(r.unexpected)],
    ["answers not matching their policy set", String(r.mismatched)],
    ["connection errors, timeouts", `${r.connectionErrors}, ${r.timeouts}`],
    [
      "resident memory: start, after warm-up, end (max)",
      r.rssMb === null
        ? "n/a"
        : `${mb(r.rssMb.start)}, ${mb(r.rssMb.afterWarmup)}, ${mb(r.rssMb.end)} (${mb(r.rssMb.max)})`,
    ],
    ["growth after warm-up", r.rssGrowth === null ? "n/a" : `${(r.rssGrowth * 100).toFixed(1)}%`],
    ["exit on SIGTERM", String(r.exitCode)],
  ];
  return ["| what | result |", "| --- | --- |", ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join("\n");
}
