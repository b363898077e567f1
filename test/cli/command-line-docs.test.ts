// The ```console examples of docs/command-line.md's `enrollgate diff`
// section, run from the repository root with the real bin: the output must
// be what the page shows, to the byte.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { projectPath } from "../helpers/project.js";

interface Example {
  readonly args: string[];
  readonly output: string;
}

/** The section under `heading`, up to the next heading of its level. */
function section(page: string, heading: string): string {
  const start = page.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`no "${heading}" in the page`);
  const rest = page.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return end === -1 ? rest : rest.slice(0, end);
}

function examples(text: string): Example[] {
  const out: Example[] = [];
  for (const m of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    const [command = "", ...output] = (m[1] ?? "").split("\n");
    if (!command.startsWith("$ enrollgate ")) throw new Error(`not an enrollgate command: ${command}`);
    out.push({ args: command.slice("$ enrollgate ".length).split(" "), output: output.join("\n") });
  }
  return out;
}

const page = readFileSync(projectPath("docs", "command-line.md"), "utf8");
const diffExamples = examples(section(page, "## enrollgate diff"));

describe("docs/command-line.md: enrollgate diff", () => {
  it("has examples", () => {
    expect(diffExamples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(diffExamples.map((e) => [e.args.join(" "), e] as const))("$ enrollgate %s", async (_title, example) => {
    const r = await enrollgate(example.args, { cwd: projectPath() });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(example.output);
  });
});
