// `enrollgate gdmf pull`: a snapshot of Apple's update feed, for CI and air-gapped gates.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
// Apple's feed; kept here so that --help does not load the fetcher.
const GDMF_URL = "https://gdmf.apple.com/v2/pmv";
import { hasErrorCode } from "../../errors.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { writeAtomically } from "../write-file.js";

export function registerGdmf(program: Command, io: CliIO, exit: (code: ExitCode) => void): void {
  const gdmf = program.command("gdmf").description("Apple's software update feed (GDMF)");
  gdmf
    .command("pull")
    .description("fetch Apple's GDMF feed and write a snapshot")
    .option("--url <url>", "the feed", GDMF_URL)
    .option(
      "--ca <pem>",
      "a PEM file of the root CA the feed's certificate chains to (Apple's root for gdmf.apple.com)",
    )
    .requiredOption("--out <file>", "where to write the snapshot")
    .action(async (options: { url: string; ca?: string; out: string }) => {
      let ca: string | undefined;
      if (options.ca !== undefined) {
        try {
          ca = await readFile(resolve(io.cwd, options.ca), "utf8");
        } catch (e) {
          throw new UsageError(
            `cannot read ${options.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
      }
      const { fetchGdmf } = await import("../../feeds/gdmf-fetch.js");
      try {
        const { text, feed } = await fetchGdmf(options.url, ca !== undefined ? { ca } : {});
        await writeAtomically(io.cwd, options.out, text);
        const byPlatform = new Map<string, number>();
        for (const r of feed.releases) byPlatform.set(r.feedPlatform, (byPlatform.get(r.feedPlatform) ?? 0) + 1);
        io.stdout(
          `wrote ${options.out}: ${feed.releases.length} releases (${[...byPlatform].map(([p, n]) => `${p} ${n}`).join(", ")})${feed.skipped.length > 0 ? `; ${feed.skipped.length} entries skipped` : ""}\n`,
        );
        exit(EXIT.ok);
      } catch (e) {
        if (!hasErrorCode(e, "feed-unusable")) throw e;
        io.stderr(`enrollgate: ${e.message}\n`);
        exit(EXIT.failed);
      }
    });
}
