// Reading a policy directory from disk (the edge): *.yaml rule files,
// *.test.yaml test files and enrollgate.yaml settings, found recursively,
// sorted by path. Nothing is parsed here.
import { readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import type { PolicyFile, PolicySetSource } from "./compile.js";
import { MAX_POLICY_FILE_BYTES } from "./source.js";
import type { FileKind } from "./policy-schema.js";

export class PolicyLoadError extends Error {
  override readonly name = "PolicyLoadError";
}

const YAML = /\.ya?ml$/;
const TEST = /\.test\.ya?ml$/;
const SETTINGS = /^enrollgate\.ya?ml$/;

function kindOf(rel: string): FileKind {
  if (!rel.includes("/") && SETTINGS.test(rel)) return "settings";
  return TEST.test(rel) ? "tests" : "rules";
}

async function walk(dir: string, root: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full, root, out);
    else if ((e.isFile() || e.isSymbolicLink()) && YAML.test(e.name)) out.push(relative(root, full).split(sep).join("/"));
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads every policy file under `dir`. Paths shown in findings are relative to `cwd`. */
export async function loadPolicySet(dir: string, options: { cwd?: string } = {}): Promise<PolicySetSource> {
  const cwd = options.cwd ?? process.cwd();
  const root = resolve(cwd, dir);
  let rootInfo;
  try {
    rootInfo = await stat(root);
  } catch {
    throw new PolicyLoadError(`policy directory ${dir} does not exist`);
  }
  if (!rootInfo.isDirectory()) throw new PolicyLoadError(`${dir} is not a directory`);
  const names: string[] = [];
  try {
    await walk(root, root, names);
  } catch (e) {
    throw new PolicyLoadError(`cannot read policy directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  names.sort();
  const files: PolicyFile[] = [];
  const unreadable: Array<{ path: string; error: string }> = [];
  for (const rel of names) {
    const full = join(root, rel);
    const path = relative(cwd, full).split(sep).join("/") || basename(full);
    try {
      const info = await stat(full);
      // A symlink to a FIFO or a device would block the read forever.
      if (!info.isFile()) {
        unreadable.push({ path, error: "not a regular file" });
        continue;
      }
      const size = info.size;
      if (size > MAX_POLICY_FILE_BYTES) {
        unreadable.push({ path, error: `the file is ${size} bytes, more than the ${MAX_POLICY_FILE_BYTES / 1024 / 1024} MiB a policy file may have` });
        continue;
      }
      let text: string;
      try {
        text = utf8.decode(await readFile(full));
      } catch (e) {
        if (e instanceof TypeError) {
          unreadable.push({ path, error: "the file is not valid UTF-8" });
          continue;
        }
        throw e;
      }
      files.push({ path, relative: rel, kind: kindOf(rel), text: text.replace(/^\uFEFF/, "") });
    } catch (e) {
      unreadable.push({ path, error: `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
  }
  return { dir: root, files, unreadable, label: relative(cwd, root).split(sep).join("/") || "." };
}

/** Reads a beta token file for compile(); null when it cannot be read. */
export function readTokenFile(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
