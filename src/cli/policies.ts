// Loading and compiling a policy directory for a command: files, feeds and
// the environment are read here and handed to the pure compiler. Commands are
// one-shot, so they compile in-process (the server compiles in a worker);
// every file is still read the gate's way: confined, regular, size-capped.
import { resolve } from "node:path";
import type { FeedConfig, FeedData, FeedFlags, FeedRule, SnapshotRead, SnapshotReads } from "../feeds/provider.js";
import type { SofaFeed } from "../feeds/sofa.js";
import type { CompileOptions, CompileResult, PolicySetSource } from "../policy/compile.js";
import type { NamedFileKind, NamedFileRead } from "../policy/semantic.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import { formatReport } from "../report/format-report.js";
import { UsageError, type CliIO } from "./io.js";

/** Where a set's named files come from when not from disk (a set read from git). */
export interface SetFiles {
  readonly readNamed: (absolutePath: string, kind: NamedFileKind) => NamedFileRead;
  /** A snapshot enrollgate.yaml names, or null to read it from disk as usual. */
  readonly readSnapshot: (absolutePath: string) => Promise<string | null>;
}

export async function loadAndCompile(
  dir: string,
  io: CliIO,
  options: Omit<CompileOptions, "env" | "readFile" | "availability">,
  feeds: FeedFlags = {},
  secretsDirs: ReadonlyArray<string> = [],
): Promise<CompileResult & { dir: string; feeds: FeedData | null }> {
  const { loadPolicySet } = await import("../policy/load.js");
  const source = await loadPolicySet(dir, { cwd: io.cwd });
  return { ...(await compileSource(source, io, options, feeds, secretsDirs)), dir };
}

/** Compiles a policy set already read, with its feeds; `files` reads what it names from elsewhere than disk. */
export async function compileSource(
  source: PolicySetSource,
  io: CliIO,
  options: Omit<CompileOptions, "env" | "readFile" | "availability">,
  feeds: FeedFlags = {},
  secretsDirs: ReadonlyArray<string> = [],
  files?: SetFiles,
): Promise<CompileResult & { feeds: FeedData | null }> {
  const [
    { policyFileReader },
    { FeedProvider, readSnapshots },
    { compileWithFeeds },
    { parseGdmf },
    { parseAduCatalog },
    { parseSofa },
  ] = await Promise.all([
    import("../policy/load.js"),
    import("../feeds/provider.js"),
    import("../feeds/with-feeds.js"),
    import("../feeds/gdmf.js"),
    import("../feeds/adu-catalog.js"),
    import("../feeds/sofa.js"),
  ]);
  const secrets = secretsDirs.map((d) => resolve(io.cwd, d));
  const provider = new FeedProvider({ env: io.env });
  const refresh =
    files === undefined
      ? provider
      : {
          // Snapshots enrollgate.yaml names inside the set come from the same place as the set.
          async refresh(config: FeedConfig, rules: ReadonlyArray<FeedRule>) {
            const gdmf =
              config.confine?.gdmf !== null && config.confine?.gdmf !== undefined && config.gdmf !== null
                ? await files.readSnapshot(config.gdmf)
                : null;
            const adu =
              config.confine?.aduCatalog !== null &&
              config.confine?.aduCatalog !== undefined &&
              config.adu?.kind === "catalog"
                ? await files.readSnapshot(config.adu.path)
                : null;
            // SOFA snapshots too: the base of a diff is judged with its own, not the working tree's.
            const sofaPaths = config.sofa ?? [];
            const sofaTexts =
              config.confine?.sofa !== null && config.confine?.sofa !== undefined
                ? await Promise.all(sofaPaths.map((path) => files.readSnapshot(path)))
                : sofaPaths.map(() => null);
            const disk = await readSnapshots({
              ...config,
              gdmf: gdmf === null ? config.gdmf : null,
              adu: adu === null ? config.adu : null,
              sofa: sofaPaths.filter((_, i) => sofaTexts[i] === null),
            });
            let fromDisk = 0;
            const sofa = sofaPaths.map((path, i): SnapshotRead<SofaFeed> => {
              const text = sofaTexts[i];
              if (text === null || text === undefined)
                return disk.sofa?.[fromDisk++] ?? { ok: false, message: `the snapshot ${path} was not read` };
              try {
                return { ok: true, value: parseSofa(text, path) };
              } catch (e) {
                return { ok: false, message: (e as Error).message };
              }
            });
            const reads: SnapshotReads = {
              ...disk,
              ...(sofaPaths.length > 0 ? { sofa } : {}),
              ...(gdmf !== null && config.gdmf !== null
                ? { gdmf: { ok: true, value: parseGdmf(gdmf, config.gdmf) } }
                : {}),
              ...(adu !== null && config.adu?.kind === "catalog"
                ? { adu: { ok: true, value: parseAduCatalog(adu, config.adu.path) } }
                : {}),
            };
            return provider.refresh(config, rules, reads);
          },
        };
  const { result, problems, refreshed } = await compileWithFeeds(
    source,
    { ...options, env: io.env, readFile: files?.readNamed ?? policyFileReader(source.dir, secrets) },
    { provider: refresh, flags: feeds, cwd: io.cwd, secretsDirs: secrets },
  );
  for (const p of problems) io.stderr(`enrollgate: warning: ${p}\n`);
  return { ...result, feeds: refreshed?.feeds ?? null };
}

/**
 * The set a command needs to answer, or its errors printed as `validate`
 * prints them and a UsageError (exit 2): `what` names the set ("policies",
 * "base policies").
 */
export function compiledSet(
  result: CompileResult,
  named: string,
  io: CliIO,
  version: string,
  what = "policies",
): CompiledPolicySet {
  if (result.set !== null) return result.set;
  io.stderr(
    formatReport("text", {
      findings: result.findings.filter((f) => f.severity === "error"),
      files: result.checked,
      version,
    }),
  );
  throw new UsageError(`the ${what} in ${named} do not compile; fix the errors above`);
}
