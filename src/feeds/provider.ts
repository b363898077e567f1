// Feeds at the edge: where they come from (flags, else enrollgate.yaml),
// reading snapshot files, pulling live ADU catalogs, and keeping the last
// good data when a source fails on a later refresh.
import { isAbsolute, resolve } from "node:path";
import type { AvailabilitySource } from "../policy/availability.js";
import { ALWAYS_AVAILABLE } from "../policy/availability.js";
import type { FeedSettings, Rule } from "../policy/model.js";
import { AduClient, staticToken, type AduApi, type AduClientOptions, type TokenCredential } from "./adu-client.js";
import { parseAduCatalog, pullAduCatalog, type AduCatalog, type AduWant } from "./adu-catalog.js";
import { feedAvailability } from "./availability.js";
import { FeedError, parseGdmf, type GdmfFeed } from "./gdmf.js";
import { parseSofa, type SofaFeed } from "./sofa.js";
import { sofaVulnerabilities } from "./vulnerabilities.js";
import type { VulnerabilitySource } from "../policy/vulnerabilities.js";
import { FILE_LIMITS, FileRefusedError, readRegularFile } from "../safe-file.js";

/** Feed flags as the CLI takes them. */
export interface FeedFlags {
  readonly gdmf?: string;
  /** SOFA v2 feed snapshots, one per feed (iOS, macOS). */
  readonly sofa?: ReadonlyArray<string>;
  readonly aduCatalog?: string;
  readonly aduUrl?: string;
  readonly aduInstance?: string;
  readonly aduApi?: AduApi;
}

export type AduSource =
  | { readonly kind: "catalog"; readonly path: string }
  | { readonly kind: "live"; readonly url: string; readonly instance: string; readonly api: AduApi };

export interface FeedConfig {
  /** Absolute path of a GDMF snapshot. */
  readonly gdmf: string | null;
  readonly adu: AduSource | null;
  /** Absolute paths of SOFA snapshots; absent or empty: none. */
  readonly sofa?: ReadonlyArray<string>;
  /**
   * Snapshot paths that enrollgate.yaml named (the policy repository, not the
   * operator) are read only inside these directories: the policy directory
   * and the secrets directories. Absent: the paths are the operator's.
   */
  readonly confine?: {
    readonly gdmf: ReadonlyArray<string> | null;
    readonly aduCatalog: ReadonlyArray<string> | null;
    readonly sofa?: ReadonlyArray<string> | null;
  };
}

export const NO_FEEDS: FeedConfig = Object.freeze({ gdmf: null, adu: null });

/** Flags win; paths in flags are relative to the working directory, in enrollgate.yaml to the policy directory. */
export function resolveFeedConfig(
  flags: FeedFlags,
  settings: FeedSettings | undefined,
  dir: string,
  cwd: string,
  secretsDirs: ReadonlyArray<string> = [],
): FeedConfig {
  const at = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const policyRoots = [dir, ...secretsDirs.map((d) => resolve(cwd, d))];
  const gdmf =
    flags.gdmf !== undefined ? at(cwd, flags.gdmf) : settings?.gdmf !== undefined ? at(dir, settings.gdmf) : null;
  const sofaSettings =
    settings?.sofa === undefined ? [] : typeof settings.sofa === "string" ? [settings.sofa] : settings.sofa;
  const sofaFlags = flags.sofa ?? [];
  const sofa = sofaFlags.length > 0 ? sofaFlags.map((p) => at(cwd, p)) : sofaSettings.map((p) => at(dir, p));
  const confine = {
    gdmf: flags.gdmf === undefined && settings?.gdmf !== undefined ? policyRoots : null,
    sofa: sofaFlags.length === 0 && sofaSettings.length > 0 ? policyRoots : null,
    aduCatalog:
      flags.aduCatalog === undefined &&
      flags.aduUrl === undefined &&
      flags.aduInstance === undefined &&
      settings?.adu?.catalog !== undefined
        ? policyRoots
        : null,
  };
  return { ...resolveAdu(flags, settings, dir, cwd), gdmf, sofa, confine };
}

/**
 * The endpoints a policy may name for live ADU. The gate sends its ADU token
 * (ENROLLGATE_ADU_TOKEN, or its Azure identity's) to that URL, and
 * enrollgate.yaml is the policy repository's, not the operator's: a policy
 * change must not be able to send the server's credential to a host of its
 * choosing (or over plain HTTP). Other endpoints are the operator's to give,
 * with --adu-url.
 */
