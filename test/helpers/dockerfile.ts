// A Dockerfile performed without a container engine: each stage's filesystem
// is a directory, every absolute path an instruction names is taken inside
// it, and RUN steps run with the host's sh and node (Node 20, as the image's).
// Only the instructions the project's Dockerfile uses are known; any other
// is an error, so the file cannot grow a step this does not perform.
import { execFile } from "node:child_process";
import { cp, mkdir, stat } from "node:fs/promises";
import { dirname, join, posix } from "node:path";

export interface Instruction {
  readonly keyword: string;
  /** Flags before the arguments: `--from=build`, `--mount=...`, `--interval=15s`. */
  readonly flags: ReadonlyArray<string>;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | null;
  readonly instructions: ReadonlyArray<Instruction>;
}

/** The Dockerfile's stages, with ARG defaults substituted into FROM. */
export function parseDockerfile(text: string): Stage[] {
  const logical: Array<{ text: string; line: number }> = [];
  let pending: { text: string; line: number } | null = null;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === null && (line.trim() === "" || line.trimStart().startsWith("#"))) return;
    if (pending !== null && line.trimStart().startsWith("#")) return; // a comment inside a continued instruction
    const continued = line.endsWith("\\");
    const body = continued ? line.slice(0, -1) : line;
    pending =
      pending === null ? { text: body.trim(), line: i + 1 } : { ...pending, text: `${pending.text} ${body.trim()}` };
    if (!continued) {
      logical.push(pending);
      pending = null;
    }
  });
  const args = new Map<string, string>();
  const stages: Array<{ image: string; name: string | null; instructions: Instruction[] }> = [];
  for (const { text: t, line } of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(t);
    if (m === null) throw new Error(`Dockerfile:${line}: cannot read ${JSON.stringify(t)}`);
    const keyword = (m[1] ?? "").toUpperCase();
    let rest = m[2] ?? "";
    const flags: string[] = [];
    while (rest.startsWith("--")) {
      const end = rest.search(/\s/);
      flags.push(end === -1 ? rest : rest.slice(0, end));
      rest = end === -1 ? "" : rest.slice(end).trimStart();
    }
    if (keyword === "ARG" && stages.length === 0) {
      const [name, value] = rest.split("=", 2);
      args.set(name ?? "", value ?? "");
      continue;
    }
    if (keyword === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new Error(`Dockerfile:${line}: cannot read FROM ${rest}`);
      const image = (from[1] ?? "").replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? "");
      stages.push({ image, name: from[2] ?? null, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`Dockerfile:${line}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, flags, args: rest, line });
  }
  return stages;
}

/** HEALTHCHECK's command, in exec form. */
export function healthcheckCommand(instruction: Instruction): string[] {
  const m = /^CMD\s+(.*)$/.exec(instruction.args);
  if (m === null) throw new Error(`Dockerfile:${instruction.line}: HEALTHCHECK must run a CMD`);
  return execForm({ ...instruction, args: m[1] ?? "" });
}

/** The exec form's words (`["a", "b"]`); the shell form is refused: signals would go to sh, not the gate. */
export function execForm(instruction: Instruction): string[] {
  const words = JSON.parse(instruction.args) as unknown;
  if (!Array.isArray(words) || !words.every((w): w is string => typeof w === "string")) {
    throw new Error(`Dockerfile:${instruction.line}: ${instruction.keyword} must be in exec form`);
  }
  return words;
}

export interface Performed {
  /** Each stage's filesystem, by name (or index). */
  readonly roots: ReadonlyMap<string, string>;
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | null;
  /** The working directory, inside the last stage's root. */
  readonly workdir: string;
  readonly entrypoint: ReadonlyArray<string>;
  readonly cmd: ReadonlyArray<string>;
  readonly healthcheck: Instruction | null;
  readonly exposed: ReadonlyArray<string>;
  /** Absolute image paths in `words` moved into the last stage's root. */
  inImage(words: ReadonlyArray<string>): string[];
}

/** The directories of the node image that its users' steps rely on (node itself is in /usr/local/bin). */
const NODE_IMAGE_DIRS = ["usr/local/bin", "tmp", "root", "etc", "opt"];

/** Image paths in a shell command, moved under `root`: `/opt/x` becomes `<root>/opt/x`. */
function rootedCommand(command: string, root: string): string {
  return command.replace(/(^|[\s=:'"(])\/(?=[A-Za-z])/g, (_, before: string) => `${before}${root}/`);
}

function run(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("sh", ["-ec", command], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`RUN ${command}\nfailed: ${error.message}\n${stdout}\n${stderr}`));
    });
  });
}

/**
 * Performs every stage in `base` (one directory per stage), with `context`
 * (the files `COPY . .` and friends copy from) and `hostEnv` for RUN steps.
 * A `--mount=type=cache` is the host's own cache: npm's, warmed by npm ci.
 */
export async function performDockerfile(
  stages: ReadonlyArray<Stage>,
  context: string,
  base: string,
  hostEnv: Record<string, string>,
): Promise<Performed> {
  const roots = new Map<string, string>();
  let last: Omit<Performed, "roots" | "inImage"> | null = null;
  let lastRoot = "";
  for (const [index, stage] of stages.entries()) {
    const root = join(base, stage.name ?? `stage-${index}`);
    roots.set(stage.name ?? String(index), root);
    for (const dir of NODE_IMAGE_DIRS) await mkdir(join(root, dir), { recursive: true });
    let workdir = "/";
    const env: Record<string, string> = {};
    let user: string | null = null;
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    let healthcheck: Instruction | null = null;
    const exposed: string[] = [];
    const inRoot = (p: string) => join(root, posix.resolve(workdir, p));
    for (const ins of stage.instructions) {
      const where = `Dockerfile:${ins.line}`;
      switch (ins.keyword) {
        case "WORKDIR":
          workdir = posix.resolve(workdir, ins.args);
          await mkdir(join(root, workdir), { recursive: true });
          break;
        case "ENV": {
          const m = /^(\w+)=(\S*)$/.exec(ins.args);
          if (m === null) throw new Error(`${where}: ENV must be NAME=value`);
          env[m[1] ?? ""] = m[2] ?? "";
          break;
        }
        case "COPY": {
          const from = ins.flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
          if (ins.flags.some((f) => !f.startsWith("--from="))) throw new Error(`${where}: unknown COPY flag`);
          const words = ins.args.split(/\s+/);
          const dest = words.pop() ?? "";
          const sourceRoot = from === undefined ? context : roots.get(from);
          if (sourceRoot === undefined) throw new Error(`${where}: no stage ${from}`);
          for (const src of words) {
            const source = join(sourceRoot, from === undefined ? src : posix.resolve("/", src));
            // As Docker does: a directory's contents go into the destination; a file goes into it
            // when it ends with "/", else becomes it.
            const directory = (await stat(source)).isDirectory();
            const target = !directory && dest.endsWith("/") ? join(inRoot(dest), posix.basename(src)) : inRoot(dest);
            await mkdir(directory ? target : dirname(target), { recursive: true });
            await cp(source, target, { recursive: true });
          }
          break;
        }
        case "RUN": {
          for (const f of ins.flags) {
            if (!/^--mount=type=cache,target=\/root\/\.npm$/.test(f))
              throw new Error(`${where}: unknown RUN flag ${f}`);
          }
          await run(rootedCommand(ins.args, root), join(root, workdir), { ...hostEnv, ...env });
          break;
        }
        case "USER":
          user = ins.args;
          break;
        case "EXPOSE":
          exposed.push(...ins.args.split(/\s+/));
          break;
        case "HEALTHCHECK":
          healthcheck = ins;
          break;
        case "ENTRYPOINT":
          entrypoint = execForm(ins);
          break;
        case "CMD":
          cmd = execForm(ins);
          break;
        default:
          throw new Error(`${where}: ${ins.keyword} is not an instruction this test performs; teach it`);
      }
    }
    last = { env, user, workdir: join(root, workdir), entrypoint, cmd, healthcheck, exposed };
    lastRoot = root;
  }
  if (last === null) throw new Error("the Dockerfile has no stage");
  const root = lastRoot;
  return {
    ...last,
    roots,
    inImage: (words) => words.map((w) => (w.startsWith("/") ? join(root, w) : w)),
  };
}
