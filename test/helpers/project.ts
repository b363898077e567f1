// The project's own files, for tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./shared.js";

export function projectPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}

export function readProject(...parts: string[]): string {
  return readFileSync(projectPath(...parts), "utf8");
}
