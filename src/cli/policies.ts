// Loading and compiling a policy directory for a command: files, feeds and
// the environment are read here and handed to the pure compiler. Commands are
// one-shot, so they compile in-process (the server compiles in a worker);
// every file is still read the gate's way: confined, regular, size-capped.
import { resolve } from "node:path";
import type { FeedData, FeedFlags } from "../feeds/provider.js";
import type { CompileOptions, CompileResult } from "../policy/compile.js";
import type { CliIO } from "./io.js";

export async function loadAndCompile(
  dir: string,
  io: CliIO,
  options: Omit<CompileOptions, "env" | "readFile" | "availability">,
  feeds: FeedFlags = {},
  secretsDirs: ReadonlyArray<string> = [],
): Promise<CompileResult & { dir: string; feeds: FeedData | null }> {
  const [{ loadPolicySet, policyFileReader }, { FeedProvider }, { compileWithFeeds }] = await Promise.all([
    import("../policy/load.js"),
    import("../feeds/provider.js"),
    import("../feeds/with-feeds.js"),
  ]);
  const source = await loadPolicySet(dir, { cwd: io.cwd });
  const secrets = secretsDirs.map((d) => resolve(io.cwd, d));
  const { result, problems, refreshed } = await compileWithFeeds(
    source,
    { ...options, env: io.env, readFile: policyFileReader(source.dir, secrets) },
    { provider: new FeedProvider({ env: io.env }), flags: feeds, cwd: io.cwd, secretsDirs: secrets },
  );
  for (const p of problems) io.stderr(`enrollgate: warning: ${p}\n`);
  return { ...result, dir, feeds: refreshed?.feeds ?? null };
}
