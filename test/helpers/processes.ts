// The gate as a real process: `enrollgate serve` (or `npm start`) spawned with
// its JSON log lines collected, and killed after each test file.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { afterAll } from "vitest";
import { eventually } from "./http.js";
import { projectPath } from "./project.js";

export interface Running {
  readonly child: ChildProcess;
  /** Every JSON line the process wrote to stdout. */
  readonly lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** The URL from the `listening` log line, or "" before it. */
  url(): string;
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** Spawns a command with a minimal environment (PATH and HOME plus `env`). */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Running {
  const child = spawn(command, args, {
    cwd: options.cwd ?? projectPath(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  let err = "";
  let buffer = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
  return {
    child,
    lines,
    stderr: () => err,
    url: () => String(lines.find((l) => l.event === "listening")?.url ?? ""),
    exited,
  };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

export const listening = (r: Running): Promise<void> =>
  eventually(() => r.url() !== "" || r.child.exitCode !== null, "the server to listen", 15_000);
