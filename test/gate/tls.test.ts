// HTTPS on 127.0.0.1 with certificates made here: protocol versions, the
// certificate re-read when its files change (written over, or swapped the way
// a Kubernetes Secret is) without dropping connections, a bad new pair that
// leaves the old one serving, and the confinement of the files enrollgate.yaml
// names.
import { X509Certificate } from "node:crypto";
import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasErrorCode, startServer, type RunningServer, type ServerOptions } from "enrollgate";
import { base64, createCA, createIdentity, machineInfoPlist, signCms, type Identity } from "../../support/signing.js";
import { captureLog, eventually, startUpstream, type CapturedLog, type Upstream } from "../helpers/http.js";
import { handshake, httpsRequest, serverCertificate, tlsCA, type ServerPem } from "../helpers/tls.js";
import { tempDir } from "../helpers/tmp.js";

const RULES = `rules:\n  - { id: iphone-floor, platform: iOS, models: ["iPhone*"], minimum: "26.6.1" }\n`;

let ca: Identity;
let one: ServerPem;
let two: ServerPem;
let three: ServerPem;
let deviceCa: Identity;
let device: Identity;
const running: RunningServer[] = [];

const fingerprint = (pem: ServerPem) => new X509Certificate(pem.cert).fingerprint256;
const portOf = (url: string) => Number(new URL(url).port);

beforeAll(async () => {
  ca = await tlsCA();
  [one, two, three] = await Promise.all([
    serverCertificate(ca, "gate one"),
    serverCertificate(ca, "gate two"),
    serverCertificate(ca, "gate three"),
  ]);
  deviceCa = await createCA("Device CA");
  device = await createIdentity(deviceCa, { kind: "ecdsa" });
});

afterAll(async () => {
  await Promise.all(running.map((s) => s.close(100)));
});

async function start(
  files: Record<string, string>,
  options: Partial<ServerOptions> = {},
): Promise<{ server: RunningServer; dir: string; log: CapturedLog }> {
  const dir = await tempDir({ "p/rules.yaml": RULES, "device-ca.pem": deviceCa.pem, ...files });
  const log = captureLog();
  const server = await startServer({
    policies: "p",
    host: "127.0.0.1",
    port: 0,
    overrides: { trustAnchors: ["device-ca.pem"] },
    logger: log.logger,
    env: {},
    cwd: dir,
    debounceMs: 50,
    ...options,
  });
  running.push(server);
  return { server, dir, log };
}

const get = (server: RunningServer, path: string, agent?: Agent) =>
  httpsRequest(`${server.url}${path}`, { ca: ca.pem, ...(agent !== undefined ? { agent } : {}) });

