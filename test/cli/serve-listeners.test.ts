// `enrollgate serve` as a process with its listeners' flags: HTTPS from
// --tls-cert and --tls-key, re-read on SIGHUP; the admin listener from
// --admin-port; and the usage errors those flags can make.
import { X509Certificate } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, enrollgate } from "../helpers/cli.js";
import { eventually } from "../helpers/http.js";
import { freePort, listening, run } from "../helpers/processes.js";
import { httpsRequest, serverCertificate, tlsCA, type ServerPem } from "../helpers/tls.js";
import { tempDir } from "../helpers/tmp.js";
import type { Identity } from "../../support/signing.js";

const RULES = `rules:\n  - { id: iphone-floor, platform: iOS, minimum: "26.6.1" }\n`;
let ca: Identity;
let one: ServerPem;
let two: ServerPem;

beforeAll(async () => {
  ca = await tlsCA();
  [one, two] = await Promise.all([serverCertificate(ca, "gate one"), serverCertificate(ca, "gate two")]);
});

const fingerprint = (pem: ServerPem) => new X509Certificate(pem.cert).fingerprint256;

describe("enrollgate serve --tls-cert --tls-key --admin-port", () => {
  it("serves HTTPS on --port and probes on the admin port; SIGHUP re-reads the certificate, and a keep-alive connection opened before stays usable", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "cert.pem": one.cert, "key.pem": one.key });
    const [port, adminPort] = [await freePort(), await freePort()];
    const gate = run(
      process.execPath,
      [
        ...[BIN, "serve", "--policies", "p", "--host", "127.0.0.1", "--port", String(port)],
        ...["--tls-cert", "cert.pem", "--tls-key", "key.pem", "--admin-port", String(adminPort), "--no-watch"],
      ],
      { cwd: dir },
    );
    await listening(gate);
    expect(gate.url()).toBe(`https://127.0.0.1:${port}`);
    expect(gate.lines.find((l) => l.event === "listening")).toMatchObject({
      admin: `http://127.0.0.1:${adminPort}`,
      tls: { subject: "O=enrollgate tests + CN=gate one", fingerprint256: fingerprint(one) },
    });
    expect(await (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).json()).toMatchObject({ status: "ready" });

    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.pem });
    try {
      const before = await httpsRequest(`https://127.0.0.1:${port}/mdm/enroll`, { ca: ca.pem, agent });
      expect([before.status, before.fingerprint]).toEqual([200, fingerprint(one)]);

      // --no-watch: only the signal makes the gate look at the files again.
      await writeFile(join(dir, "cert.pem"), two.cert);
      await writeFile(join(dir, "key.pem"), two.key);
      gate.child.kill("SIGHUP");
      await eventually(() => gate.lines.some((l) => l.event === "tls-reload" && l.changed === true), "the re-read");
      expect(gate.lines.find((l) => l.event === "tls-reload")).toMatchObject({
        reason: "SIGHUP",
        fingerprint256: fingerprint(two),
      });
      expect((await httpsRequest(`https://127.0.0.1:${port}/mdm/enroll`, { ca: ca.pem })).fingerprint).toBe(
        fingerprint(two),
      );
      const after = await httpsRequest(`https://127.0.0.1:${port}/mdm/enroll`, { ca: ca.pem, agent });
      expect(after).toMatchObject({ status: 200, localPort: before.localPort, fingerprint: fingerprint(one) });
      // The same signal reloaded the policies too.
      await eventually(
        () => gate.lines.some((l) => l.event === "policy-reload" && l.reason === "SIGHUP"),
        "the policy reload",
      );
      const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      expect(metrics).toMatch(/^enrollgate_tls_reloads_total 1$/m);
    } finally {
      agent.destroy();
    }
    gate.child.kill("SIGTERM");
    expect(await gate.exited).toBe(0);
  });

  it("does not start, with exit 2 and the file named, when the key cannot be read", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES, "cert.pem": one.cert });
    const r = await enrollgate(
      [
        "serve",
        "--policies",
        "p",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--tls-cert",
        "cert.pem",
        "--tls-key",
        "key.pem",
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`enrollgate: TLS key ${join(dir, "key.pem")} cannot be read: ENOENT\n`);
  });

  it.each([
    [["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together: give both, or neither"],
    [["--tls-key", "key.pem"], "--tls-cert and --tls-key go together: give both, or neither"],
    [["--admin-host", "0.0.0.0"], "--admin-host needs --admin-port"],
    [
      ["--port", "9443", "--admin-port", "9443"],
      "--admin-port 9443 is the port enrollment is served on (--port); choose another",
    ],
    [["--admin-port", "http"], '--admin-port must be an integer from 0 to 65535, not "http"'],
  ])("refuses %j: %s", async (args, message) => {
    const r = await enrollgate(["serve", "--policies", "policies", ...args]);
    expect([r.code, r.stderr]).toEqual([2, `enrollgate: ${message}\n`]);
  });
});
