// Where the shared reference material lives: ../shared beside the checkout.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED = resolve(ROOT, "../shared");

if (!existsSync(SHARED)) {
  throw new Error(`tests need Apple's schema files and feed snapshots in ${SHARED} (../shared beside the checkout)`);
}

export function sharedPath(...parts: string[]): string {
  return join(SHARED, ...parts);
}

export function readShared(...parts: string[]): string {
  return readFileSync(sharedPath(...parts), "utf8");
}

/** Every .yaml file under a shared folder, as paths relative to that folder. */
export function sharedYamlFiles(folder: string): string[] {
  const base = sharedPath(folder);
  return (readdirSync(base, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => relative(base, join(base, f)))
    .sort();
}
