// Loading and compiling a policy directory for a command: files and the
// environment are read here and handed to the pure compiler.
import { compile, type CompileOptions, type CompileResult } from "../policy/compile.js";
import { loadPolicySet, PolicyLoadError, readTokenFile } from "../policy/load.js";
import { UsageError, type CliIO } from "./io.js";

export async function loadAndCompile(
  dir: string,
  io: CliIO,
  options: Omit<CompileOptions, "env" | "readFile">,
): Promise<CompileResult & { dir: string }> {
  try {
    const source = await loadPolicySet(dir, { cwd: io.cwd });
    return { ...compile(source, { ...options, env: io.env, readFile: readTokenFile }), dir };
  } catch (e) {
    if (e instanceof PolicyLoadError) throw new UsageError(e.message);
    throw e;
  }
}
