// deploy/nginx/ in a real nginx: TLS termination with a test CA, in front of
// three `enrollgate serve` replicas on loopback and a stand-in MDM server.
// Thousands of mixed enrollments (blocked, allowed, malformed, oversized, as
// a header and as a POST body), the shared policy directory changed under
// load until every replica reports the new revision, and one replica killed
// with SIGKILL in the middle. Every answer must be the one the policy set it
// names gives, and no client may see a connection error.
import { X509Certificate } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { Agent } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { BIN } from "../helpers/cli.js";
import { eventually } from "../helpers/http.js";
import { findOrInstallNginx, startNginx, type RunningNginx } from "../helpers/nginx.js";
import { freePort, run, type Running } from "../helpers/processes.js";
import { handshake, httpsRequest, serverCertificate, tlsCA, type TlsAnswer } from "../helpers/tls.js";
import { tempDir } from "../helpers/tmp.js";

const nginx = findOrInstallNginx();
if (nginx.path === null) {
  // CI installs nginx-light before the tests (.ci/run): there, a missing nginx is a failure, not a skip.
  if (process.env.CI !== undefined && process.env.CI !== "") throw new Error(`CI has no nginx: ${nginx.why}`);
  process.stderr.write(`\n*** test/deploy/nginx.test.ts SKIPPED: ${nginx.why} ***\n\n`);
}

type SetName = "A" | "B";
const rulesFor = (set: SetName) => {
  const floor = set === "A" ? "26.5" : "26.6.1";
  return `rules:\n  - id: floor\n    platform: iOS\n    models: ["iPhone*"]\n    minimum: "${floor}"\n    message: "Update to ${floor} (set ${set})"\n`;
};

/** The requests the load mixes, one of each in turn. */
const KINDS = [
  "get-26.5.1",
  "get-26.0",
  "get-26.7",
  "post-26.5.1",
  "post-26.0",
  "post-26.7",
  "malformed",
  "oversized",
  "no-machine-info",
  "forged-forwarding",
] as const;
type Kind = (typeof KINDS)[number];

/** What set `set` answers to `kind`: the status, and the OSVersion of a 403 or the reason of an allowed request. */
function expected(set: SetName, kind: Kind): { status: number; os?: string; reason?: string; error?: string } {
  const device = kind.replace(/^(get|post)-/, "");
  switch (device) {
    case "26.5.1":
      return set === "A" ? { status: 200, reason: "compliant" } : { status: 403, os: "26.6.1" };
    case "26.0":
      return { status: 403, os: set === "A" ? "26.5" : "26.6.1" };
    case "26.7":
    case "forged-forwarding":
      return { status: 200, reason: "compliant" };
    case "no-machine-info":
      return { status: 200, reason: "no-machine-info" };
    case "malformed":
      return { status: 400, error: "bad-base64" };
    default:
      return { status: 413, error: "body-too-large" };
  }
}

interface Answered {
  readonly id: number;
  readonly kind: Kind;
  readonly method: string;
  /** Whether every replica reported set B before this request was sent. */
  readonly afterSwitch: boolean;
  readonly answer: TlsAnswer;
}

