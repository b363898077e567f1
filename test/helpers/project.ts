// The project's own files, for tests.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./shared.js";

export function projectPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}

export function readProject(...parts: string[]): string {
  return readFileSync(projectPath(...parts), "utf8");
}

/** The pages of docs/ (docs/gate.md, ...), findings.md included, sorted. */
export function docsPages(): string[] {
  return readdirSync(projectPath("docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`)
    .sort();
}
