// A real nginx for the tests of deploy/nginx/: found on this machine, or
// installed from Debian's packages (nginx-light) when the tests run as root
// with apt-get, as on CI. Started as a foreground process with a prefix
// directory of its own: its configuration, pid file, logs and temporary files.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { afterAll } from "vitest";
import { projectPath } from "./project.js";
import { tempDir } from "./tmp.js";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findNginx(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"];
  return dirs.map((d) => join(d, "nginx")).find(executable) ?? null;
}

/** nginx's path, or why there is none: installed with apt-get if missing and this process may. */
export function findOrInstallNginx(): { path: string } | { path: null; why: string } {
  const found = findNginx();
  if (found !== null) return { path: found };
  if (process.getuid?.() !== 0) return { path: null, why: "nginx is not installed, and only root can install it" };
  const aptGet = ["/usr/bin/apt-get", "/bin/apt-get"].find(executable);
  if (aptGet === undefined) return { path: null, why: "nginx is not installed, and there is no apt-get to install it" };
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "--no-install-recommends", "nginx-light"],
  ]) {
    const r = spawnSync(aptGet, args, { env, encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0)
      return {
        path: null,
        why: `apt-get ${args.join(" ")} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`,
      };
  }
  return findNginx() === null
    ? { path: null, why: "apt-get installed nginx-light, but no nginx is on the PATH" }
    : { path: findNginx() as string };
}

/** Fills in a template's `${NAME}` placeholders; every one must be given, and every one given must be there. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const names = new Set([...template.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1] as string));
  const missing = [...names].filter((n) => !(n in values));
  const unused = Object.keys(values).filter((n) => !names.has(n));
  if (missing.length > 0 || unused.length > 0)
    throw new Error(
      `template placeholders: missing ${missing.join(", ") || "none"}; not in it ${unused.join(", ") || "none"}`,
    );
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => values[name] as string);
}

export interface RunningNginx {
  readonly prefix: string;
  readonly child: ChildProcess;
  errorLog(): Promise<string>;
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/**
 * Runs `nginx` with deploy/nginx/enrollgate.conf.template filled in with `values` (ENROLLGATE_ACCESS_LOG is set
 * here), inside a minimal main configuration: no daemon, one worker, everything under a fresh prefix directory.
 * Resolves once `nginx -t` passed and the process runs; the caller waits for the port.
 */
export async function startNginx(nginx: string, values: Record<string, string>): Promise<RunningNginx> {
  const prefix = await tempDir();
  // Workers run as an unprivileged user when nginx starts as root: they need to reach their temp directories.
  await chmod(prefix, 0o755);
  const template = await readFile(projectPath("deploy", "nginx", "enrollgate.conf.template"), "utf8");
  await writeFile(
    join(prefix, "enrollgate.conf"),
    fillTemplate(template, { ...values, ENROLLGATE_ACCESS_LOG: join(prefix, "access.log") }),
  );
  const main = [
    "daemon off;",
    "worker_processes 1;",
    `pid ${join(prefix, "nginx.pid")};`,
    `error_log ${join(prefix, "error.log")} error;`,
    "events { worker_connections 512; }",
    "http {",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${join(prefix, t)};`),
    `  include ${join(prefix, "enrollgate.conf")};`,
    "}",
    "",
  ].join("\n");
  await writeFile(join(prefix, "nginx.conf"), main);
  const args = ["-p", prefix, "-c", join(prefix, "nginx.conf"), "-e", join(prefix, "error.log")];
  const check = spawnSync(nginx, ["-t", ...args], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
  const child = spawn(nginx, args, { stdio: ["ignore", "ignore", "pipe"] });
  started.push(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  const read = (name: string) => readFile(join(prefix, name), "utf8").catch(() => "");
  return {
    prefix,
    child,
    errorLog: () => read("error.log").then((log) => log + stderr),
    accessLog: () => read("access.log"),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGQUIT");
      await exited;
    },
  };
}
