// TypeScript users: the docs' Express example compiles under `strict`
// against Express 4's types and Express 5's, with enrollgate resolved as a
// user's project resolves it (package.json's exports, the built .d.ts files),
// and `import "enrollgate/express"` types res.locals.enrollgate. The example
// is read from the docs, so the page cannot drift from what compiles.
import { readdirSync, existsSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { projectPath, readProject } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";

/** Markdown pages that may hold the example: README.md and docs/*.md. */
function pages(): string[] {
  const docs = existsSync(projectPath("docs"))
    ? readdirSync(projectPath("docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`)
    : [];
  return ["README.md", ...docs];
}

/** Every ```ts block in the docs that mounts the gate in an Express app. */
function expressExamples(): Array<{ page: string; code: string }> {
  return pages().flatMap((page) =>
    [...readProject(page).matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
      .map((m) => ({ page, code: m[1] ?? "" }))
      .filter((b) => b.code.includes('from "express"') && b.code.includes("enrollmentGate(")),
  );
}

const EXPRESS_TYPES = {
  "Express 4": "@types/express4",
  "Express 5": "@types/express",
} as const;

/**
 * A user's project in a temp directory: enrollgate (this package, built) and
 * the Express types as its node_modules, and `files` as its sources.
 */
async function userProject(expressTypes: string, files: Record<string, string>): Promise<string> {
  const dir = await tempDir({
    "package.json": JSON.stringify({ name: "app", private: true, type: "module" }),
    ...files,
  });
  await mkdir(join(dir, "node_modules", "@types"), { recursive: true });
  await symlink(projectPath(), join(dir, "node_modules", "enrollgate"));
  await symlink(projectPath("node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"));
  await symlink(projectPath("node_modules", expressTypes), join(dir, "node_modules", "@types", "express"));
  return dir;
}

/** tsc --strict --noEmit over the project's files, as its diagnostics. */
function compile(dir: string, files: ReadonlyArray<string>): string[] {
  const program = ts.createProgram(
    files.map((f) => join(dir, f)),
    {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ["node"],
      // Declaration files are read for their types, not checked themselves (as most projects
      // set it); test/project/package.test.ts checks the package's own.
      skipLibCheck: true,
    },
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where =
      d.file !== undefined && d.start !== undefined
        ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} `
        : "";
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

describe("the docs' Express example", () => {
  const examples = expressExamples();

  it("is one ```ts block", () => {
    expect(examples.map((e) => e.page)).toEqual(["docs/library.md"]);
  });

  for (const [express, types] of Object.entries(EXPRESS_TYPES)) {
    it(`compiles under strict with ${express}`, async () => {
      const dir = await userProject(types, { "app.ts": examples[0]?.code ?? "" });
      expect(compile(dir, ["app.ts"])).toEqual([]);
    });
  }
});

describe('import "enrollgate/express"', () => {
  const typed = [
    'import express from "express";',
    'import "enrollgate/express";',
    'import type { GateOutcome, Reason } from "enrollgate";',
    "const app = express();",
    "app.get('/', (req, res) => {",
    "  const outcome: GateOutcome | undefined = res.locals.enrollgate;",
    "  const reason: Reason | undefined = res.locals.enrollgate?.decision.reason;",
    "  res.json({ outcome, reason });",
    "});",
    "",
  ].join("\n");
  const unchecked = [
    'import express from "express";',
    'import "enrollgate/express";',
    "const app = express();",
    "app.get('/', (req, res) => {",
    "  const n: number = res.locals.enrollgate.decision;",
    "  res.json({ n });",
    "});",
    "",
  ].join("\n");

  for (const [express, types] of Object.entries(EXPRESS_TYPES)) {
    it(`types res.locals.enrollgate as an optional GateOutcome with ${express}, not as any`, async () => {
      const dir = await userProject(types, { "typed.ts": typed, "unchecked.ts": unchecked });
      expect(compile(dir, ["typed.ts"])).toEqual([]);
      const errors = compile(dir, ["unchecked.ts"]);
      expect(errors.sort()).toEqual([
        "unchecked.ts:5 'res.locals.enrollgate' is possibly 'undefined'.",
        "unchecked.ts:5 Type 'Decision' is not assignable to type 'number'.",
      ]);
    });
  }
});
