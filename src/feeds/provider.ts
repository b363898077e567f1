// Feeds at the edge: where they come from (flags, else enrollgate.yaml),
// reading snapshot files, pulling live ADU catalogs, and keeping the last
// good data when a source fails on a later refresh.
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import type { AvailabilitySource } from "../policy/availability.js";
import { ALWAYS_AVAILABLE } from "../policy/availability.js";
import type { FeedSettings, Rule } from "../policy/model.js";
import { AduClient, staticToken, type AduApi, type AduClientOptions, type TokenCredential } from "./adu-client.js";
import { parseAduCatalog, pullAduCatalog, type AduCatalog, type AduWant } from "./adu-catalog.js";
import { feedAvailability } from "./availability.js";
import { FeedError, parseGdmf, type GdmfFeed } from "./gdmf.js";

/** Feed flags as the CLI takes them. */
export interface FeedFlags {
  readonly gdmf?: string;
  readonly aduCatalog?: string;
  readonly aduUrl?: string;
  readonly aduInstance?: string;
  readonly aduApi?: AduApi;
}

export type AduSource = { readonly kind: "catalog"; readonly path: string } | { readonly kind: "live"; readonly url: string; readonly instance: string; readonly api: AduApi };

export interface FeedConfig {
  /** Absolute path of a GDMF snapshot. */
  readonly gdmf: string | null;
  readonly adu: AduSource | null;
}

export const NO_FEEDS: FeedConfig = Object.freeze({ gdmf: null, adu: null });

/** Flags win; paths in flags are relative to the working directory, in enrollgate.yaml to the policy directory. */
export function resolveFeedConfig(flags: FeedFlags, settings: FeedSettings | undefined, dir: string, cwd: string): FeedConfig {
  const at = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const gdmf = flags.gdmf !== undefined ? at(cwd, flags.gdmf) : settings?.gdmf !== undefined ? at(dir, settings.gdmf) : null;
  let adu: AduSource | null = null;
  if (flags.aduCatalog !== undefined || flags.aduUrl !== undefined || flags.aduInstance !== undefined) {
    if (flags.aduCatalog !== undefined && flags.aduUrl !== undefined) throw new FeedError("give either --adu-catalog or --adu-url, not both");
    if (flags.aduCatalog !== undefined) adu = { kind: "catalog", path: at(cwd, flags.aduCatalog) };
    else {
      if (flags.aduUrl === undefined || flags.aduInstance === undefined) throw new FeedError("live ADU needs both --adu-url and --adu-instance");
      adu = { kind: "live", url: flags.aduUrl, instance: flags.aduInstance, api: flags.aduApi ?? "2022-10-01" };
    }
  } else if (settings?.adu?.catalog !== undefined) {
    adu = { kind: "catalog", path: at(dir, settings.adu.catalog) };
  } else if (settings?.adu?.url !== undefined && settings.adu.instance !== undefined) {
    adu = { kind: "live", url: settings.adu.url, instance: settings.adu.instance, api: flags.aduApi ?? settings.adu.api ?? "2022-10-01" };
  }
  return { gdmf, adu };
}

/** What the rules want from ADU. */
export function aduWants(rules: ReadonlyArray<Rule>): AduWant[] {
  const seen = new Set<string>();
  const out: AduWant[] = [];
  for (const r of rules) {
    if (r.adu === null) continue;
    const want = { provider: r.adu.provider, name: r.adu.name, version: r.target.kind === "version" ? r.target.text : null };
    const key = JSON.stringify(want);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(want);
    }
  }
  return out;
}

/** ENROLLGATE_ADU_TOKEN, else @azure/identity's DefaultAzureCredential (an optional dependency). */
export async function aduCredential(env: Readonly<Record<string, string | undefined>>): Promise<TokenCredential> {
  const token = env.ENROLLGATE_ADU_TOKEN?.trim();
  if (token !== undefined && token !== "") return staticToken(token);
  let identity: { DefaultAzureCredential: new () => TokenCredential };
  try {
    identity = (await import("@azure/identity")) as unknown as typeof identity;
  } catch {
    throw new FeedError("ADU needs a token: set ENROLLGATE_ADU_TOKEN, or install @azure/identity to use an Azure identity");
  }
  return new identity.DefaultAzureCredential();
}

export interface RefreshResult {
  readonly availability: AvailabilitySource;
  /** Sources that failed this time; their last good data (if any) was kept. */
  readonly problems: ReadonlyArray<string>;
}

export interface FeedProviderOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A credential to use instead of the environment's (tests, embedding). */
  readonly credential?: TokenCredential;
  readonly client?: Partial<AduClientOptions>;
}

/** Holds the last good feed data between refreshes (the server's reloads). */
export class FeedProvider {
  private gdmf: { path: string; feed: GdmfFeed } | null = null;
  private adu: { source: string; catalog: AduCatalog } | null = null;

  constructor(private readonly options: FeedProviderOptions) {}

  /**
   * Reads and pulls the configured feeds. A source that fails with no earlier
   * good data is an error (FeedError); one that fails after a success keeps
   * that data and is reported in `problems`.
   */
  async refresh(config: FeedConfig, rules: ReadonlyArray<Rule>): Promise<RefreshResult> {
    if (config.gdmf === null && config.adu === null) return { availability: ALWAYS_AVAILABLE, problems: [] };
    const problems: string[] = [];
    let gdmf: GdmfFeed | null = null;
    if (config.gdmf !== null) {
      try {
        gdmf = parseGdmf(await readFile(config.gdmf, "utf8"), config.gdmf);
        this.gdmf = { path: config.gdmf, feed: gdmf };
      } catch (e) {
        const message = e instanceof FeedError ? e.message : `cannot read the GDMF snapshot ${config.gdmf}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
        if (this.gdmf?.path !== config.gdmf) throw new FeedError(message);
        problems.push(`${message}; keeping the last good feed`);
        gdmf = this.gdmf.feed;
      }
    }
    let adu: AduCatalog | null = null;
    if (config.adu !== null) {
      const id = config.adu.kind === "catalog" ? config.adu.path : `${config.adu.url}#${config.adu.instance}`;
      const previous = this.adu?.source === id ? this.adu.catalog : null;
      if (config.adu.kind === "catalog") {
        try {
          adu = parseAduCatalog(await readFile(config.adu.path, "utf8"), config.adu.path);
        } catch (e) {
          const message = e instanceof FeedError ? e.message : `cannot read the ADU catalog ${config.adu.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
          if (previous === null) throw new FeedError(message);
          problems.push(`${message}; keeping the last good catalog`);
          adu = previous;
        }
      } else {
        const client = new AduClient({
          baseUrl: config.adu.url,
          instance: config.adu.instance,
          api: config.adu.api,
          credential: this.options.credential ?? (await aduCredential(this.options.env)),
          ...this.options.client,
        });
        const pulled = await pullAduCatalog(client, aduWants(rules), { url: config.adu.url, instance: config.adu.instance, api: config.adu.api }, previous);
        problems.push(...pulled.failures.map((f) => `ADU: ${f}${previous !== null ? "; keeping the last good entries" : ""}`));
        adu = pulled.catalog;
      }
      this.adu = { source: id, catalog: adu };
    }
    return { availability: feedAvailability({ gdmf, adu }), problems };
  }
}
