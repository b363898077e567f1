// `enrollgate serve` as a real process in a temp directory, for attacks over
// raw sockets: the policy files and flags are the test's, never the example set's.
import { BIN } from "./cli.js";
import { freePort, listening, run, type Running } from "./processes.js";
import { tempDir } from "./tmp.js";

export interface GateProcess {
  readonly url: string;
  readonly dir: string;
  readonly running: Running;
  stop(): Promise<void>;
}

/**
 * Starts `serve --policies p` on 127.0.0.1 with `args` (and `env`), in a directory holding `files` (the policies under
 * p/).
 */
export async function spawnGate(
  files: Record<string, string | Uint8Array>,
  args: string[],
  env: Record<string, string> = {},
): Promise<GateProcess> {
  const dir = await tempDir(files);
  const port = await freePort();
  const running = run(
    process.execPath,
    [BIN, "serve", "--policies", "p", "--host", "127.0.0.1", "--port", String(port), "--no-watch", ...args],
    { cwd: dir, env },
  );
  await listening(running);
  if (running.url() === "") throw new Error(`the gate did not start: ${running.stderr()}`);
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    running,
    async stop() {
      if (running.child.exitCode === null) running.child.kill("SIGTERM");
      await running.exited;
    },
  };
}
