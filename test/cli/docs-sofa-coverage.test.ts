// The shell examples of docs/feeds.md ("Vulnerabilities (SOFA)") and
// docs/command-line.md ("coverage"), run from the repository root with the
// built command, their output compared exactly. (A harness that runs every
// page's examples may replace this.)
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { projectPath } from "../helpers/project.js";

interface Example {
  readonly args: string[];
  readonly output: string;
}

/** The ```console blocks of one `## ` section: `$ enrollgate ...` lines, each followed by its output. */
function examples(page: string, heading: string): Example[] {
  const text = readFileSync(projectPath("docs", page), "utf8");
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/${page} has no section "## ${heading}"`);
  const next = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, next === -1 ? undefined : next);
  const out: Example[] = [];
  for (const block of section.matchAll(/```console\n([\s\S]*?)```/g)) {
    const lines = (block[1] ?? "").split("\n");
    let current: { args: string[]; output: string[] } | null = null;
    for (const line of lines) {
      if (line.startsWith("$ enrollgate ")) {
        if (current !== null) out.push({ args: current.args, output: current.output.join("\n") });
        current = { args: line.slice("$ enrollgate ".length).split(" "), output: [] };
      } else if (current !== null) current.output.push(line);
    }
    if (current !== null) out.push({ args: current.args, output: current.output.join("\n") });
  }
  return out;
}

describe.each([
  ["feeds.md", "Vulnerabilities (SOFA)", 2],
  ["command-line.md", "coverage", 2],
])("docs/%s, %s", (page, heading, count) => {
  const found = examples(page, heading);

  it(`has its ${count} examples`, () => {
    expect(found).toHaveLength(count);
  });

  it.each(found.map((e) => [e.args.join(" "), e] as const))("$ enrollgate %s", async (_name, example) => {
    const r = await enrollgate(example.args, { cwd: projectPath() });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(example.output);
  });
});
