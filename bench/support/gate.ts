// The gate under test: the real `enrollgate serve` from dist/, on the example
// policies, verifying MachineInfo against a throwaway CA.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCA, createIdentity, machineInfoPlist, signCms, base64, type Identity } from "../../support/signing.js";
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
}

export async function gateFixture(): Promise<GateFixture> {
  const dir = await mkdtemp(join(tmpdir(), "enrollgate-bench-"));
  const ca = await createCA();
  const device = await createIdentity(ca, { kind: "ecdsa" });
  await writeFile(join(dir, "ca.pem"), ca.pem);
  return {
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
    async start(extra = []) {
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
          ...extra,
        ],
        port,
        { env: { IOS27_BETA_TOKEN: "bench-token" }, readyPath: "/readyz" },
      );
    },
  };
}