const AZURE_ADU_ENDPOINT = /^https:\/\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.api\.adu\.microsoft\.com\/?$/i;

function policyAduUrl(url: string): string {
  if (!AZURE_ADU_ENDPOINT.test(url)) {
    throw new FeedError(
      `feeds.adu.url ${JSON.stringify(url)} in enrollgate.yaml is not an Azure Device Update endpoint (https://NAME.api.adu.microsoft.com); the gate sends its ADU token there, so another endpoint must come from the operator (--adu-url)`,
    );
  }
  return url;
}

function resolveAdu(
  flags: FeedFlags,
  settings: FeedSettings | undefined,
  dir: string,
  cwd: string,
): { adu: AduSource | null } {
  const at = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));
  let adu: AduSource | null = null;
  if (flags.aduCatalog !== undefined || flags.aduUrl !== undefined || flags.aduInstance !== undefined) {
    if (flags.aduCatalog !== undefined && flags.aduUrl !== undefined)
      throw new FeedError("give either --adu-catalog or --adu-url, not both");
    if (flags.aduCatalog !== undefined) adu = { kind: "catalog", path: at(cwd, flags.aduCatalog) };
    else {
      if (flags.aduUrl === undefined || flags.aduInstance === undefined)
        throw new FeedError("live ADU needs both --adu-url and --adu-instance");
      adu = { kind: "live", url: flags.aduUrl, instance: flags.aduInstance, api: flags.aduApi ?? "2022-10-01" };
    }
  } else if (settings?.adu?.catalog !== undefined) {
    adu = { kind: "catalog", path: at(dir, settings.adu.catalog) };
  } else if (settings?.adu?.url !== undefined && settings.adu.instance !== undefined) {
    adu = {
      kind: "live",
      url: policyAduUrl(settings.adu.url),
      instance: settings.adu.instance,
      api: flags.aduApi ?? settings.adu.api ?? "2022-10-01",
    };
  }
  return { adu };
}

/** What feeds need to know of a rule: its ADU update and target. */
export type FeedRule = Pick<Rule, "adu" | "target">;

/** What the rules want from ADU. */
export function aduWants(rules: ReadonlyArray<FeedRule>): AduWant[] {
  const seen = new Set<string>();
  const out: AduWant[] = [];
  for (const r of rules) {
    if (r.adu === null) continue;
    const want = {
      provider: r.adu.provider,
      name: r.adu.name,
      version: r.target.kind === "version" ? r.target.text : null,
    };
    const key = JSON.stringify(want);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(want);
    }
  }
  return out;
}

/** The package that gives live ADU an Azure identity: an optional peer dependency, installed by whoever needs it. */
export const AZURE_IDENTITY_PACKAGE = "@azure/identity";

/** Whether `e` says that `name` itself (not something it imports) is not installed. */
function isMissingPackage(e: unknown, name: string): boolean {
  const { code, message } = e as { code?: unknown; message?: unknown };
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    typeof message === "string" &&
    message.includes(`'${name}'`)
  );
}

/**
 * ENROLLGATE_ADU_TOKEN, else @azure/identity's DefaultAzureCredential. The
 * package is an optional peer dependency, loaded only here: installing
 * enrollgate does not install it, and a live ADU pull without a token says
 * which package to install.
 */
export async function aduCredential(env: Readonly<Record<string, string | undefined>>): Promise<TokenCredential> {
  const token = env.ENROLLGATE_ADU_TOKEN?.trim();
  if (token !== undefined && token !== "") return staticToken(token);
  let identity: { DefaultAzureCredential: new () => TokenCredential };
  try {
    identity = await import("@azure/identity");
  } catch (e) {
    if (!isMissingPackage(e, AZURE_IDENTITY_PACKAGE)) {
      throw new FeedError(`cannot load ${AZURE_IDENTITY_PACKAGE} for live ADU: ${(e as Error).message}`);
    }
    throw new FeedError(
      `live ADU needs a token: set ENROLLGATE_ADU_TOKEN, or install the optional package ${AZURE_IDENTITY_PACKAGE} beside enrollgate (npm install ${AZURE_IDENTITY_PACKAGE}; with a global install, npm install --global ${AZURE_IDENTITY_PACKAGE}) to use an Azure identity`,
    );
  }
  return new identity.DefaultAzureCredential();
}

