// docs/enrolled-devices.md's console examples are what the real `enrollgate`
// prints: each `$ enrollgate ...` line is run from the repository root against
// policies/ and files in the repository, and its output (stdout, then stderr,
// as a terminal shows them) must be the text under it, exactly.
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { readProject } from "../helpers/project.js";

interface Example {
  readonly command: string;
  readonly output: string;
}

/** Arguments of a one-line command, with single and double quotes as a shell reads them (no expansion). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  return out;
}

/** Every `$ enrollgate` command in a page's console blocks, with the output written under it. */
export function consoleExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  for (const block of markdown.matchAll(/^```console\n([\s\S]*?)^```$/gm)) {
    let current: { command: string; lines: string[] } | null = null;
    for (const line of (block[1] ?? "").split("\n").slice(0, -1)) {
      if (line.startsWith("$ ")) {
        if (current !== null) examples.push({ command: current.command, output: current.lines.join("") });
        current = { command: line.slice(2), lines: [] };
      } else if (current !== null) current.lines.push(`${line}\n`);
    }
    if (current !== null) examples.push({ command: current.command, output: current.lines.join("") });
  }
  return examples;
}

const examples = consoleExamples(readProject("docs", "enrolled-devices.md"));

describe("docs/enrolled-devices.md", () => {
  it("has console examples of every ddm command and of OSUpdateStatus", () => {
    const commands = examples.map((e) => words(e.command).slice(1, 3).join(" "));
    expect(new Set(commands)).toEqual(
      new Set(["ddm declarations", "ddm status", "os-update-status command", "os-update-status report"]),
    );
  });

  it.each(examples.map((e) => [e.command, e] as const))("$ %s prints what the page shows", async (_, e) => {
    const [bin, ...args] = words(e.command);
    expect(bin).toBe("enrollgate");
    const r = await enrollgate(args);
    expect(r.stdout + r.stderr).toBe(e.output);
  });
});
