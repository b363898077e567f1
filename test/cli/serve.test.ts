// `enrollgate serve` and `npm start` as processes: ports, signals, startup failures.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { base64, createCA, createIdentity, machineInfoPlist, signCms } from "../../support/signing.js";
import { BIN, enrollgate } from "../helpers/cli.js";
import { eventually, startUpstream } from "../helpers/http.js";
import { freePort, listening, run } from "../helpers/processes.js";
import { tempDir } from "../helpers/tmp.js";

// A self-signed certificate with an RSA-512 key: too weak to be a trust anchor.
const WEAK_ANCHOR = execFileSync(
  "/usr/bin/openssl",
  ["req", "-x509", "-newkey", "rsa:512", "-nodes", "-keyout", "/dev/null", "-subj", "/CN=weak", "-days", "1"],
  { stdio: ["ignore", "pipe", "ignore"] },
).toString();

describe("npm start", () => {
  it("serves the example policies, on $PORT when set, with the trust anchors it is given", async () => {
    const port = await freePort();
    const ca = await createCA("Some CA");
    const dir = await tempDir({ "ca.pem": ca.pem });
    // The example set enforces verification; a device signed by a test CA needs that CA as an anchor.
    const r = run("npm", ["start", "--silent", "--", "--trust-anchor", `${dir}/ca.pem`], {
      env: { PORT: String(port), npm_config_update_notifier: "false" },
    });
    await listening(r);
    expect(r.url()).toBe(`http://0.0.0.0:${port}`);
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { status: string; rules: number };
    expect(ready).toMatchObject({ status: "ready", rules: 8 });
    const device = await createIdentity(ca, { kind: "ecdsa" });
    const res = await fetch(`http://127.0.0.1:${port}/mdm/enroll`, {
      headers: { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device)) },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      code: "com.apple.softwareupdate.required",
      details: { OSVersion: "26.6.1" },
    });
    await eventually(
      () => r.lines.some((l) => l.event === "decision" && l.verification === "verified"),
      "the decision log line",
    );
    // npm forwards the signal; the gate drains and stops (npm's own exit status is npm's).
    r.child.kill("SIGTERM");
    await eventually(() => r.lines.at(-1)?.event === "stopped", "the gate to stop");
  });
});

describe("enrollgate serve", () => {
  it("verifies the example policies' MachineInfo against Apple's built-in anchors when none are given", async () => {
    const port = await freePort();
    const r = run(
      process.execPath,
      [BIN, "serve", "--policies", "policies", "--host", "127.0.0.1", "--port", String(port), "--no-watch"],
      { env: { IOS27_BETA_TOKEN: "t" } },
    );
    await listening(r);
    expect(r.lines.find((l) => l.event === "policy-reload")?.trustAnchors).toEqual([
      "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple Root CA",
      "C=US, O=Apple Inc., OU=Apple Certification Authority, CN=Apple iPhone Certification Authority",
      "C=US, O=Apple Inc., OU=Apple iPhone, CN=Apple iPhone Device CA",
    ]);
    const device = await createIdentity(await createCA("Not Apple"), { kind: "ecdsa" });
    const res = await fetch(`http://127.0.0.1:${port}/mdm/enroll`, {
      headers: { "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: "26.5" }), device)) },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: "unverified-machine-info",
      message:
        'MachineInfo signature not verified: no chain from the signer to a trust anchor (stuck at issuer "O=enrollgate tests, CN=Not Apple")',
    });
    await eventually(
      () => r.lines.some((l) => l.event === "rejected" && l.failure === "chain-unanchored"),
      "the rejection log line",
    );
    r.child.kill("SIGTERM");
    expect(await r.exited).toBe(0);
  });

  it("--port wins over PORT; SIGHUP reloads; SIGTERM lets a request in flight finish, then exits 0", async () => {
    const slow = await startUpstream(() => "hang");
    const port = await freePort();
    const dir = await tempDir({ "p/rules.yaml": 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "17.0"\n' });
    const r = run(
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
        slow.url,
      ],
      { cwd: dir, env: { PORT: "1" } },
    );
    await listening(r);
    expect(r.url()).toBe(`http://127.0.0.1:${port}`);

    r.child.kill("SIGHUP");
    await eventually(
      () => r.lines.some((l) => l.event === "policy-reload" && l.reason === "SIGHUP"),
      "the SIGHUP reload",
    );

    const inFlight = fetch(`http://127.0.0.1:${port}/mdm/checkin`).then((res) => res.status);
    await eventually(() => slow.requests.length === 1, "the request to reach the upstream");
    r.child.kill("SIGTERM");
    await eventually(() => r.lines.some((l) => l.event === "shutdown"), "the shutdown to begin");
    await slow.close(); // the upstream lets go: the in-flight request must still get an answer
    expect(await inFlight).toBe(502);
    expect(await r.exited).toBe(0);
    expect(r.lines.at(-1)?.event).toBe("stopped");
  });

  it.each([
    [
      ["serve", "--policies", "broken"],
      /the policy set in broken does not compile: the policy set has errors\nbroken\/rules.yaml:\d+:\d+ yaml-syntax Flow sequence/,
    ],
    [
      ["serve", "--policies", "ok", "--trust-anchor", "weak.pem"],
      /trust anchor "CN=weak" has an RSA key of 512 bits; at least 1024 are accepted/,
    ],
    [["serve", "--policies", "ok", "--upstream", "ftp://mdm"], /--upstream must be an http:\/\/ or https:\/\/ URL/],
    [["serve", "--policies", "ok", "--port", "99999"], /--port must be an integer from 0 to 65535/],
    [["serve", "--policies", "ok", "--trust-anchor", "missing.pem"], /trust anchor missing.pem cannot be read: ENOENT/],
    [["serve", "--policies", "nowhere"], /policy directory nowhere does not exist/],
  ])("exits 2 for %j", async (args, message) => {
    const dir = await tempDir({
      "broken/rules.yaml": "rules: [",
      "ok/rules.yaml": 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "17.0"\n',
      "weak.pem": WEAK_ANCHOR,
    });
    const r = await enrollgate(
      [
        ...args,
        "--port",
        args.includes("--port") ? (args[args.indexOf("--port") + 1] as string) : "0",
        "--host",
        "127.0.0.1",
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
