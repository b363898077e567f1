// Writing an output file whole: a reader never sees half a snapshot.
import { rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

export async function writeAtomically(cwd: string, path: string, text: string): Promise<string> {
  const full = resolve(cwd, path);
  const tmp = `${full}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, full);
  return full;
}
