// The admin listener on real sockets: /healthz, /readyz and /metrics served
// there alone; the enrollment listener then passes those paths on like any
// other; /readyz says "stopping" while the gate drains.
import { createServer, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer, type ServerOptions } from "enrollgate";
import { DEFAULT_ADMIN_HOST } from "enrollgate/gate";
import { captureLog, eventually, startUpstream, type Recorded, type Upstream } from "../helpers/http.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = `rules:\n  - { id: iphone-floor, platform: iOS, minimum: "26.6.1" }\n`;
const running: RunningServer[] = [];
const upstreams: Upstream[] = [];

afterAll(async () => {
  await Promise.all(running.map((s) => s.close(100)));
  await Promise.all(upstreams.map((u) => u.close()));
});

async function start(options: Partial<ServerOptions>): Promise<RunningServer> {
  const dir = await tempDir({ "p/rules.yaml": RULES });
  const server = await startServer({
    policies: "p",
    host: "127.0.0.1",
    port: 0,
    overrides: {},
    logger: captureLog().logger,
    env: {},
    cwd: dir,
    watch: false,
    ...options,
  });
  running.push(server);
  return server;
}

async function upstream(answer?: Parameters<typeof startUpstream>[0]): Promise<Upstream> {
  const u = await startUpstream(answer);
  upstreams.push(u);
  return u;
}

describe("with --admin-port", () => {
  it("serves /healthz, /readyz and /metrics there, on 127.0.0.1 unless told otherwise", async () => {
    const server = await start({ admin: { port: 0 } });
    expect(DEFAULT_ADMIN_HOST).toBe("127.0.0.1");
    expect(server.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.adminUrl).not.toBe(server.url);
    const health = await fetch(`${server.adminUrl}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
    const ready = await fetch(`${server.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ready",
      revision: server.store.active?.set.revision,
      rules: 1,
      reloading: false,
    });
    const metrics = await fetch(`${server.adminUrl}/metrics`);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/^enrollgate_ready 1$/m);
    const head = await fetch(`${server.adminUrl}/readyz`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
  });

  it("answers anything else there with a 404 JSON error", async () => {
    const server = await start({ admin: { port: 0 } });
    for (const [method, path] of [
      ["GET", "/"],
      ["GET", "/mdm/enroll"],
      ["POST", "/healthz"],
      ["DELETE", "/metrics"],
      ["GET", "/healthz/"],
    ] as const) {
      const res = await fetch(`${server.adminUrl}${path}`, { method });
      expect([method, path, res.status, await res.json()]).toEqual([
        method,
        path,
        404,
        { error: "not-found", message: "the admin listener serves GET /healthz, /readyz and /metrics only" },
      ]);
    }
  });

  it("passes /healthz, /readyz and /metrics on the enrollment port to the upstream, like any other path", async () => {
    const mdm = await upstream((r: Recorded) => ({ status: 200, body: `the MDM's own ${r.url}` }));
    const server = await start({ admin: { port: 0 }, upstream: new URL(mdm.url) });
    for (const path of ["/healthz", "/readyz", "/metrics?name=x"]) {
      const res = await fetch(`${server.url}${path}`);
      expect([res.status, await res.text()]).toEqual([200, `the MDM's own ${path}`]);
    }
    expect(mdm.requests.map((r) => [r.url, r.headers["x-enrollgate-decision"]])).toEqual([
      ["/healthz", "allow"],
      ["/readyz", "allow"],
      ["/metrics?name=x", "allow"],
    ]);
  });

  it("without an upstream, answers those paths on the enrollment port as any allowed request", async () => {
    const server = await start({ admin: { port: 0 } });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ decision: "allow", reason: "no-machine-info", rule: null });
  });

  it("keeps answering probes and scrapes while a flood holds every enrollment connection", async () => {
    const server = await start({ admin: { port: 0 }, maxConnections: 2 });
    const { port } = new URL(server.url);
    const open = () =>
      new Promise<Socket>((ok, no) => {
        const s = connect(Number(port), "127.0.0.1", () => ok(s)).on("error", no);
      });
    // Two clients that never finish their headers hold both enrollment slots.
    const held = [await open(), await open()];
    try {
      for (const s of held) s.write("GET /mdm/enroll HTTP/1.1\r\nHost: gate\r\n");
      await eventually(async () => {
        const third = await open();
        const closed = await new Promise<boolean>((ok) => {
          third.on("error", () => undefined).on("close", () => ok(true));
          setTimeout(() => ok(false), 500);
        });
        third.destroy();
        return closed;
      }, "the enrollment port to be full");
      const health = await fetch(`${server.adminUrl}/healthz`);
      expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
      const metrics = await (await fetch(`${server.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/^enrollgate_connections_dropped_total [1-9]\d*$/m);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it("answers /readyz with 503 stopping while the gate drains, and closes once the last request is done", async () => {
    // An MDM that holds its answers until told to send them.
    const held: ServerResponse[] = [];
    const mdm = createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    await new Promise<void>((ok) => mdm.listen(0, "127.0.0.1", ok));
    try {
      const server = await start({
        admin: { port: 0 },
        upstream: new URL(`http://127.0.0.1:${(mdm.address() as AddressInfo).port}`),
      });
      const inFlight = fetch(`${server.url}/mdm/checkin`).then(async (r) => [r.status, await r.text()]);
      await eventually(() => held.length === 1, "the request to reach the upstream");
      const closing = server.close(5000);
      const ready = await fetch(`${server.adminUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "stopping", revision: server.store.active?.set.revision });
      expect((await fetch(`${server.adminUrl}/healthz`)).status).toBe(200);
      held[0]?.end("checked in");
      expect(await inFlight).toEqual([200, "checked in"]);
      await closing;
      await expect(fetch(`${server.adminUrl}/healthz`)).rejects.toThrow();
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    } finally {
      mdm.closeAllConnections();
      mdm.close();
    }
  });
});

describe("without --admin-port", () => {
  it("serves /healthz, /readyz and /metrics on the enrollment port, as before", async () => {
    const mdm = await upstream();
    const server = await start({ upstream: new URL(mdm.url) });
    expect(server.adminUrl).toBeNull();
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: "ready" });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^enrollgate_ready 1$/m);
    expect(mdm.requests).toEqual([]);
  });
});