export interface RefreshResult {
  readonly availability: AvailabilitySource;
  /** From the SOFA snapshots; null when none is configured. */
  readonly vulnerabilities: VulnerabilitySource | null;
  /** The data behind `availability`, plain enough to send to another thread. */
  readonly feeds: FeedData;
  /** Sources that failed this time; their last good data (if any) was kept. */
  readonly problems: ReadonlyArray<string>;
}

export interface FeedData {
  readonly gdmf: GdmfFeed | null;
  readonly adu: AduCatalog | null;
  /** SOFA snapshots, read and indexed; absent or empty: none. */
  readonly sofa?: ReadonlyArray<SofaFeed>;
}

/** Whether a feed config names any feed at all. */
export function hasFeeds(config: FeedConfig): boolean {
  return config.gdmf !== null || config.adu !== null || (config.sofa?.length ?? 0) > 0;
}

/** The vulnerability source of a set of SOFA snapshots (null for none). */
export function vulnerabilitiesOf(sofa: ReadonlyArray<SofaFeed> | undefined): VulnerabilitySource | null {
  return sofa === undefined || sofa.length === 0 ? null : sofaVulnerabilities(sofa);
}

type SnapshotKind = "GDMF snapshot" | "ADU catalog" | "SOFA snapshot";

/**
 * Reads a snapshot file: a regular file, size-capped, and inside the policy's
 * directories when enrollgate.yaml named it. A file that is missing or
 * unreadable throws its FileRefusedError; one refused, a FeedError.
 */
async function readSnapshot(path: string, within: ReadonlyArray<string> | null | undefined): Promise<string> {
  try {
    return (
      await readRegularFile(path, {
        maxBytes: FILE_LIMITS.feed,
        ...(within !== null && within !== undefined ? { within } : {}),
      })
    ).toString("utf8");
  } catch (e) {
    if (!(e instanceof FileRefusedError)) throw e;
    if (e.problem === "missing" || e.problem === "unreadable") throw e;
    const message =
      e.problem === "outside"
        ? `it is outside the policy directory and the secrets directories${e.resolved !== null && e.resolved !== path ? ` (it resolves to ${e.resolved})` : ""}, where snapshots enrollgate.yaml names must be`
        : e.problem === "not-regular"
          ? `it is ${e.message}`
          : e.message;
    throw new FeedError(`the snapshot ${path} is refused: ${message}`);
  }
}

/** Why a snapshot could not be used, as the FeedError the refresh reports. */
function snapshotError(e: unknown, kind: SnapshotKind, path: string): FeedError {
  if (e instanceof FeedError) return e;
  const why = e instanceof FileRefusedError ? (e.errno ?? e.message) : (e as Error).message;
  return new FeedError(`cannot read the ${kind} ${path}: ${why}`);
}

/** A snapshot read and parsed elsewhere (the compile worker), or what stopped it, as plain data. */
export type SnapshotRead<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** The snapshots a feed config names, read and parsed. */
export interface SnapshotReads {
  readonly gdmf?: SnapshotRead<GdmfFeed>;
  readonly adu?: SnapshotRead<AduCatalog>;
  /** One per path of config.sofa, in order. */
  readonly sofa?: ReadonlyArray<SnapshotRead<SofaFeed>>;
}

async function settle<T>(read: () => Promise<T>, kind: SnapshotKind, path: string): Promise<SnapshotRead<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (e) {
    return { ok: false, message: snapshotError(e, kind, path).message };
  }
}

/**
 * Reads and parses the snapshot files a feed config names. The server runs
 * this in the compile worker: a snapshot is a file in the policy directory
 * (enrollgate.yaml names it), so it is read and parsed off the serving
 * thread, under the worker's heap and time limits, and only the parsed feed
 * comes back.
 */