describe.skipIf(nginx.path === null)("deploy/nginx/enrollgate.conf.template in a real nginx", () => {
  let dir: string;
  let mdm: Server;
  const seenByMdm: IncomingHttpHeaders[] = [];
  const replicas: Array<{ port: number; admin: number; process: Running }> = [];
  let proxy: RunningNginx;
  let port: number;
  let tlsRoot: string;
  let edgeFingerprint: string;
  const requests: Record<Kind, { method: string; path: string; headers: Record<string, string>; body?: Uint8Array }> =
    {} as never;

  beforeAll(async () => {
    const deviceCa = await createCA("Device CA");
    const device = await createIdentity(deviceCa, { kind: "ecdsa" });
    const root = await tlsCA("nginx test CA");
    tlsRoot = root.pem;
    const edge = await serverCertificate(root, "enroll.test");
    edgeFingerprint = new X509Certificate(edge.cert).fingerprint256;
    dir = await tempDir({
      "p/rules.yaml": rulesFor("A"),
      "ca.pem": deviceCa.pem,
      "edge.crt": edge.cert,
      "edge.key": edge.key,
    });
    const signed = async (os: string) => signCms(machineInfoPlist({ OS_VERSION: os }), device);
    const header = async (os: string) => ({ "x-apple-aspen-deviceinfo": base64(await signed(os)) });
    const body = async (os: string) => ({
      method: "POST",
      path: "/mdm/profile",
      headers: { "content-type": "application/pkcs7-signature" },
      body: await signed(os),
    });
    Object.assign(requests, {
      "get-26.5.1": { method: "GET", path: "/mdm/enroll", headers: await header("26.5.1") },
      "get-26.0": { method: "GET", path: "/mdm/enroll", headers: await header("26.0") },
      "get-26.7": { method: "GET", path: "/mdm/enroll", headers: await header("26.7") },
      "post-26.5.1": await body("26.5.1"),
      "post-26.0": await body("26.0"),
      "post-26.7": await body("26.7"),
      malformed: { method: "GET", path: "/mdm/enroll", headers: { "x-apple-aspen-deviceinfo": "not*base64" } },
      oversized: {
        method: "POST",
        path: "/mdm/profile",
        headers: { "content-type": "application/pkcs7-signature" },
        body: new Uint8Array(100 * 1024).fill(0x30),
      },
      "no-machine-info": { method: "GET", path: "/mdm/enroll", headers: {} },
      "forged-forwarding": {
        method: "GET",
        path: "/mdm/enroll",
        headers: {
          ...(await header("26.7")),
          "x-forwarded-for": "6.6.6.6",
          forwarded: "for=6.6.6.6",
          "x-real-ip": "6.6.6.6",
          "true-client-ip": "6.6.6.6",
          "x-forwarded-port": "6666",
        },
      },
    });

    // The MDM stand-in: answers every request it gets with what the gate told it.
    mdm = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        seenByMdm.push(req.headers);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            decision: req.headers["x-enrollgate-decision"],
            reason: req.headers["x-enrollgate-reason"],
            revision: req.headers["x-enrollgate-revision"],
          }),
        );
      });
    });
    await new Promise<void>((ok) => mdm.listen(0, "127.0.0.1", ok));
    const mdmUrl = `http://127.0.0.1:${(mdm.address() as AddressInfo).port}`;

    for (let i = 0; i < 3; i++) {
      const [replicaPort, adminPort] = [await freePort(), await freePort()];
      const args = [
        ...[BIN, "serve", "--policies", "p", "--host", "127.0.0.1", "--port", String(replicaPort)],
        ...["--admin-port", String(adminPort), "--upstream", mdmUrl, "--trust-proxy", "127.0.0.1"],
        ...["--trust-anchor", "ca.pem", "--log-level", "warn"],
      ];
      replicas.push({ port: replicaPort, admin: adminPort, process: run(process.execPath, args, { cwd: dir }) });
    }
    for (const r of replicas)
      await eventually(
        () =>
          fetch(`http://127.0.0.1:${r.admin}/readyz`).then(
            (res) => res.status === 200,
            () => false,
          ),
        "a replica to be ready",
        20_000,
      );

    port = await freePort();
    proxy = await startNginx(nginx.path as string, {
      ENROLLGATE_LISTEN: `127.0.0.1:${port}`,
      ENROLLGATE_SERVER_NAME: "enroll.test",
      ENROLLGATE_TLS_CERT: join(dir, "edge.crt"),
      ENROLLGATE_TLS_KEY: join(dir, "edge.key"),
      ENROLLGATE_REPLICAS: replicas.map((r) => `server 127.0.0.1:${r.port};`).join(" "),
      ENROLLGATE_MAX_BODY_SIZE: "1m",
    });
    await eventually(async () => (await handshake(port, tlsRoot, { min: "TLSv1.2", max: "TLSv1.3" })).ok, "nginx");
  }, 120_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const r of replicas) if (r.process.child.exitCode === null) r.process.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.process.exited));
    mdm?.closeAllConnections();
    mdm?.close();
  });

  const revisionsOf = async () =>
    Promise.all(
      replicas
        .filter((r) => r.process.child.exitCode === null && r.process.child.signalCode === null)
        .map(async (r) => (await (await fetch(`http://127.0.0.1:${r.admin}/readyz`)).json()) as { revision: string }),
    ).then((all) => all.map((x) => x.revision));

  it("terminates TLS 1.2 and 1.3 only, with the certificate it is given", async () => {
    expect(await handshake(port, tlsRoot, { min: "TLSv1.3", max: "TLSv1.3" })).toEqual({
      ok: true,
      protocol: "TLSv1.3",
    });
    expect(await handshake(port, tlsRoot, { min: "TLSv1.2", max: "TLSv1.2" })).toEqual({
      ok: true,
      protocol: "TLSv1.2",
    });
    expect(await handshake(port, tlsRoot, { min: "TLSv1.1", max: "TLSv1.1" })).toMatchObject({ ok: false });
    const answer = await httpsRequest(`https://127.0.0.1:${port}/mdm/enroll`, { ca: tlsRoot });
    expect(answer.fingerprint).toBe(edgeFingerprint);
  });

  it("answers thousands of mixed enrollments right, through a policy change and a replica killed with SIGKILL, with no connection error", async () => {
    seenByMdm.length = 0;
    const revisionA = (await revisionsOf())[0] as string;
    expect(await revisionsOf()).toEqual([revisionA, revisionA, revisionA]);
    // Clients come from 127.0.0.2: nginx must pass that address on, and the gates must believe it.
    const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: tlsRoot, localAddress: "127.0.0.2" });
    const answers: Answered[] = [];
    const errors: string[] = [];
    let sent = 0;
    let switched = false;
    let killedAt: number | null = null;
    let revisionB = "";
    const killed = replicas[1] as (typeof replicas)[number];

    // The load: 8 clients, each sending the next request as soon as it has its answer.
    const MAX = 8000;
    const done = () => killedAt !== null && answers.length >= killedAt + 1000;
    const client = async () => {
      while (!done() && sent < MAX) {
        const id = sent++;
        const kind = KINDS[id % KINDS.length] as Kind;
        const r = requests[kind];
        const afterSwitch = switched;
        try {
          const answer = await httpsRequest(`https://127.0.0.1:${port}${r.path}?n=${id}`, {
            ca: tlsRoot,
            agent,
            method: r.method,
            headers: r.headers,
            ...(r.body !== undefined ? { body: r.body } : {}),
          });
          answers.push({ id, kind, method: r.method, afterSwitch, answer });
        } catch (e) {
          errors.push(`${id} ${kind}: ${(e as Error).message}`);
        }
      }
    };
    // Meanwhile: set B once 1,000 answers are in, wait for every replica to report it, then kill one.
    const operator = async () => {
      await eventually(() => answers.length >= 1000, "1,000 answers", 60_000);
      const tmp = join(dir, "p", ".rules.yaml.tmp");
      await writeFile(tmp, rulesFor("B"));
      await rename(tmp, join(dir, "p", "rules.yaml"));
      await eventually(
        async () => {
          const revisions = await revisionsOf();
          return revisions.length === 3 && revisions.every((r) => r !== revisionA && r === revisions[0]);
        },
        "every replica to report the new revision",
        20_000,
      );
      revisionB = (await revisionsOf())[0] as string;
      switched = true;
      await eventually(() => answers.length >= 2000, "2,000 answers", 60_000);
      killed.process.child.kill("SIGKILL");
      killedAt = answers.length;
    };
    await Promise.all([operator(), ...Array.from({ length: 8 }, client)]);
    agent.destroy();

    expect(errors).toEqual([]);
    expect(await killed.process.exited).toBeNull();
    expect(killed.process.child.signalCode).toBe("SIGKILL");
    expect(answers.length).toBeGreaterThanOrEqual(3000);

    // A POST the killed replica had been sent gets nginx's 502 (it is not sent twice); nothing else may.
    const errorLog = await proxy.errorLog();
    const bySet: Record<SetName, number> = { A: 0, B: 0 };
    const wrong: string[] = [];
    const unsent: number[] = [];
    for (const { id, kind, method, afterSwitch, answer } of answers) {
      if (answer.status === 502 && answer.headers["x-enrollgate-revision"] === undefined) {
        const line = new RegExp(
          `request: "${method} /mdm/profile\\?n=${id} HTTP/1\\.1", upstream: "http://127\\.0\\.0\\.1:${killed.port}/`,
        );
        if (method !== "POST" || !line.test(errorLog))
          wrong.push(`${id} ${kind}: nginx 502 ${answer.body.slice(0, 80)}`);
        else unsent.push(id);
        continue;
      }
      const json = JSON.parse(answer.body) as {
        revision?: string;
        reason?: string;
        error?: string;
        details?: { OSVersion?: string };
        message?: string;
      };
      const revision = (answer.headers["x-enrollgate-revision"] as string | undefined) ?? json.revision;
      const set: SetName | null = revision === revisionA ? "A" : revision === revisionB ? "B" : null;
      if (set === null) {
        wrong.push(`${id} ${kind}: revision ${String(revision)} is neither set's`);
        continue;
      }
      bySet[set]++;
      const want = expected(set, kind);
      const got = { status: answer.status, os: json.details?.OSVersion, reason: json.reason, error: json.error };
      const matches =
        got.status === want.status &&
        (want.os === undefined || (got.os === want.os && json.message === `Update to ${want.os} (set ${set})`)) &&
        (want.reason === undefined || got.reason === want.reason) &&
        (want.error === undefined || got.error === want.error);
      if (!matches) wrong.push(`${id} ${kind} (set ${set}): ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}`);
      if (afterSwitch && set === "A") wrong.push(`${id} ${kind}: answered by set A after every replica reported B`);
    }
    expect(wrong).toEqual([]);
    expect(unsent.length).toBeLessThanOrEqual(8);
    expect(bySet.A).toBeGreaterThan(500);
    expect(bySet.B).toBeGreaterThan(1000);

    // Every replica answered, the killed one included, and the client's address reached the MDM server.
    const upstreams = new Set(
      [...(await proxy.accessLog()).matchAll(/upstream=([\d.:, ]+) /g)].flatMap((m) => (m[1] as string).split(", ")),
    );
    for (const r of replicas) expect(upstreams).toContain(`127.0.0.1:${r.port}`);
    expect(seenByMdm.length).toBeGreaterThan(1000);
    expect(new Set(seenByMdm.map((h) => h["x-forwarded-for"]))).toEqual(new Set(["127.0.0.2, 127.0.0.1"]));
    expect(new Set(seenByMdm.map((h) => h["x-forwarded-proto"]))).toEqual(new Set(["https"]));
    expect(new Set(seenByMdm.map((h) => h["x-real-ip"]))).toEqual(new Set(["127.0.0.2"]));
    expect(seenByMdm.filter((h) => JSON.stringify(h).includes("6.6.6"))).toEqual([]);
  }, 120_000);
});
