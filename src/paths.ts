// Files that ship with the package (schemas/, policies/, package.json), found
// relative to this module: src/paths.ts and dist/paths.js both sit one level
// below the package root.
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const PACKAGE_ROOT = fileURLToPath(new URL("..", import.meta.url));

export function packageFile(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
