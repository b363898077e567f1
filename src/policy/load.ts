// Reading a policy directory from disk (the edge): *.yaml rule files,
// *.test.yaml test files and enrollgate.yaml settings, found recursively,
// sorted by path. Nothing is parsed here.
import { readdir, realpath, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { EnrollgateError } from "../errors.js";
import type { PolicyFile, PolicySetSource } from "./compile.js";
import { FILE_LIMITS, FileRefusedError, readRegularFile, readRegularFileSync } from "../safe-file.js";
import type { NamedFileKind, NamedFileRead } from "./semantic.js";
import { MAX_POLICY_FILE_BYTES } from "./source.js";
import type { FileKind } from "./policy-schema.js";

/** The policy directory is missing, not a directory, or cannot be listed. */
export class PolicyLoadError extends EnrollgateError<"policy-dir-unreadable"> {
  override readonly name = "PolicyLoadError";

  constructor(message: string) {
    super("policy-dir-unreadable", message);
  }
}

const YAML = /\.ya?ml$/;
const TEST = /\.test\.ya?ml$/;
const SETTINGS = /^enrollgate\.ya?ml$/;

/** What a file in a policy directory holds, by its path inside it: settings, tests or rules. */
export function policyFileKind(rel: string): FileKind {
  if (!rel.includes("/") && SETTINGS.test(rel)) return "settings";
  return TEST.test(rel) ? "tests" : "rules";
}

async function walk(dir: string, root: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full, root, out);
    // Anything else named *.yaml is listed, so that a FIFO, a socket or a
    // device there is reported (by the reader) rather than silently skipped.
    else if (YAML.test(e.name)) out.push(relative(root, full).split(sep).join("/"));
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function describe(e: FileRefusedError): string {
  switch (e.problem) {
    case "not-regular":
      return `the file is ${e.message}`;
    case "too-large":
      return e.message.replace(/ it may have$/, " a policy file may have");
    case "missing":
    case "unreadable":
      return `cannot read the file: ${e.errno ?? e.message}`;
    case "outside":
      return e.message;
  }
}

/**
 * Reads every policy file under `dir` (rule files, `*.test.yaml`,
 * enrollgate.yaml), the way the gate does: regular files only, inside the
 * directory, size-capped; a file it cannot read becomes a finding when
 * compiled. Paths shown in findings are relative to `cwd`. Throws a
 * PolicyLoadError (`policy-dir-unreadable`) when the directory itself cannot
 * be read.
 *
 * @example
 * import { compile, loadPolicySet, policyFileReader } from "enrollgate";
 *
 * const source = await loadPolicySet("policies");
 * const result = compile(source, { env: process.env, readFile: policyFileReader(source.dir, ["/run/secrets"]) });
 */
export async function loadPolicySet(dir: string, options: { cwd?: string } = {}): Promise<PolicySetSource> {
  const cwd = options.cwd ?? process.cwd();
  const named = resolve(cwd, dir);
  // Where the path leads now, resolved once: a link swapped while the set is
  // read (git-sync's `current`) must not give some files from the old
  // checkout and some from the new (a rule moved between files could vanish).
  let root: string;
  let rootInfo;
  try {
    root = await realpath(named);
    rootInfo = await stat(root);
  } catch {
    throw new PolicyLoadError(`policy directory ${dir} does not exist`);
  }
  if (!rootInfo.isDirectory()) throw new PolicyLoadError(`${dir} is not a directory`);
  const names: string[] = [];
  try {
    await walk(root, root, names);
  } catch (e) {
    throw new PolicyLoadError(
      `cannot read policy directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  names.sort();
  const files: PolicyFile[] = [];
  const unreadable: Array<{ path: string; error: string; code?: "file-outside-policy-dir" }> = [];
  for (const rel of names) {
    const full = join(root, rel);
    // Shown by the path the operator gave, not the checkout it led to.
    const shown = join(named, rel);
    const path = relative(cwd, shown).split(sep).join("/") || basename(shown);
    let bytes: Buffer;
    try {
      // Symlinks are followed while they stay inside the policy directory.
      bytes = await readRegularFile(full, { maxBytes: MAX_POLICY_FILE_BYTES, within: [root] });
    } catch (e) {
      if (!(e instanceof FileRefusedError)) throw e;
      if (e.problem === "outside") {
        const to = e.resolved !== null ? `a symlink to ${e.resolved}` : "a link";
        unreadable.push({
          path,
          code: "file-outside-policy-dir",
          error: `the file is ${to}, outside the policy directory; policy files are read only inside it`,
        });
      } else {
        unreadable.push({ path, error: describe(e) });
      }
      continue;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      unreadable.push({ path, error: "the file is not valid UTF-8" });
      continue;
    }
    files.push({ path, relative: rel, kind: policyFileKind(rel), text: text.replace(/^\uFEFF/, "") });
  }
  // Files the set names are read from the same checkout.
  return { dir: root, files, unreadable, label: relative(cwd, named).split(sep).join("/") || "." };
}

/**
 * A reader for the files a policy names (beta token files, trust anchors):
 * confined to the policy directory and the operator's secrets directories,
 * regular files only, size-capped. Synchronous: it runs inside compile(),
 * which the server runs in its compile worker and the CLI in its one-shot
 * process.
 */
export function policyFileReader(
  dir: string,
  secretsDirs: ReadonlyArray<string> = [],
): (absolutePath: string, kind: NamedFileKind) => NamedFileRead {
  const within = [dir, ...secretsDirs];
  return (absolutePath, kind) => {
    try {
      const bytes = readRegularFileSync(absolutePath, { maxBytes: FILE_LIMITS[kind], within });
      return { ok: true, text: bytes.toString("utf8") };
    } catch (e) {
      if (!(e instanceof FileRefusedError)) throw e;
      if (e.problem === "outside") {
        const via = e.resolved !== null && e.resolved !== absolutePath ? ` (it resolves to ${e.resolved})` : "";
        return {
          ok: false,
          refused: true,
          problem: `it is outside the policy directory${secretsDirs.length > 0 ? " and the secrets directories" : ""}${via}; a file a policy names must be inside the policy directory or a directory given with --secrets-dir (secretsDirs)`,
        };
      }
      if (e.problem === "not-regular") return { ok: false, refused: true, problem: `it is ${e.message}` };
      if (e.problem === "too-large") return { ok: false, refused: true, problem: e.message };
      return { ok: false, refused: false, problem: e.problem === "missing" ? "it does not exist" : e.message };
    }
  };
}