describe("HTTPS with --tls-cert and --tls-key (startServer's tls)", () => {
  it("speaks TLS 1.3 and 1.2, and refuses TLS 1.1 in the handshake, counting it", async () => {
    const { server } = await start(
      { "tls/cert.pem": one.cert, "tls/key.pem": one.key },
      { tls: { cert: "tls/cert.pem", key: "tls/key.pem" } },
    );
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const port = portOf(server.url);
    expect(await handshake(port, ca.pem, { min: "TLSv1.3", max: "TLSv1.3" })).toEqual({
      ok: true,
      protocol: "TLSv1.3",
    });
    expect(await handshake(port, ca.pem, { min: "TLSv1.2", max: "TLSv1.2" })).toEqual({
      ok: true,
      protocol: "TLSv1.2",
    });
    // The same client gets TLS 1.1 from a server that allows it: it really offers it.
    const lenient = createTlsServer({ ...one, minVersion: "TLSv1", ciphers: "DEFAULT@SECLEVEL=0" }, (s) => s.end());
    await new Promise<void>((ok) => lenient.listen(0, "127.0.0.1", ok));
    const control = await handshake((lenient.address() as AddressInfo).port, ca.pem, {
      min: "TLSv1.1",
      max: "TLSv1.1",
    });
    lenient.close();
    expect(control).toEqual({ ok: true, protocol: "TLSv1.1" });
    const refused = await handshake(port, ca.pem, { min: "TLSv1.1", max: "TLSv1.1" });
    expect(refused).toEqual({ ok: false, code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" });
    const metrics = await get(server, "/metrics");
    expect(metrics.body).toMatch(/^enrollgate_tls_handshake_failures_total 1$/m);
    expect(metrics.body).toContain(
      `enrollgate_tls_certificate_expiry_timestamp_seconds{subject="O=enrollgate tests + CN=gate one"} ${new Date(new X509Certificate(one.cert).validTo).getTime() / 1000}`,
    );
  });

  it("answers devices as over HTTP, and tells the upstream the request came over HTTPS", async () => {
    const upstream: Upstream = await startUpstream();
    try {
      const { server } = await start(
        { "tls/cert.pem": one.cert, "tls/key.pem": one.key },
        { tls: { cert: "tls/cert.pem", key: "tls/key.pem" }, upstream: new URL(upstream.url) },
      );
      const header = async (os: string) => ({
        "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os }), device)),
      });
      const blocked = await httpsRequest(`${server.url}/mdm/enroll`, { ca: ca.pem, headers: await header("26.5") });
      expect(blocked.status).toBe(403);
      expect(JSON.parse(blocked.body)).toMatchObject({ details: { OSVersion: "26.6.1" } });
      const allowed = await httpsRequest(`${server.url}/mdm/enroll`, { ca: ca.pem, headers: await header("26.7") });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toBe("<profile from upstream>");
      expect(upstream.requests.map((r) => r.headers["x-forwarded-proto"])).toEqual(["https"]);
    } finally {
      await upstream.close();
    }
  });

  it("serves a certificate written over its files to new connections; a connection opened before keeps working", async () => {
    const { server, dir, log } = await start(
      { "tls/cert.pem": one.cert, "tls/key.pem": one.key },
      { tls: { cert: "tls/cert.pem", key: "tls/key.pem" } },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.pem });
    try {
      const before = await get(server, "/healthz", agent);
      expect(before.fingerprint).toBe(fingerprint(one));

      await writeFile(join(dir, "tls", "key.pem"), two.key);
      await writeFile(join(dir, "tls", "cert.pem"), two.cert);
      await eventually(
        () => log.lines.some((l) => l.event === "tls-reload" && l.fingerprint256 === fingerprint(two)),
        "the new certificate to be served",
      );
      expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(two));

      // The keep-alive connection made with the first certificate: still open, still answering.
      const after = await get(server, "/readyz", agent);
      expect(after).toMatchObject({ status: 200, localPort: before.localPort, fingerprint: fingerprint(one) });
      expect(JSON.parse(after.body)).toMatchObject({ status: "ready" });
      // The new context keeps the protocol floor.
      expect(await handshake(portOf(server.url), ca.pem, { min: "TLSv1.1", max: "TLSv1.1" })).toEqual({
        ok: false,
        code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
      });
      expect((await get(server, "/metrics")).body).toMatch(/^enrollgate_tls_reloads_total [12]$/m);
    } finally {
      agent.destroy();
    }
  });

  it("keeps the certificate serving when the new key does not match it or the certificate is not PEM, logged and counted", async () => {
    const { server, dir, log } = await start(
      { "tls/cert.pem": one.cert, "tls/key.pem": one.key },
      { tls: { cert: "tls/cert.pem", key: "tls/key.pem" }, watch: false },
    );
    await writeFile(join(dir, "tls", "key.pem"), two.key);
    expect(await server.reloadTls("test")).toEqual({
      ok: false,
      error: `TLS certificate ${join(dir, "tls", "cert.pem")} and key ${join(dir, "tls", "key.pem")} cannot be used: the key does not match the certificate`,
      fingerprint256: fingerprint(one),
    });
    await writeFile(
      join(dir, "tls", "cert.pem"),
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    const garbled = await server.reloadTls("test");
    expect(garbled).toMatchObject({ ok: false, fingerprint256: fingerprint(one) });
    expect(garbled?.ok === false ? garbled.error : null).toMatch(
      /^TLS certificate .*cert\.pem is not a PEM certificate: /,
    );
    expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(one));
    expect(log.lines.filter((l) => l.event === "tls-reload-failed").map((l) => l.keeping)).toEqual([
      fingerprint(one),
      fingerprint(one),
    ]);
    const metrics = (await get(server, "/metrics")).body;
    expect(metrics).toMatch(/^enrollgate_tls_reload_failures_total 2$/m);
    expect(metrics).toMatch(/^enrollgate_tls_reloads_total 0$/m);

    await writeFile(join(dir, "tls", "cert.pem"), two.cert);
    expect(await server.reloadTls("test")).toEqual({ ok: true, changed: true, fingerprint256: fingerprint(two) });
    expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(two));
    expect(await server.reloadTls("test")).toEqual({ ok: true, changed: false, fingerprint256: fingerprint(two) });
  });

  it("is null to reloadTls when the gate serves plain HTTP", async () => {
    const { server } = await start({});
    expect(server.url).toMatch(/^http:\/\//);
    expect(await server.reloadTls()).toBeNull();
    // No certificate, so no expiry that would read as 0 (long expired) to an alert.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^enrollgate_tls_certificate_expiry_timestamp_seconds/m);
  });
});

/** A directory as the kubelet mounts a Secret: the files are symlinks through `..data` to a timestamped directory. */
async function kubeletSecret(dir: string, pem: ServerPem): Promise<void> {
  await mkdir(join(dir, "..2026_01_01_00_00_00.000000001"), { recursive: true });
  await writeFile(join(dir, "..2026_01_01_00_00_00.000000001", "tls.crt"), pem.cert);
  await writeFile(join(dir, "..2026_01_01_00_00_00.000000001", "tls.key"), pem.key);
  await symlink("..2026_01_01_00_00_00.000000001", join(dir, "..data"));
  await symlink("..data/tls.crt", join(dir, "tls.crt"));
  await symlink("..data/tls.key", join(dir, "tls.key"));
}

