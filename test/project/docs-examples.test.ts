// The docs cannot drift: every ```console session in README.md and docs/*.md
// runs, from a copy of the repository root, and prints exactly what the page
// shows (test/helpers/console-examples.ts has the conventions). Shell
// examples with output in any other kind of block are refused, so none
// escapes. docs/findings.md is left to `npm run docs -- --check`
// (test/project/findings-docs.test.ts): each of its examples runs in a
// directory holding the files its entry shows, not in the repository.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  consoleSteps,
  enrollgateInvocation,
  fencedBlocks,
  runConsoleBlock,
  shellBlockProblems,
  shellWords,
} from "../helpers/console-examples.js";
import { freePort } from "../helpers/processes.js";
import { projectPath, readProject } from "../helpers/project.js";

const GENERATED = new Set(["docs/findings.md"]);
const PAGES = [
  "README.md",
  ...readdirSync(projectPath("docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`)
    .filter((f) => !GENERATED.has(f))
    .sort(),
];

const sessions = PAGES.flatMap((page) =>
  fencedBlocks(readProject(page))
    .filter((b) => b.lang === "console")
    .map((block) => ({ page, block, steps: consoleSteps(block) })),
);

describe("the docs' console sessions", () => {
  it("are there to run: the README's tour and the command line's examples among them", () => {
    expect(sessions.filter((s) => s.page === "README.md").length).toBeGreaterThanOrEqual(3);
    expect(sessions.filter((s) => s.page === "docs/command-line.md").length).toBeGreaterThanOrEqual(3);
    expect(
      sessions.flatMap((s) => s.steps).filter((s) => enrollgateInvocation(s.command) !== null).length,
    ).toBeGreaterThan(10);
  });

  it("show every command a page is about: diff and coverage, SOFA, DDM and OSUpdateStatus", () => {
    /** `sub` or `sub sub2` of each enrollgate command a page runs, with --sofa when it gives one. */
    const commands = (page: string) =>
      sessions
        .filter((s) => s.page === page)
        .flatMap((s) => s.steps)
        .map((s) => enrollgateInvocation(s.command)?.args ?? [])
        .filter((args) => args.length > 0)
        .map((args) =>
          [
            ...args.slice(0, ["ddm", "os-update-status"].includes(args[0] ?? "") ? 2 : 1),
            ...(args.includes("--sofa") ? ["--sofa"] : []),
          ].join(" "),
        );
    const count = (page: string, command: string) => commands(page).filter((c) => c === command).length;
    expect(count("docs/command-line.md", "diff")).toBeGreaterThanOrEqual(2);
    expect(count("docs/command-line.md", "coverage --sofa")).toBeGreaterThanOrEqual(1);
    expect(count("docs/command-line.md", "coverage")).toBeGreaterThanOrEqual(1);
    expect(count("docs/feeds.md", "check --sofa")).toBeGreaterThanOrEqual(2);
    expect(new Set(commands("docs/enrolled-devices.md"))).toEqual(
      new Set(["ddm declarations", "ddm status", "os-update-status command", "os-update-status report"]),
    );
  });

  it.each(sessions.map((s) => [`${s.page}:${s.block.line}`, s] as const))(
    "%s prints what the page shows",
    async (where, { steps }) => {
      const results = await runConsoleBlock(steps, freePort);
      for (const r of results)
        expect(r.output, `${where}, $ ${r.step.command} (line ${r.step.line}) exited ${r.code}`).toBe(r.step.expected);
    },
  );

  it.each(PAGES)("%s shows no shell example with output outside a console session", (page) => {
    expect(fencedBlocks(readProject(page)).flatMap((b) => shellBlockProblems(b).map((p) => `${page} ${p}`))).toEqual(
      [],
    );
  });
});

describe("the console session reader", () => {
  const page = [
    "Text.",
    "",
    "```console",
    "$ enrollgate check --policies policies \\",
    "    --product iPhone17,3 --json",
    '{"decision":"allow"}',
    "$ echo $?",
    "0",
    "$ cat > a.yaml <<'EOF'",
    "rules: []",
    "EOF",
    "$ IOS27_BETA_TOKEN=x enrollgate validate 'my policies' --now 2026-12-01",
    "11 files checked: 0 errors, 0 warnings",
    "",
    "```",
  ].join("\n");

  it("reads commands, continuations, here-documents and the exact lines each prints", () => {
    const [block] = fencedBlocks(page);
    expect(block?.lang).toBe("console");
    expect(consoleSteps(block ?? { lang: "", line: 0, lines: [] })).toEqual([
      {
        line: 4,
        command: "enrollgate check --policies policies --product iPhone17,3 --json",
        expected: '{"decision":"allow"}\n',
        background: false,
      },
      { line: 7, command: "echo $?", expected: "0\n", background: false },
      { line: 9, command: "cat > a.yaml <<'EOF'\nrules: []\nEOF", expected: "", background: false },
      {
        line: 12,
        command: "IOS27_BETA_TOKEN=x enrollgate validate 'my policies' --now 2026-12-01",
        expected: "11 files checked: 0 errors, 0 warnings\n\n",
        background: false,
      },
    ]);
  });

  it("runs enrollgate itself, with its variables, and hands anything else to a shell", () => {
    expect(enrollgateInvocation("IOS27_BETA_TOKEN=x enrollgate validate 'my policies' --now 2026-12-01")).toEqual({
      env: { IOS27_BETA_TOKEN: "x" },
      args: ["validate", "my policies", "--now", "2026-12-01"],
    });
    expect(shellWords(`enrollgate check --product "iPhone17,3" --serial a\\ b`)).toEqual([
      "enrollgate",
      "check",
      "--product",
      "iPhone17,3",
      "--serial",
      "a b",
    ]);
    for (const shell of ["enrollgate validate | head", "enrollgate validate policies/*", "echo $?", 'echo "$HOME"'])
      expect(enrollgateInvocation(shell), shell).toBeNull();
  });

  it("catches a page whose output is not what the command prints, and shows exit codes as echo $? does", async () => {
    const steps = consoleSteps({
      lang: "console",
      line: 1,
      lines: [
        "$ enrollgate check --policies policies --product iPhone17,3 --os-version 26.6.1 --json --now 2026-12-01",
        '{"decision":"allow","reason":"compliant","rule":null,"response":null}',
        "$ echo $?",
        "0",
        "$ enrollgate check --policies policies --product iPhone17,3 --os-version 26.5 --json --now 2026-12-01",
        '{"decision":"allow","reason":"compliant","rule":null,"response":null}',
        "$ echo $?",
        "0",
      ],
    });
    const results = await runConsoleBlock(steps, freePort);
    expect(results.map((r) => r.output === r.step.expected)).toEqual([true, true, false, false]);
    expect(results[3]?.output).toBe("1\n");
  });

  it("refuses output shown in a shell block, and $ commands outside a console block", () => {
    const problems = fencedBlocks(
      [
        "```sh",
        "enrollgate validate policies \\",
        "  --now 2026-12-01",
        "11 files checked: 0 errors, 1 warning",
        "```",
        "```",
        "$ enrollgate test policies",
        "```",
        "```sh",
        "npm ci && npm start",
        "```",
      ].join("\n"),
    ).flatMap(shellBlockProblems);
    expect(problems).toEqual([
      "line 4: output in a ```sh block that runs enrollgate: show it as a ```console session, which a test runs",
      'line 7: a "$ " command in a ``` block: make it ```console',
    ]);
  });
});
