// Writing an output file whole: a reader never sees half a snapshot.
import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

/** `mode`: the new file's permissions (0o600 for one that holds a secret). */
export async function writeAtomically(cwd: string, path: string, text: string, mode?: number): Promise<string> {
  const full = resolve(cwd, path);
  // A fresh name, created exclusively (`wx`): a link planted where the temporary file goes is refused, never followed.
  const tmp = `${full}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, text, { flag: "wx", ...(mode !== undefined ? { mode } : {}) });
  try {
    await rename(tmp, full);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return full;
}