export async function readSnapshots(config: FeedConfig): Promise<SnapshotReads> {
  const gdmf = config.gdmf;
  const adu = config.adu;
  return {
    ...(gdmf !== null
      ? {
          gdmf: await settle(
            async () => parseGdmf(await readSnapshot(gdmf, config.confine?.gdmf), gdmf),
            "GDMF snapshot",
            gdmf,
          ),
        }
      : {}),
    ...(adu !== null && adu.kind === "catalog"
      ? {
          adu: await settle(
            async () => parseAduCatalog(await readSnapshot(adu.path, config.confine?.aduCatalog), adu.path),
            "ADU catalog",
            adu.path,
          ),
        }
      : {}),
    ...((config.sofa?.length ?? 0) > 0
      ? {
          sofa: await Promise.all(
            (config.sofa ?? []).map((path) =>
              settle(
                async () => parseSofa(await readSnapshot(path, config.confine?.sofa), path),
                "SOFA snapshot",
                path,
              ),
            ),
          ),
        }
      : {}),
  };
}

function unwrap<T>(read: SnapshotRead<T> | undefined, path: string): T {
  if (read === undefined) throw new FeedError(`the snapshot ${path} was not read`);
  if (read.ok) return read.value;
  throw new FeedError(read.message);
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
  /** The last good read of each SOFA snapshot, by path. */
  private sofa = new Map<string, SofaFeed>();

  constructor(private readonly options: FeedProviderOptions) {}

  /**
   * Reads and pulls the configured feeds. A source that fails with no earlier
   * good data is an error (FeedError); one that fails after a success keeps
   * that data and is reported in `problems`. With `snapshots` (read by the
   * compile worker), snapshot files are not read here.
   */
  async refresh(config: FeedConfig, rules: ReadonlyArray<FeedRule>, snapshots?: SnapshotReads): Promise<RefreshResult> {
    if (!hasFeeds(config))
      return { availability: ALWAYS_AVAILABLE, vulnerabilities: null, feeds: { gdmf: null, adu: null }, problems: [] };
    const problems: string[] = [];
    let gdmf: GdmfFeed | null = null;
    if (config.gdmf !== null) {
      try {
        gdmf =
          snapshots !== undefined
            ? unwrap(snapshots.gdmf, config.gdmf)
            : parseGdmf(await readSnapshot(config.gdmf, config.confine?.gdmf), config.gdmf);
        this.gdmf = { path: config.gdmf, feed: gdmf };
      } catch (e) {
        const message = snapshotError(e, "GDMF snapshot", config.gdmf).message;
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
          adu =
            snapshots !== undefined
              ? unwrap(snapshots.adu, config.adu.path)
              : parseAduCatalog(await readSnapshot(config.adu.path, config.confine?.aduCatalog), config.adu.path);
        } catch (e) {
          const message = snapshotError(e, "ADU catalog", config.adu.path).message;
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
        const pulled = await pullAduCatalog(
          client,
          aduWants(rules),
          { url: config.adu.url, instance: config.adu.instance, api: config.adu.api },
          previous,
        );
        problems.push(
          ...pulled.failures.map((f) => `ADU: ${f}${previous !== null ? "; keeping the last good entries" : ""}`),
        );
        adu = pulled.catalog;
      }
      this.adu = { source: id, catalog: adu };
    }
    const sofa = await this.refreshSofa(config, snapshots, problems);
    return {
      availability: feedAvailability({ gdmf, adu }),
      vulnerabilities: vulnerabilitiesOf(sofa),
      feeds: { gdmf, adu, ...(sofa.length > 0 ? { sofa } : {}) },
      problems,
    };
  }

  /** Each SOFA snapshot, or its last good read (with a problem), or an error when it never read. */
  private async refreshSofa(
    config: FeedConfig,
    snapshots: SnapshotReads | undefined,
    problems: string[],
  ): Promise<SofaFeed[]> {
    const paths = config.sofa ?? [];
    const out: SofaFeed[] = [];
    for (const [i, path] of paths.entries()) {
      try {
        const feed =
          snapshots !== undefined
            ? unwrap(snapshots.sofa?.[i], path)
            : parseSofa(await readSnapshot(path, config.confine?.sofa), path);
        this.sofa.set(path, feed);
        out.push(feed);
      } catch (e) {
        const message = snapshotError(e, "SOFA snapshot", path).message;
        const previous = this.sofa.get(path);
        if (previous === undefined) throw new FeedError(message);
        problems.push(`${message}; keeping the last good snapshot`);
        out.push(previous);
      }
    }
    // Snapshots no longer configured are forgotten.
    for (const path of [...this.sofa.keys()]) if (!paths.includes(path)) this.sofa.delete(path);
    return out;
  }
}
