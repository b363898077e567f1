// A policy set read from git (`--base origin/main:policies`), without
// touching the working tree: `git ls-tree` lists the set's tree at the
// commit, `git cat-file --batch` reads its files into memory. Files the set
// names (token files, trust anchors, feed snapshots in enrollgate.yaml) are
// read from the same tree and confined to it, as the gate confines them to
// the policy directory; outside it, only the operator's --secrets-dir
// directories are read, from disk. git is run without a shell, and a ref is
// resolved to a commit id (`--end-of-options`) before any other command sees it.
import { execFile, execFileSync } from "node:child_process";
import { isAbsolute, posix, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { EnrollgateError } from "../errors.js";
import type { PolicyFile, PolicySetSource } from "../policy/compile.js";
import { displayPath } from "../policy/compile.js";
import { policyFileKind, policyFileReader } from "../policy/load.js";
import type { NamedFileKind, NamedFileRead } from "../policy/semantic.js";
import { MAX_POLICY_FILE_BYTES } from "../policy/source.js";
import { FILE_LIMITS } from "../safe-file.js";

const run = promisify(execFile);

/** The base policy set could not be read from git: no repository, no such commit, no such directory. */
export class GitSourceError extends EnrollgateError<"git-source-unreadable"> {
  override readonly name = "GitSourceError";

  constructor(message: string) {
    super("git-source-unreadable", message);
  }
}

/** `REF:DIR` as the user wrote it. */
export interface GitSpec {
  readonly ref: string;
  readonly dir: string;
}

/**
 * Whether a --base value names a set in git: `REF:DIR` with a non-empty ref.
 * A value that starts like a path (`/`, `./`, `../`) is a directory even with
 * a colon in it; git refs cannot hold a colon, so the first one splits.
 */
export function parseGitSpec(value: string): GitSpec | null {
  if (/^(?:\/|\.\.?\/)/.test(value)) return null;
  const colon = value.indexOf(":");
  if (colon <= 0) return null;
  return { ref: value.slice(0, colon), dir: value.slice(colon + 1) === "" ? "." : value.slice(colon + 1) };
}

/** Refs as people write them (branches, tags, `HEAD~2`, `main@{1}`, commit ids); never an option. */
const REF = /^[A-Za-z0-9_][A-Za-z0-9_./@{}^~+-]{0,254}$/;

interface Entry {
  readonly mode: string;
  readonly type: string;
  readonly oid: string;
  readonly size: number;
}

export interface GitPolicySource {
  readonly source: PolicySetSource;
  /** Reads a file the set names, confined to the set's tree (and the secrets directories, from disk). */
  readonly readNamed: (absolutePath: string, kind: NamedFileKind) => NamedFileRead;
  /** Reads a feed snapshot enrollgate.yaml names, from the tree; null when the path is not inside it. */
  readonly readSnapshot: (absolutePath: string) => Promise<string | null>;
}

async function git(args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run("git", [...args], { cwd, env, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" });
  return stdout;
}

function gitFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { stderr?: string };
  if (err.code === "ENOENT") return "git is not installed (or not on PATH)";
  const stderr = (err.stderr ?? "").trim().split("\n")[0] ?? "";
  return stderr !== "" ? stderr : err.message;
}

/** Parses `git ls-tree -r -z -l` output. */
function parseTree(out: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const record of out.split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const [mode = "", type = "", oid = "", size = ""] = record.slice(0, tab).split(/ +/);
    entries.set(record.slice(tab + 1), { mode, type, oid, size: size === "-" ? 0 : Number(size) });
  }
  return entries;
}

/** Splits `git cat-file --batch` output into the contents of each object, in order. */
function parseBatch(out: Buffer, count: number): Buffer[] {
  const contents: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const eol = out.indexOf(10, at);
    const header = out.subarray(at, eol).toString("utf8");
    const size = Number(header.split(" ")[2]);
    if (!Number.isFinite(size)) throw new GitSourceError(`git cat-file answered ${JSON.stringify(header)}`);
    contents.push(out.subarray(eol + 1, eol + 1 + size));
    at = eol + 1 + size + 1;
  }
  return contents;
}

