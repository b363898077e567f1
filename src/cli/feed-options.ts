// Feed flags shared by validate, check and serve (and coverage's --sofa).
import type { Command } from "commander";
import { ADU_APIS, type AduApi } from "../feeds/adu-client.js";
import type { FeedFlags } from "../feeds/provider.js";
import { choice, repeatable } from "./options.js";

export interface FeedFlagOptions {
  gdmf?: string;
  sofa?: string[];
  aduCatalog?: string;
  aduUrl?: string;
  aduInstance?: string;
  aduApi?: AduApi;
}

export function addFeedOptions(command: Command): Command {
  return command
    .option("--gdmf <file>", "a snapshot of Apple's GDMF feed (enrollgate gdmf pull)")
    .option(...SOFA_OPTION)
    .option("--adu-catalog <file>", "a snapshot of the ADU updates the policies reference (enrollgate adu pull)")
    .option("--adu-url <url>", "live ADU: the endpoint with its scheme, e.g. https://contoso.api.adu.microsoft.com")
    .option("--adu-instance <name>", "live ADU: the instance")
    .addOption(choice("--adu-api <api>", "live ADU: the data-plane API (default 2022-10-01)", ADU_APIS));
}

/** `--sofa FILE`, repeatable: a SOFA v2 feed snapshot (ios_data_feed.json, macos_data_feed.json). */
export const SOFA_OPTION = [
  "--sofa <file>",
  "a snapshot of a SOFA v2 feed (ios_data_feed.json or macos_data_feed.json): actively exploited vulnerabilities; repeatable",
  repeatable,
] as const;

export function feedFlags(o: FeedFlagOptions): FeedFlags {
  return {
    ...(o.gdmf !== undefined ? { gdmf: o.gdmf } : {}),
    ...(o.sofa !== undefined ? { sofa: o.sofa } : {}),
    ...(o.aduCatalog !== undefined ? { aduCatalog: o.aduCatalog } : {}),
    ...(o.aduUrl !== undefined ? { aduUrl: o.aduUrl } : {}),
    ...(o.aduInstance !== undefined ? { aduInstance: o.aduInstance } : {}),
    ...(o.aduApi !== undefined ? { aduApi: o.aduApi } : {}),
  };
}
