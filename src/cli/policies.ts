// Loading and compiling a policy directory for a command: files, feeds and
// the environment are read here and handed to the pure compiler.
import { FeedError } from "../feeds/gdmf.js";
import { FeedProvider, type FeedFlags } from "../feeds/provider.js";
import { compileWithFeeds } from "../feeds/with-feeds.js";
import type { CompileOptions, CompileResult } from "../policy/compile.js";
import { loadPolicySet, PolicyLoadError, readTokenFile } from "../policy/load.js";
import { UsageError, type CliIO } from "./io.js";

export async function loadAndCompile(
  dir: string,
  io: CliIO,
  options: Omit<CompileOptions, "env" | "readFile" | "availability">,
  feeds: FeedFlags = {},
): Promise<CompileResult & { dir: string }> {
  try {
    const source = await loadPolicySet(dir, { cwd: io.cwd });
    const { result, problems } = await compileWithFeeds(source, { ...options, env: io.env, readFile: readTokenFile }, { provider: new FeedProvider({ env: io.env }), flags: feeds, cwd: io.cwd });
    for (const p of problems) io.stderr(`enrollgate: warning: ${p}\n`);
    return { ...result, dir };
  } catch (e) {
    if (e instanceof PolicyLoadError || e instanceof FeedError) throw new UsageError(e.message);
    throw e;
  }
}
