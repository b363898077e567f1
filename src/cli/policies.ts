// Loading and compiling a policy directory for a command: files, feeds and
// the environment are read here and handed to the pure compiler.
import type { FeedFlags } from "../feeds/provider.js";
import type { CompileOptions, CompileResult } from "../policy/compile.js";
import type { CliIO } from "./io.js";

export async function loadAndCompile(
  dir: string,
  io: CliIO,
  options: Omit<CompileOptions, "env" | "readFile" | "availability">,
  feeds: FeedFlags = {},
): Promise<CompileResult & { dir: string }> {
  const [{ loadPolicySet, readTokenFile }, { FeedProvider }, { compileWithFeeds }] = await Promise.all([
    import("../policy/load.js"),
    import("../feeds/provider.js"),
    import("../feeds/with-feeds.js"),
  ]);
  const source = await loadPolicySet(dir, { cwd: io.cwd });
  const { result, problems } = await compileWithFeeds(source, { ...options, env: io.env, readFile: readTokenFile }, { provider: new FeedProvider({ env: io.env }), flags: feeds, cwd: io.cwd });
  for (const p of problems) io.stderr(`enrollgate: warning: ${p}\n`);
  return { ...result, dir };
}
