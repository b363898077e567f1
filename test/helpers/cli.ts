// Runs the real `enrollgate` bin (dist/cli/main.js, built by `npm test`'s pretest).
import { spawn } from "node:child_process";
import { projectPath } from "./project.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const BIN = projectPath("dist", "cli", "main.js");

export function enrollgate(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? projectPath(),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}
