// The shell examples of the docs, read and run. A ```console block is a
// terminal session: a line `$ COMMAND` (continued on the next line after a
// trailing `\`, and with the lines of a here-document `<<'EOF'` up to its
// end marker) is run, and the lines after it, up to the next `$` line or the
// end of the block, are exactly what it prints: stdout, then stderr. Exit
// codes are shown as a shell shows them, with `$ echo $?`.
//
// Every block runs in a fresh copy of the repository (dist/ and node_modules/
// linked in), so paths relative to the repository root work as in a clone,
// and a block that writes files changes no checkout. `../shared` (Apple's
// files and feed snapshots beside the checkout) is linked beside the copy, so
// a page may name `../shared/feeds/...` as the tests do. `enrollgate ...`, with
// `VAR=value` prefixes, runs the package's `enrollgate` bin directly, with
// only PATH, HOME and those variables in its environment; any other command
// (or one that needs a shell: pipes, redirections, `$`, globs) runs in `sh`,
// with `enrollgate` on its PATH. A command ending in ` &` starts a server in
// the background: it gets a free port in $PORT, the block's later commands
// reach it where they say `:8080`, and it is stopped when the block ends.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { projectPath } from "./project.js";

export interface FencedBlock {
  /** The info string's first word: console, sh, yaml, ... ("" for none). */
  readonly lang: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lines: ReadonlyArray<string>;
}

export interface Step {
  /** 1-based line of the `$` line in the page. */
  readonly line: number;
  /** The command as a shell reads it (continuations joined, here-documents included). */
  readonly command: string;
  /** What it prints, exactly: the lines after it, each with its newline. */
  readonly expected: string;
  readonly background: boolean;
}

export interface StepResult {
  readonly step: Step;
  readonly output: string;
  readonly code: number | null;
}

const FENCE = /^(`{3,}|~{3,})\s*([^\s`]*)/;

/** Every fenced code block of a Markdown page. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split("\n");
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "");
    if (open === null) continue;
    const fence = open[1] ?? "```";
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^${fence[0]}{${fence.length},}\\s*$`).test(lines[j] ?? "")) {
      body.push(lines[j] ?? "");
      j++;
    }
    blocks.push({ lang: open[2] ?? "", line: i + 1, lines: body });
    i = j;
  }
  return blocks;
}

/** The commands of a console block and what each prints; throws on a block that is not a session. */
export function consoleSteps(block: FencedBlock): Step[] {
  const steps: Step[] = [];
  const { lines } = block;
  let i = 0;
  if (lines.length === 0 || !(lines[0] ?? "").startsWith("$ "))
    throw new Error(`the console block at line ${block.line} does not start with a "$ " command line`);
  while (i < lines.length) {
    const line = block.line + 1 + i;
    let command = (lines[i] ?? "").slice(2);
    i++;
    while (command.endsWith("\\") && i < lines.length) {
      command = `${command.slice(0, -1).trimEnd()} ${(lines[i] ?? "").trim()}`;
      i++;
    }
    const heredoc = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(command);
    if (heredoc !== null) {
      const end = heredoc[3] ?? "";
      const body: string[] = [];
      while (i < lines.length && (heredoc[1] === "-" ? (lines[i] ?? "").trim() : lines[i]) !== end) {
        body.push(lines[i] ?? "");
        i++;
      }
      if (i === lines.length) throw new Error(`the here-document at line ${line} has no ${end} line`);
      i++;
      command = [command, ...body, end].join("\n");
    }
    const output: string[] = [];
    while (i < lines.length && !(lines[i] ?? "").startsWith("$ ")) output.push(lines[i++] ?? "");
    const background = /\s&$/.test(command);
    steps.push({
      line,
      command: background ? command.replace(/\s&$/, "") : command,
      expected: output.map((l) => `${l}\n`).join(""),
      background,
    });
  }
  return steps;
}

/**
 * A command's words as a shell splits them (quotes and backslashes), or null when the shell would do more than split
 * words: pipes, redirections, expansions, globs, several commands.
 */
export function shellWords(command: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] ?? "";
    if (c === " " || c === "\t") {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) return null;
      word = (word ?? "") + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = "";
      for (i++; i < command.length && command[i] !== '"'; i++) {
        if (command[i] === "$" || command[i] === "`") return null;
        if (command[i] === "\\" && '"\\$`'.includes(command[i + 1] ?? "")) i++;
        text += command[i] ?? "";
      }
      if (i >= command.length) return null;
      word = (word ?? "") + text;
    } else if (c === "\\") {
      word = (word ?? "") + (command[++i] ?? "");
    } else if ("|&;<>()$`*?[]{}~#!\n".includes(c)) {
      return null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** `enrollgate ARGS...` with its `VAR=value` prefixes, when the command is exactly that. */
export function enrollgateInvocation(command: string): { env: Record<string, string>; args: string[] } | null {
  const words = shellWords(command);
  if (words === null) return null;
  const env: Record<string, string> = {};
  let k = 0;
  for (; k < words.length; k++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[k] ?? "");
    if (m === null) break;
    env[m[1] ?? ""] = m[2] ?? "";
  }
  return words[k] === "enrollgate" ? { env, args: words.slice(k + 1) } : null;
}

