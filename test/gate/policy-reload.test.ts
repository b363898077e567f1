// Reloads that stall or kill the server (issue 11, class 12): the real gate,
// under a 128 MB heap, gets hostile files dropped into its watched policy
// directory. Policy files are compiled in a worker thread with its own
// capped heap and a time limit, so whatever a reload meets, the gate stays
// up, answers /healthz during the reload, keeps deciding with the last good
// set, and logs and counts the failure.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GateMetrics, PolicyStore } from "enrollgate/gate";
import { generatePolicySet } from "../../support/policy-sets.js";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { BIN } from "../helpers/cli.js";
import { captureLog } from "../helpers/http.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

const floor = 'rules:\n  - { id: floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n';

/** The real gate, watching its policy directory, with its log and a few probes. */
function watchedGate(nodeFlags: string[], serveFlags: string[]) {
  const g = {
    dir: "",
    gate: undefined as unknown as Running,
    url: "",
    device: undefined as unknown as Identity,
  };
  beforeAll(async () => {
    g.device = await createIdentity(await createCA(), { kind: "ecdsa" });
    g.dir = await tempDir({ "p/rules.yaml": floor });
    const port = await freePort();
    g.gate = run(
      process.execPath,
      [
        ...nodeFlags,
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
        "--log-level",
        "debug",
        ...serveFlags,
      ],
      { cwd: g.dir },
    );
    await listening(g.gate);
    g.url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    g.gate.child.kill("SIGTERM");
    await g.gate.exited;
  });
  const status = async (os: string) =>
    (
      await fetch(`${g.url}/mdm/enroll`, {
        headers: { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os }), g.device)) },
      })
    ).status;
  const failures = () => g.gate.lines.filter((l) => l.event === "policy-reload-failed");
  const failureCount = async () =>
    Number(
      /^enrollgate_policy_reload_failures_total (\d+)$/m.exec(await (await fetch(`${g.url}/metrics`)).text())?.[1] ??
        "NaN",
    );

  /**
   * Drops a file in and polls until the reload has failed: /readyz, /healthz,
   * /readyz, one after another. /readyz says whether a reload is under way,
   * so a /healthz answered between two that both say so was answered during it.
   */
  async function dropAndWatch(
    name: string,
    text: string,
  ): Promise<{ healthDuringReload: number; healthStatuses: Set<number>; failure: Record<string, unknown> }> {
    const before = failures().length;
    await writeFile(join(g.dir, "p", name), text);
    let healthDuringReload = 0;
    const healthStatuses = new Set<number>();
    const reloading = async () => ((await (await fetch(`${g.url}/readyz`)).json()) as { reloading: boolean }).reloading;
    while (failures().length === before) {
      if (g.gate.child.exitCode !== null) throw new Error(`the gate exited: ${g.gate.stderr()}`);
      const a = await reloading();
      const health = await fetch(`${g.url}/healthz`);
      healthStatuses.add(health.status);
      await health.arrayBuffer();
      const b = await reloading();
      if (a && b) healthDuringReload++;
    }
    return { healthDuringReload, healthStatuses, failure: failures().at(-1) ?? {} };
  }
  return { g, status, failureCount, dropAndWatch };
}

describe("a gate under a 128 MB heap whose watched policy directory gets 2 MB of nested brackets", () => {
  const { g, status, failureCount, dropAndWatch } = watchedGate(["--max-old-space-size=128"], []);

  it("refuses the file with yaml-too-deep, answers /healthz during the reload, and keeps deciding with the last good set", async () => {
    expect(await status("26.5")).toBe(403);
    const failed = await failureCount();
    const watched = await dropAndWatch("bomb.yaml", `rules: ${"[".repeat(1024 * 1024)}${"]".repeat(1024 * 1024)}\n`);
    expect(watched.healthStatuses).toEqual(new Set([200]));
    expect(watched.healthDuringReload).toBeGreaterThan(0);
    expect(watched.failure).toMatchObject({
      level: 50,
      reason: "policy directory changed",
      findings: [
        "p/bomb.yaml:1:71 yaml-too-deep the document nests more than 64 levels deep here; policy files need a handful",
      ],
      msg: "policy set failed to compile; keeping the last good set",
    });
    expect(await failureCount()).toBe(failed + 1);
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);
    expect(await status("26.5")).toBe(403);
    expect(await status("26.6.1")).toBe(200);
    expect(g.gate.child.exitCode).toBeNull();
  });
});

describe("a gate under a 128 MB heap whose enrollgate.yaml comes to name a GDMF snapshot of 6 MB of nested brackets", () => {
  const { g, status, failureCount, dropAndWatch } = watchedGate(["--max-old-space-size=128"], []);

  it("parses the snapshot off the serving thread: the reload fails, /healthz answers during it, and the last good set keeps deciding", async () => {
    // The snapshot is a file in the policy directory (gdmf pull writes it there, and CI commits it).
    await writeFile(join(g.dir, "p", "gdmf.json"), `${"[".repeat(3 * 1024 * 1024)}${"]".repeat(3 * 1024 * 1024)}`);
    const failed = await failureCount();
    const watched = await dropAndWatch("enrollgate.yaml", "feeds:\n  gdmf: gdmf.json\n");
    expect(watched.healthStatuses).toEqual(new Set([200]));
    expect(watched.failure).toMatchObject({
      level: 50,
      msg: "policy set failed to compile; keeping the last good set",
    });
    expect(await failureCount()).toBeGreaterThan(failed);
    expect(await status("26.5")).toBe(403);
    expect(await status("26.6.1")).toBe(200);
    expect(g.gate.child.exitCode).toBeNull();
  });
});

describe("a gate whose compile worker may use 32 MB, given a valid file that needs more", () => {
  // Not under --max-old-space-size: V8 applies that flag to every isolate, the worker's too, in place of its limit.
  const { g, status, failureCount, dropAndWatch } = watchedGate([], ["--compile-memory", "32"]);

  it("stops the worker, not the gate: /healthz answers during the reload, and the last good set keeps deciding", async () => {
    const failed = await failureCount();
    const big = Object.values(generatePolicySet({ rules: 20_000, files: 1 }).files)[0] ?? "";
    const watched = await dropAndWatch("big.yaml", big);
    expect(watched.healthStatuses).toEqual(new Set([200]));
    expect(watched.healthDuringReload).toBeGreaterThan(0);
    expect(watched.failure).toMatchObject({
      level: 50,
      error: "compiling the policy set needed more than the 32 MB it may use; the compile was stopped",
      findings: [],
    });
    expect(await failureCount()).toBe(failed + 1);
    expect(await status("26.5")).toBe(403);
    expect(g.gate.child.exitCode).toBeNull();
  });
});

describe("the compile worker's time limit", () => {
  it("stops a compile that takes longer, and the reload fails with that reason", async () => {
    const dir = await tempDir({
      "p/rules.yaml": Object.values(generatePolicySet({ rules: 20_000, files: 1 }).files)[0] ?? "",
    });
    const log = captureLog();
    const store = new PolicyStore(
      { dir: "p" },
      {
        cwd: dir,
        logger: log.logger,
        metrics: new GateMetrics(),
        overrides: { verify: "off" },
        compileLimits: { timeoutMs: 50 },
      },
    );
    expect(await store.reload("test")).toEqual({
      ok: false,
      error: "compiling the policy set took longer than 0.05 s; the compile was stopped",
      findings: [],
    });
    expect(store.active).toBeNull();
    expect(log.lines.find((l) => l.event === "policy-reload-failed")).toMatchObject({
      error: "compiling the policy set took longer than 0.05 s; the compile was stopped",
    });
  });
});