const SYMLINK = "120000";
const MAX_LINKS = 8;

/** Follows symlinks inside the tree: the entry a path leads to, or why it leads nowhere readable. */
function follow(
  tree: Map<string, Entry>,
  path: string,
  readLink: (oid: string) => string,
): { ok: true; path: string; entry: Entry } | { ok: false; outside: boolean; problem: string } {
  let at = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const entry = tree.get(at);
    if (entry === undefined) return { ok: false, outside: false, problem: "it does not exist" };
    if (entry.mode !== SYMLINK) {
      if (entry.type !== "blob") return { ok: false, outside: false, problem: `it is a ${entry.type}, not a file` };
      return { ok: true, path: at, entry };
    }
    const target = readLink(entry.oid);
    const next = posix.normalize(posix.join(posix.dirname(at), target));
    if (target.startsWith("/") || next === ".." || next.startsWith("../"))
      return { ok: false, outside: true, problem: `it is a symlink to ${target}, outside the policy directory` };
    at = next;
  }
  return { ok: false, outside: false, problem: "it is a chain of more than 8 symlinks" };
}

function skipped(path: string): boolean {
  return path.split("/").some((segment) => segment.startsWith(".") || segment === "node_modules");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads the policy set at `spec.dir` (relative to `cwd`) in commit `spec.ref`
 * of the repository `cwd` is in. Throws a GitSourceError when git, the
 * repository, the commit or the directory is missing.
 */
export async function loadPolicySetFromGit(
  spec: GitSpec,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly secretsDirs: ReadonlyArray<string> },
): Promise<GitPolicySource> {
  const { cwd, env } = options;
  const named = `${spec.ref}:${spec.dir}`;
  if (!REF.test(spec.ref) || spec.ref.includes(".."))
    throw new GitSourceError(
      `--base ${JSON.stringify(named)}: ${JSON.stringify(spec.ref)} is not a git ref (a branch, tag or commit, such as origin/main)`,
    );
  let top: string;
  try {
    top = (await git(["rev-parse", "--show-toplevel"], cwd, env)).trim();
  } catch (e) {
    throw new GitSourceError(`--base ${named}: ${gitFailure(e)}`);
  }
  const inRepo = relative(top, resolve(cwd, spec.dir));
  if (inRepo === ".." || inRepo.startsWith(`..${sep}`) || isAbsolute(inRepo))
    throw new GitSourceError(`--base ${named}: ${spec.dir} is outside the repository at ${top}`);
  const repoPath = inRepo.split(sep).join("/");
  let commit: string;
  try {
    commit = (
      await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${spec.ref}^{commit}`], cwd, env)
    ).trim();
  } catch {
    throw new GitSourceError(
      `--base ${named}: there is no commit ${spec.ref} in this repository (in CI, fetch it first: actions/checkout with fetch-depth: 0)`,
    );
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit))
    throw new GitSourceError(`--base ${named}: git resolved ${spec.ref} to ${commit}`);
  const treeish = `${commit}:${repoPath}`;
  let type: string;
  try {
    type = (await git(["cat-file", "-t", treeish], cwd, env)).trim();
  } catch {
    throw new GitSourceError(`--base ${named}: ${spec.ref} has no directory ${repoPath === "" ? "." : repoPath}`);
  }
  if (type !== "tree")
    throw new GitSourceError(`--base ${named}: ${repoPath} in ${spec.ref} is a ${type}, not a directory`);
  const tree = parseTree(await git(["ls-tree", "-r", "-z", "-l", "--full-tree", treeish], cwd, env));
  const readBlob = (oid: string): Buffer =>
    execFileSync("git", ["cat-file", "blob", oid], {
      cwd,
      env,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "ignore"],
    });
  const readLink = (oid: string) => readBlob(oid).toString("utf8");

  const label = `${spec.ref}:${relative(cwd, resolve(cwd, spec.dir)).split(sep).join("/") || "."}`;
  const dirDisplay = relative(cwd, resolve(cwd, spec.dir)).split(sep).join("/");
  const show = (rel: string) => `${spec.ref}:${displayPath(dirDisplay, rel)}`;
  const wanted: Array<{ rel: string; entry: Entry }> = [];
  const unreadable: Array<{ path: string; error: string; code?: "file-outside-policy-dir" }> = [];
  for (const rel of [...tree.keys()].sort()) {
    if (skipped(rel) || !/\.ya?ml$/.test(rel)) continue;
    const found = follow(tree, rel, readLink);
    if (!found.ok) {
      unreadable.push({
        path: show(rel),
        error: `the file cannot be read: ${found.problem}`,
        ...(found.outside ? { code: "file-outside-policy-dir" as const } : {}),
      });
      continue;
    }
    if (found.entry.size > MAX_POLICY_FILE_BYTES) {
      unreadable.push({
        path: show(rel),
        error: `the file is larger than ${MAX_POLICY_FILE_BYTES / 1024 / 1024} MiB a policy file may have`,
      });
      continue;
    }
    wanted.push({ rel, entry: found.entry });
  }
  const files: PolicyFile[] = [];
  if (wanted.length > 0) {
    const batch = await new Promise<Buffer>((done, fail) => {
      const child = execFile(
        "git",
        ["cat-file", "--batch"],
        { cwd, env, maxBuffer: 512 * 1024 * 1024, encoding: "buffer" },
        (e, stdout) => (e ? fail(new GitSourceError(`--base ${named}: ${gitFailure(e)}`)) : done(stdout)),
      );
      child.stdin?.end(wanted.map((w) => `${w.entry.oid}\n`).join(""));
    });
    parseBatch(batch, wanted.length).forEach((bytes, i) => {
      const { rel } = wanted[i] as { rel: string };
      try {
        files.push({
          path: show(rel),
          relative: rel,
          kind: policyFileKind(rel),
          text: utf8.decode(bytes).replace(/^\uFEFF/, ""),
        });
      } catch {
        unreadable.push({ path: show(rel), error: "the file is not valid UTF-8" });
      }
    });
  }

  // Named files resolve against where the set would be checked out; inside it, they come from the tree.
  const dir = resolve(cwd, spec.dir);
  const fromDisk = policyFileReader(dir, options.secretsDirs);
  const inTree = (absolutePath: string): string | null => {
    const rel = relative(dir, absolutePath);
    if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
    return rel.split(sep).join("/");
  };
  const readNamed = (absolutePath: string, kind: NamedFileKind): NamedFileRead => {
    const rel = inTree(absolutePath);
    if (rel === null) return fromDisk(absolutePath, kind);
    const found = follow(tree, rel, readLink);
    if (!found.ok) return { ok: false, refused: found.outside, problem: `${found.problem} in ${spec.ref}` };
    if (found.entry.size > FILE_LIMITS[kind])
      return { ok: false, refused: true, problem: `it is larger than the ${FILE_LIMITS[kind]} bytes it may have` };
    return { ok: true, text: readBlob(found.entry.oid).toString("utf8") };
  };
  const readSnapshot = async (absolutePath: string): Promise<string | null> => {
    const rel = inTree(absolutePath);
    if (rel === null) return null;
    const found = follow(tree, rel, readLink);
    if (!found.ok) throw new GitSourceError(`the snapshot ${show(rel)} cannot be read: ${found.problem}`);
    if (found.entry.size > FILE_LIMITS.feed)
      throw new GitSourceError(
        `the snapshot ${show(rel)} is larger than the ${FILE_LIMITS.feed} bytes a snapshot may have`,
      );
    return readBlob(found.entry.oid).toString("utf8");
  };
  return { source: { dir, files, unreadable, label }, readNamed, readSnapshot };
}