/** The file package.json's `bin.enrollgate` names (dist/cli/main.js), absolute. */
export function enrollgateBin(): string {
  const manifest = JSON.parse(readFileSync(projectPath("package.json"), "utf8")) as { bin: { enrollgate: string } };
  return projectPath(manifest.bin.enrollgate);
}

/** What is not copied into a block's repository: built, installed or version-control files. */
const NOT_COPIED = new Set([".git", "node_modules", "dist", "dist-bench", "coverage"]);
const LINKED = ["dist", "node_modules"];

/**
 * A fresh copy of the repository, with dist/ and node_modules/ linked and `../shared` beside it (a link to the
 * checkout's); and a directory holding an `enrollgate` command.
 */
export function scratchRepository(): { root: string; bin: string; remove: () => void } {
  const base = mkdtempSync(join(tmpdir(), "enrollgate-docs-"));
  const root = join(base, "repo");
  const source = projectPath();
  cpSync(source, root, {
    recursive: true,
    filter: (path) => !NOT_COPIED.has(relative(source, path).split(sep)[0] ?? ""),
  });
  for (const name of LINKED) symlinkSync(projectPath(name), join(root, name));
  symlinkSync(resolve(projectPath(), "..", "shared"), join(base, "shared"));
  const bin = join(base, "bin");
  mkdirSync(bin);
  const shim = join(bin, "enrollgate");
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(enrollgateBin())} "$@"\n`);
  chmodSync(shim, 0o755);
  return { root, bin, remove: () => rmSync(base, { recursive: true, force: true }) };
}

const COMMAND_TIMEOUT_MS = 30_000;

function collect(
  child: ChildProcess,
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `did not exit within ${timeoutMs / 1000} s: a command that keeps running (serve) is no console example; ` +
            "end it with ` &`, or show it in a ```sh block without output",
        ),
      );
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function untilListening(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("the background command exited");
    if (await portOpen(port)) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`the background command did not listen on $PORT (${port}) within 20 s`);
}

/** Runs a console block's steps in a fresh copy of the repository; what each printed, and its exit code. */
export async function runConsoleBlock(
  steps: ReadonlyArray<Step>,
  freePort: () => Promise<number>,
): Promise<StepResult[]> {
  const scratch = scratchRepository();
  const background: ChildProcess[] = [];
  const results: StepResult[] = [];
  let port: number | null = null;
  let previous = 0;
  try {
    for (const step of steps) {
      const command = port === null ? step.command : step.command.replace(/:8080\b/g, `:${port}`);
      const base = { PATH: `${scratch.bin}:${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? "" };
      if (step.background) {
        port = await freePort();
        const child = spawn("sh", ["-c", `exec ${command}`], {
          cwd: scratch.root,
          env: { ...base, PORT: String(port) },
          stdio: "ignore",
          detached: true,
        });
        background.push(child);
        await untilListening(child, port);
        results.push({ step, output: "", code: null });
        continue;
      }
      const direct = enrollgateInvocation(command);
      const child =
        direct === null
          ? spawn("sh", ["-c", `(exit ${previous})\n${command}`], { cwd: scratch.root, env: base })
          : spawn(process.execPath, [enrollgateBin(), ...direct.args], {
              cwd: scratch.root,
              env: { PATH: process.env.PATH, HOME: process.env.HOME, ...direct.env },
            });
      child.stdin?.end();
      const { stdout, stderr, code } = await collect(child, COMMAND_TIMEOUT_MS);
      previous = code ?? 1;
      // A terminal shows the next prompt on a line of its own: a last line without its newline reads as one with it.
      const output = stdout + stderr;
      results.push({ step, output: output === "" || output.endsWith("\n") ? output : `${output}\n`, code });
    }
    return results;
  } finally {
    // The whole process group: `npm start` runs the gate as its own child.
    for (const child of background) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    scratch.remove();
  }
}

/** Why a non-console block breaks the rule that every shell example with output is a console block that runs. */
export function shellBlockProblems(block: FencedBlock): string[] {
  const problems: string[] = [];
  if (block.lang === "console") return problems;
  block.lines.forEach((text, k) => {
    if (/^\$ /.test(text))
      problems.push(`line ${block.line + 1 + k}: a "$ " command in a \`\`\`${block.lang} block: make it \`\`\`console`);
  });
  if (!["sh", "bash", "shell", "zsh"].includes(block.lang)) return problems;
  const commands = block.lines.filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  if (!/^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*enrollgate(?:\s|$)/.test(commands[0] ?? "")) return problems;
  let continued = false;
  block.lines.forEach((text, k) => {
    const isCommand =
      continued ||
      text.trim() === "" ||
      text.trimStart().startsWith("#") ||
      /^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*[a-z][a-z0-9._-]*(?:\s|$)/.test(text);
    if (!isCommand)
      problems.push(
        `line ${block.line + 1 + k}: output in a \`\`\`${block.lang} block that runs enrollgate: ` +
          "show it as a ```console session, which a test runs",
      );
    continued = text.trimEnd().endsWith("\\");
  });
  return problems;
}
