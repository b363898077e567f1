// Compiling with feeds: a first pass reads the settings (where the feeds are)
// and the rules (which ADU updates they reference), the feeds are read or
// pulled, and a second pass compiles against them. Without feeds, one pass.
import { compile, type CompileOptions, type CompileResult, type PolicySetSource } from "../policy/compile.js";
import { resolveFeedConfig, type FeedFlags, type FeedProvider } from "./provider.js";

export interface FeedContext {
  readonly provider: FeedProvider;
  readonly flags: FeedFlags;
  readonly cwd: string;
}

export async function compileWithFeeds(source: PolicySetSource, options: CompileOptions, feeds: FeedContext): Promise<{ result: CompileResult; problems: ReadonlyArray<string> }> {
  const first = compile(source, options);
  const config = resolveFeedConfig(feeds.flags, first.settings.feeds, source.dir, feeds.cwd);
  if (config.gdmf === null && config.adu === null) return { result: first, problems: [] };
  const refreshed = await feeds.provider.refresh(config, first.rules);
  return { result: compile(source, { ...options, availability: refreshed.availability }), problems: refreshed.problems };
}
