// Servers under test run in their own processes, as in production; the load
// generator runs in this one.
import { spawn, type ChildProcess } from "node:child_process";
import { get } from "node:https";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const { port } = s.address() as { port: number };
  await new Promise((ok) => s.close(ok));
  return port;
}

export interface Child {
  readonly url: string;
  stop(): Promise<void>;
}

/** The status of GET `url` over HTTPS, trusting `ca`. */
function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
}

/** Starts `node args...` and waits until GET `readyPath` answers (over HTTPS with `tls`). */
export async function startNode(
  args: string[],
  port: number,
  options: { env?: Record<string, string>; readyPath?: string; cwd?: string; tls?: { ca: string } } = {},
): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const url = `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited: ${stderr}`);
    try {
      const target = `${url}${options.readyPath ?? "/"}`;
      let status: number;
      if (options.tls !== undefined) status = await httpsStatus(target, options.tls.ca);
      else {
        const res = await fetch(target);
        await res.arrayBuffer();
        status = res.status;
      }
      if (status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${args.join(" ")} did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once("exit", () => ok());
        child.kill("SIGTERM");
      }),
  };
}
