// Writing an output file whole: a reader never sees half a snapshot.
import { rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

/** `mode`: the new file's permissions (0o600 for one that holds a secret). */
export async function writeAtomically(cwd: string, path: string, text: string, mode?: number): Promise<string> {
  const full = resolve(cwd, path);
  const tmp = `${full}.${process.pid}.tmp`;
  await writeFile(tmp, text, mode !== undefined ? { mode } : {});
  await rename(tmp, full);
  return full;
}
