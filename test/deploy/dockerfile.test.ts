// The Dockerfile, performed: no container engine runs here, so its
// instructions run in a temporary directory (test/helpers/dockerfile.ts maps
// the image's paths into it): the build stage installs, builds and packs
// from a build context made as Docker makes it (the repository's files less
// .dockerignore's), the runtime stage installs the tarball with the lockfile,
// and the result starts as the image's ENTRYPOINT and CMD say, with the
// example policies where the image expects a mounted directory. Its
// HEALTHCHECK runs against it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthcheckCommand, parseDockerfile, performDockerfile, type Performed } from "../helpers/dockerfile.js";
import { exec, lockfileRegistry, npmEnv } from "../helpers/npm.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { projectPath, readProject } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";

const DOCKERFILE = readProject("Dockerfile");
const MANIFEST = JSON.parse(readProject("package.json")) as { version: string };

/** .dockerignore's patterns (paths and `*` globs, from the context's root). */
function ignored(path: string): boolean {
  const patterns = readProject(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/|$)`);
    return re.test(path);
  });
}

/** The build context Docker would send: the repository's files (git's view, untracked too) less .dockerignore's. */
async function buildContext(): Promise<string> {
  const dir = await tempDir();
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: projectPath(),
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f !== "" && !ignored(f) && existsSync(projectPath(f)));
  for (const f of files) {
    await mkdir(dirname(join(dir, f)), { recursive: true });
    await cp(projectPath(f), join(dir, f));
  }
  return dir;
}

/** Every file under a directory with its size and modification time, to see that nothing wrote there. */
function snapshot(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => {
      const s = statSync(join(dir, f), { throwIfNoEntry: false });
      return `${f} ${s?.size ?? "-"} ${s?.mtimeMs ?? "-"}`;
    })
    .sort();
}

const stages = parseDockerfile(DOCKERFILE);
let image: Performed;
let env: Record<string, string>;

beforeAll(async () => {
  const registry = await lockfileRegistry();
  env = npmEnv(registry);
  image = await performDockerfile(stages, await buildContext(), await tempDir(), env);
}, 240_000);

describe("the Dockerfile", () => {
  it("builds in one stage and runs from node:20-slim in the next, as a user that is not root", () => {
    expect(stages.map((s) => s.image)).toEqual(["node:20-slim", "node:20-slim"]);
    expect(stages[0]?.name).toBe("build");
    expect(image.user).toBe("node");
    expect(image.env.NODE_ENV).toBe("production");
    expect(image.exposed).toEqual(["8080", "9090"]);
    expect(readProject(".dockerignore").split("\n")).toEqual(expect.arrayContaining(["node_modules", "dist", ".git"]));
  });

  it("installs the packed tarball with the production dependencies only", () => {
    const app = join(image.roots.get("1") ?? "", "opt", "enrollgate");
    expect(existsSync(join(app, "dist", "cli", "main.js"))).toBe(true);
    expect(existsSync(join(app, "LICENSE"))).toBe(true);
    expect(existsSync(join(app, "node_modules", "pino"))).toBe(true);
    for (const dev of ["typescript", "vitest", "@azure/identity", "express", "kubernetes-models"]) {
      expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    }
    expect(existsSync(join(app, "src"))).toBe(false);
    expect(existsSync(join(image.roots.get("1") ?? "", "tmp", "pkg"))).toBe(false);
  });
});

describe("the image, started", () => {
  const ports = { main: 0, admin: 0 };
  let gate: Running;
  let before: string[];
  let root: string;

  /** The image's command with the ports this test chose, and its paths inside the image's directory. */
  const mapped = (words: ReadonlyArray<string>) =>
    image
      .inImage(words)
      .map((w) => w.replace(/\b8080\b/g, String(ports.main)).replace(/\b9090\b/g, String(ports.admin)));

  beforeAll(async () => {
    ports.main = await freePort();
    ports.admin = await freePort();
    root = image.roots.get("1") ?? "";
    // `docker run -v ./policies:/etc/enrollgate/policies:ro -e IOS27_BETA_TOKEN=...`
    await cp(projectPath("policies"), join(root, "etc", "enrollgate", "policies"), { recursive: true });
    before = snapshot(root);
    const [command = "", ...args] = mapped([...image.entrypoint, ...image.cmd]);
    gate = run(command, args, {
      cwd: image.workdir,
      env: {
        ...image.env,
        PATH: `${join(root, "usr", "local", "bin")}:${process.env.PATH ?? ""}`,
        IOS27_BETA_TOKEN: "t",
      },
    });
    await listening(gate);
  }, 60_000);

  afterAll(async () => {
    if (gate.child.exitCode === null) gate.child.kill("SIGTERM");
    await gate.exited;
  });

  it("is `enrollgate serve` on the mounted policies, answering /healthz and /readyz", async () => {
    expect(image.entrypoint).toEqual(["enrollgate", "serve"]);
    expect(gate.url(), gate.stderr()).toBe(`http://0.0.0.0:${ports.main}`);
    const health = await fetch(`http://127.0.0.1:${ports.admin}/healthz`);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`http://127.0.0.1:${ports.admin}/readyz`);
    expect(await ready.json()).toMatchObject({ status: "ready", rules: 8 });
  });

  it("runs `enrollgate --version` from its PATH", async () => {
    const r = await exec("enrollgate", ["--version"], {
      cwd: image.workdir,
      env: { ...env, PATH: `${join(root, "usr", "local", "bin")}:${process.env.PATH ?? ""}` },
    });
    expect(r).toMatchObject({ code: 0, stdout: `${MANIFEST.version}\n` });
  });

  it("passes its HEALTHCHECK while it runs, fails it once stopped, and wrote nothing to its filesystem", async () => {
    const check = healthcheckCommand(image.healthcheck ?? stages[1]!.instructions[0]!);
    expect(check.slice(0, 2)).toEqual(["node", "-e"]);
    // The image probes the admin port; until the admin listener exists, the same endpoint on the main port.
    const probe = check.map((w) => w.replace(/\b9090\b/g, String(ports.admin)));
    const [node = "", ...args] = probe;
    expect(await exec(node, args, { cwd: image.workdir, env })).toMatchObject({ code: 0 });
    gate.child.kill("SIGTERM");
    expect(await gate.exited).toBe(0);
    expect(await exec(node, args, { cwd: image.workdir, env })).toMatchObject({ code: 1 });
    expect(snapshot(root)).toEqual(before);
  });
});
