// Failing neighbours and a changing disk: the gate keeps its last good policy
// set and feed data, stays ready, says what went wrong in its log and
// metrics, and shuts down without dropping requests in flight.
import { chmod, mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "enrollgate";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { BIN } from "../helpers/cli.js";
import { captureLog, eventually, startUpstream, type CapturedLog } from "../helpers/http.js";
import { freePort, listening, run } from "../helpers/processes.js";
import { readShared } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const floor = (minimum: string) =>
  `rules:\n  - { id: floor, platform: iOS, models: ["iPhone*"], minimum: "${minimum}" }\n`;

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

let device: Identity | undefined;
async function header(os: string): Promise<Record<string, string>> {
  device ??= await createIdentity(await createCA(), { kind: "ecdsa" });
  return { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os }), device)) };
}

async function serve(
  dir: string,
  log: CapturedLog,
  extra: Partial<Parameters<typeof startServer>[0]> = {},
): Promise<RunningServer> {
  const s = await startServer({
    policies: "p",
    host: "127.0.0.1",
    port: 0,
    overrides: { verify: "off" },
    logger: log.logger,
    env: {},
    cwd: dir,
    debounceMs: 40,
    ...extra,
  });
  servers.push(s);
  return s;
}

const metric = async (s: RunningServer, name: string) =>
  Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? "NaN");
const status = async (s: RunningServer, os: string) =>
  (await fetch(`${s.url}/mdm/enroll`, { headers: await header(os) })).status;
const ready = async (s: RunningServer) => (await fetch(`${s.url}/readyz`)).status;

describe("the policy directory", () => {
  it("deleted: the last good set keeps answering, and a new directory is picked up", async () => {
    const dir = await tempDir({ "p/rules.yaml": floor("26.6.1") });
    const log = captureLog();
    const s = await serve(dir, log, { watch: false });
    expect(await status(s, "26.5")).toBe(403);
    await rm(join(dir, "p"), { recursive: true });
    expect(await s.reload("test")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/policy directory p does not exist/),
    });
    expect(await ready(s)).toBe(200);
    expect(await status(s, "26.5")).toBe(403);
    expect(await metric(s, "enrollgate_policy_reload_failures_total")).toBe(1);
    expect(log.lines.filter((l) => l.event === "policy-reload-failed")).toHaveLength(1);

    await mkdir(join(dir, "p"));
    await writeFile(join(dir, "p/rules.yaml"), floor("26.4"));
    expect(await s.reload("test")).toMatchObject({ ok: true, changed: true });
    expect(await status(s, "26.5")).toBe(200);
  });

  it("deleted while watched: the watcher's error keeps the last good set", async () => {
    const dir = await tempDir({ "p/rules.yaml": floor("26.6.1") });
    const log = captureLog();
    const s = await serve(dir, log);
    await rm(join(dir, "p"), { recursive: true });
    await eventually(
      async () => (await metric(s, "enrollgate_policy_reload_failures_total")) >= 1,
      "the failed reload",
    );
    expect(await ready(s)).toBe(200);
    expect(await status(s, "26.5")).toBe(403);
  });

  it.each([
    [
      "a policy file that became a directory",
      async (p: string) => {
        await rm(join(p, "rules.yaml"));
        await mkdir(join(p, "rules.yaml"));
        await writeFile(join(p, "rules.yaml", "x"), "x");
      },
    ],
    [
      "a policy file replaced by a dangling symlink",
      async (p: string) => {
        await rm(join(p, "rules.yaml"));
        await symlink(join(p, "gone.yaml"), join(p, "rules.yaml"));
      },
    ],
    [
      "a policy file that cannot be read",
      async (p: string) => {
        // Permission bits do not stop root; a FIFO would block a reader that did not check.
        if (process.getuid?.() === 0) {
          await rm(join(p, "rules.yaml"));
          await symlink("/dev/zero", join(p, "rules.yaml"));
        } else {
          await chmod(join(p, "rules.yaml"), 0);
        }
      },
    ],
    [
      "a policy directory that cannot be listed",
      async (p: string) => {
        await rename(p, `${p}.old`);
        await writeFile(p, "not a directory");
      },
    ],
  ])("%s: the last good set is kept", async (_what, breakIt) => {
    const dir = await tempDir({ "p/rules.yaml": floor("26.6.1") });
    const log = captureLog();
    const s = await serve(dir, log, { watch: false });
    await breakIt(join(dir, "p"));
    const result = await s.reload("test");
    expect(result.ok).toBe(false);
    expect(await ready(s)).toBe(200);
    expect(await status(s, "26.5")).toBe(403);
    expect(await status(s, "26.6.1")).toBe(200);
    expect(log.lines.find((l) => l.event === "policy-reload-failed")).toMatchObject({
      keeping: s.store.active?.set.revision,
    });
  });

  it("rewritten every 10 ms without pause: reloads still happen (at most 4 debounce intervals after the first change)", async () => {
    const dir = await tempDir({ "p/rules.yaml": floor("26.6.1") });
    const s = await serve(dir, captureLog(), { debounceMs: 50 });
    const before = await metric(s, "enrollgate_policy_reloads_total");
    let i = 0;
    const churn = setInterval(
      () => void writeFile(join(dir, "p/rules.yaml"), floor(i++ % 2 === 0 ? "26.4" : "26.6.1")),
      10,
    );
    try {
      await eventually(
        async () => (await metric(s, "enrollgate_policy_reloads_total")) > before,
        "a reload during the churn",
        3000,
      );
    } finally {
      clearInterval(churn);
    }
  });
});