/** The kubelet's update: a new timestamped directory, `..data` swapped to it in one rename, the old one removed. */
async function kubeletUpdate(dir: string, pem: ServerPem, stamp: string): Promise<void> {
  const fresh = `..2026_${stamp}`;
  await mkdir(join(dir, fresh));
  await writeFile(join(dir, fresh, "tls.crt"), pem.cert);
  await writeFile(join(dir, fresh, "tls.key"), pem.key);
  await symlink(fresh, join(dir, "..data_tmp"));
  const old = await readlink(join(dir, "..data"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  await rm(join(dir, old), { recursive: true });
}

describe("tls in enrollgate.yaml", () => {
  it("follows a Kubernetes Secret in a --secrets-dir as the kubelet updates it (..data swapped in one rename)", async () => {
    const secrets = await tempDir();
    await kubeletSecret(secrets, one);
    const { server, log } = await start(
      { "p/enrollgate.yaml": `tls: { cert: ${secrets}/tls.crt, key: ${secrets}/tls.key }\n` },
      { secretsDirs: [secrets] },
    );
    expect(server.url).toMatch(/^https:/);
    expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(one));

    await kubeletUpdate(secrets, two, "02_01_00_00_00.000000002");
    await eventually(async () => (await get(server, "/healthz")).fingerprint === fingerprint(two), "the renewal");
    // And again: the watch follows the symlinks to the new directory.
    await kubeletUpdate(secrets, three, "03_01_00_00_00.000000003");
    await eventually(async () => (await get(server, "/healthz")).fingerprint === fingerprint(three), "the next one");
    expect(log.lines.filter((l) => l.event === "tls-reload-failed")).toEqual([]);
    expect(log.lines.filter((l) => l.event === "tls-key-in-policy-dir")).toEqual([]);
  });

  it("refuses a key outside the policy directory and the secrets directories: the set does not compile", async () => {
    const elsewhere = await tempDir({ "tls.crt": one.cert, "tls.key": one.key });
    const failed = await start({
      "p/enrollgate.yaml": `tls: { cert: ${elsewhere}/tls.crt, key: ${elsewhere}/tls.key }\n`,
    }).catch((e: unknown) => e);
    expect(hasErrorCode(failed, "policy-set-invalid")).toBe(true);
    expect((failed as Error).message).toContain(
      `tls-file-refused TLS key file ${elsewhere}/tls.key is refused: it is outside the policy directory`,
    );
  });

  it("does not start when the key is missing, and names it", async () => {
    const secrets = await tempDir({ "tls.crt": one.cert });
    const failed = await start(
      { "p/enrollgate.yaml": `tls: { cert: ${secrets}/tls.crt, key: ${secrets}/tls.key }\n` },
      { secretsDirs: [secrets] },
    ).catch((e: unknown) => e);
    expect(hasErrorCode(failed, "tls-unusable")).toBe(true);
    expect((failed as Error).message).toBe(`TLS key ${secrets}/tls.key cannot be read: ENOENT`);
  });

  it("serves a key kept in the policy directory, with a warning", async () => {
    const { server, log } = await start({
      "p/enrollgate.yaml": "tls: { cert: tls/cert.pem, key: tls/key.pem }\n",
      "p/tls/cert.pem": one.cert,
      "p/tls/key.pem": one.key,
    });
    expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(one));
    await eventually(() => log.lines.some((l) => l.event === "tls-key-in-policy-dir"), "the warning");
  });

  it("serves the files a changed enrollgate.yaml names once the set reloads; --tls-cert and --tls-key win over it", async () => {
    const { server, dir } = await start(
      {
        "p/enrollgate.yaml": "tls: { cert: ../tls/one.crt, key: ../tls/one.key }\n",
        "tls/one.crt": one.cert,
        "tls/one.key": one.key,
        "tls/two.crt": two.cert,
        "tls/two.key": two.key,
      },
      { secretsDirs: ["tls"], watch: false },
    );
    expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(one));
    await writeFile(join(dir, "p", "enrollgate.yaml"), "tls: { cert: ../tls/two.crt, key: ../tls/two.key }\n");
    expect(await server.reload("test")).toMatchObject({ ok: true, changed: true });
    expect((await get(server, "/healthz")).fingerprint).toBe(fingerprint(two));

    const flagged = await start(
      {
        "p/enrollgate.yaml": "tls: { cert: ../tls/one.crt, key: ../tls/one.key }\n",
        "tls/one.crt": one.cert,
        "tls/one.key": one.key,
        "flags/cert.pem": three.cert,
        "flags/key.pem": three.key,
      },
      { secretsDirs: ["tls"], tls: { cert: "flags/cert.pem", key: "flags/key.pem" } },
    );
    expect((await get(flagged.server, "/healthz")).fingerprint).toBe(fingerprint(three));
  });
});
