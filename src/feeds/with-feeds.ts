// Compiling with feeds: a first pass reads the settings (where the feeds are)
// and the rules (which ADU updates they reference), the feeds are read or
// pulled, and a second pass compiles against them. Without feeds, one pass.
import { compile, type CompileOptions, type CompileResult, type PolicySetSource } from "../policy/compile.js";
import {
  hasFeeds,
  resolveFeedConfig,
  type FeedConfig,
  type FeedFlags,
  type FeedRule,
  type RefreshResult,
} from "./provider.js";

export interface FeedContext {
  /** A FeedProvider, or anything that reaches one (the compile worker asks the serving thread's). */
  readonly provider: { refresh(config: FeedConfig, rules: ReadonlyArray<FeedRule>): Promise<RefreshResult> };
  readonly flags: FeedFlags;
  readonly cwd: string;
  /** The operator's secrets directories: snapshots enrollgate.yaml names may be there too. */
  readonly secretsDirs?: ReadonlyArray<string>;
}

export interface CompiledWithFeeds {
  readonly result: CompileResult;
  readonly problems: ReadonlyArray<string>;
  /** The feeds the set was compiled against; null when none are configured. */
  readonly refreshed: RefreshResult | null;
}

export async function compileWithFeeds(
  source: PolicySetSource,
  options: CompileOptions,
  feeds: FeedContext,
): Promise<CompiledWithFeeds> {
  const first = compile(source, options);
  const config = resolveFeedConfig(feeds.flags, first.settings.feeds, source.dir, feeds.cwd, feeds.secretsDirs);
  if (!hasFeeds(config)) return { result: first, problems: [], refreshed: null };
  const refreshed = await feeds.provider.refresh(
    config,
    first.rules.map((r) => ({ adu: r.adu, target: r.target })),
  );
  return {
    result: compile(source, {
      ...options,
      availability: refreshed.availability,
      ...(refreshed.vulnerabilities !== null ? { vulnerabilities: refreshed.vulnerabilities } : {}),
    }),
    problems: refreshed.problems,
    refreshed,
  };
}