describe("feeds failing during a reload", () => {
  it("a GDMF snapshot that turns unreadable: the last good feed stays in use, logged and counted", async () => {
    // The August snapshot: iOS 26.6.1 is out for iPhone17,3. Rule target 26.6.1 with whenUnavailable: block.
    const dir = await tempDir({
      "p/rules.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6.1", whenUnavailable: block }\n',
      "gdmf.json": readShared("feeds", "gdmf-2026-08-22.json"),
    });
    const log = captureLog();
    const s = await serve(dir, log, { watch: false, feeds: { gdmf: "gdmf.json" } });
    expect(await status(s, "26.5")).toBe(403);
    await writeFile(join(dir, "gdmf.json"), "{ not json");
    const result = await s.reload("snapshot broke");
    expect(result.ok).toBe(true);
    expect(await status(s, "26.5")).toBe(403);
    expect(log.lines.filter((l) => l.event === "feed-refresh-failed").map((l) => String(l.problem))).toContainEqual(
      expect.stringMatching(/gdmf.json/),
    );
    expect(await metric(s, "enrollgate_feed_refresh_failures_total")).toBeGreaterThan(0);
  });

  it("a GDMF snapshot that vanishes: the compile worker's reason reaches the log, errno and all", async () => {
    const dir = await tempDir({
      "p/rules.yaml": 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6.1", whenUnavailable: block }\n',
      "gdmf.json": readShared("feeds", "gdmf-2026-08-22.json"),
    });
    const log = captureLog();
    const s = await serve(dir, log, { watch: false, feeds: { gdmf: "gdmf.json" } });
    await rm(join(dir, "gdmf.json"));
    expect((await s.reload("snapshot gone")).ok).toBe(true);
    expect(await status(s, "26.5")).toBe(403);
    expect(log.lines.filter((l) => l.event === "feed-refresh-failed").map((l) => String(l.problem))).toEqual([
      `cannot read the GDMF snapshot ${join(dir, "gdmf.json")}: ENOENT; keeping the last good feed`,
    ]);
  });
});

describe("the upstream", () => {
  it("hanging: 504 for the device, counted, and the gate stays ready and keeps deciding", async () => {
    const hang = await startUpstream(() => "hang");
    const dir = await tempDir({ "p/rules.yaml": floor("26.6.1") });
    const s = await serve(dir, captureLog(), { watch: false, upstream: new URL(hang.url), upstreamTimeoutMs: 150 });
    try {
      const res = await fetch(`${s.url}/mdm/enroll`, { headers: await header("26.6.1") });
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ error: "upstream-timeout" });
      expect(await ready(s)).toBe(200);
      expect(await status(s, "26.5")).toBe(403);
      expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(
        /^enrollgate_upstream_errors_total\{code="upstream-timeout"\} 1$/m,
      );
    } finally {
      await hang.close();
    }
  });
});

describe("SIGTERM under load", () => {
  it("every request in flight completes, new connections are refused, and the gate exits 0", async () => {
    const slow = await startUpstream();
    const upstreamUrl = slow.url;
    await slow.close();
    // An upstream that takes 400 ms, so that requests are in flight at the signal.
    const { createServer } = await import("node:http");
    const delayed = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end("profile"), 400);
    });
    await new Promise<void>((ok) => delayed.listen(Number(new URL(upstreamUrl).port), "127.0.0.1", ok));
    const dir = await tempDir({ "p/rules.yaml": floor("26.6.1") });
    const port = await freePort();
    const gate = run(
      process.execPath,
      [
        BIN,
        "serve",
        "--policies",
        "p",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--verify",
        "off",
        "--upstream",
        upstreamUrl,
      ],
      { cwd: dir },
    );
    try {
      await listening(gate);
      const url = `http://127.0.0.1:${port}/mdm/enroll`;
      const allowed = await header("26.6.1");
      const blocked = await header("26.5");
      const inFlight = Array.from({ length: 40 }, (_, i) =>
        fetch(url, { headers: i % 4 === 0 ? blocked : allowed }).then(async (r) => [r.status, await r.text()] as const),
      );
      await new Promise((r) => setTimeout(r, 150));
      gate.child.kill("SIGTERM");
      const answers = await Promise.all(inFlight);
      expect(answers.filter(([st]) => st === 200).map(([, body]) => body)).toEqual(
        Array.from({ length: 30 }, () => "profile"),
      );
      expect(answers.filter(([st]) => st === 403)).toHaveLength(10);
      expect(await gate.exited).toBe(0);
      await expect(fetch(url, { headers: allowed })).rejects.toThrow();
      expect(gate.lines.at(-1)).toMatchObject({ event: "stopped" });
    } finally {
      delayed.closeAllConnections();
      delayed.close();
    }
  });
});
