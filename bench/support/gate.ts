// The gate under test: the real `enrollgate serve` from dist/, on the example
// policies, verifying MachineInfo against a throwaway CA.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  base64,
  createCA,
  createIdentity,
  machineInfoPlist,
  privateKeyPem,
  signCms,
  type Identity,
} from "../../support/signing.js";
import { freePort, startNode, type Child } from "./processes.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BIN = join(ROOT, "dist", "cli", "main.js");

export interface GateFixture {
  readonly ca: Identity;
  readonly device: Identity;
  readonly dir: string;
  /** A signed header for a device on `os` (the example policies block below 26.6.1). */
  header(os: string, serial?: string): Promise<Record<string, string>>;
  /** The same from a device of its own (a new certificate, issued by the CA). */
  headerFromNewDevice(os: string, serial: string): Promise<Record<string, string>>;
  start(extra?: string[]): Promise<Child>;
  /** The same gate serving HTTPS (--tls-cert, --tls-key) with a certificate for 127.0.0.1 from a throwaway CA. */
  startTls(extra?: string[]): Promise<Child>;
  /** That HTTPS certificate's files and the CA that issued it. */
  readonly tls: { readonly cert: string; readonly key: string; readonly ca: string };
}

export async function gateFixture(): Promise<GateFixture> {
  const dir = await mkdtemp(join(tmpdir(), "enrollgate-bench-"));
  const ca = await createCA();
  const device = await createIdentity(ca, { kind: "ecdsa" });
  await writeFile(join(dir, "ca.pem"), ca.pem);
  const now = Date.now();
  const valid = { from: new Date(now - 86_400_000), to: new Date(now + 86_400_000) };
  const tlsRoot = await createCA("Bench TLS CA", "ecdsa", { valid });
  const leaf = await createIdentity(tlsRoot, {
    kind: "ecdsa",
    commonName: "127.0.0.1",
    altNames: ["127.0.0.1"],
    valid,
  });
  const tls = { cert: join(dir, "tls.crt"), key: join(dir, "tls.key"), ca: tlsRoot.pem };
  await writeFile(tls.cert, leaf.pem);
  await writeFile(tls.key, await privateKeyPem(leaf));
  const serve = async (extra: string[], https: boolean) => {
    const port = await freePort();
    return startNode(
      [
        BIN,
        "serve",
        "--policies",
        join(ROOT, "policies"),
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--verify",
        "enforce",
        "--trust-anchor",
        join(dir, "ca.pem"),
        "--format",
        "json",
        "--no-watch",
        ...(https ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
        ...extra,
      ],
      port,
      {
        env: { IOS27_BETA_TOKEN: "bench-token" },
        readyPath: "/readyz",
        ...(https ? { tls: { ca: tls.ca } } : {}),
      },
    );
  };
  return {
    tls,
    ca,
    device,
    dir,
    async header(os, serial) {
      const der = await signCms(
        machineInfoPlist({ OS_VERSION: os, ...(serial !== undefined ? { SERIAL: serial } : {}) }),
        device,
      );
      return { "x-apple-aspen-deviceinfo": base64(der) };
    },
    async headerFromNewDevice(os, serial) {
      const own = await createIdentity(ca, { kind: "ecdsa" });
      return {
        "x-apple-aspen-deviceinfo": base64(await signCms(machineInfoPlist({ OS_VERSION: os, SERIAL: serial }), own)),
      };
    },
    start: (extra = []) => serve(extra, false),
    startTls: (extra = []) => serve(extra, true),
  };
}
