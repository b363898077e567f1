// The ADU updates a policy set references: pulled from ADU (at validate or
// reload time, never per request) or read from a snapshot file, so CI can run
// air-gapped. Each entry is present (with its compatibility), not imported, or
// unknown (ADU could not say).
import { createHash } from "node:crypto";
import { compareOsVersions, tryParseOsVersion } from "../apple/version.js";
import type { AduReference } from "../policy/model.js";
import { AduError, type AduClient, type AduUpdate } from "./adu-client.js";
import { FeedError, isRecord, parseFeedJson } from "./feed-json.js";

export const ADU_CATALOG_FORMAT = "enrollgate-adu-catalog/1";

export interface AduCatalogEntry {
  readonly provider: string;
  readonly name: string;
  readonly version: string;
  readonly status: "present" | "not-imported" | "unknown";
  readonly compatibility: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly etag: string | null;
  /** Why not present. */
  readonly problem?: string;
}

export interface AduCatalog {
  readonly format: typeof ADU_CATALOG_FORMAT;
  readonly source: { readonly url: string; readonly instance: string; readonly api: string } | null;
  readonly capturedAt: string;
  readonly entries: ReadonlyArray<AduCatalogEntry>;
}

/** What the policies need from ADU: an update at a version, or every version (latest targets). */
export interface AduWant {
  readonly provider: string;
  readonly name: string;
  /** null: every version of provider/name. */
  readonly version: string | null;
}

export function catalogRevision(catalog: AduCatalog): string {
  return createHash("sha256").update(JSON.stringify(catalog.entries)).digest("hex").slice(0, 12);
}

export function parseAduCatalog(text: string, source = "ADU catalog"): AduCatalog {
  const json = parseFeedJson(text, source);
  if (!isRecord(json) || json.format !== ADU_CATALOG_FORMAT)
    throw new FeedError(
      `${source} is not an enrollgate ADU catalog (expected "format": "${ADU_CATALOG_FORMAT}"; write one with enrollgate adu pull)`,
    );
  if (!Array.isArray(json.entries)) throw new FeedError(`${source} has no entries list`);
  const entries = json.entries.map((e: unknown, i): AduCatalogEntry => {
    if (!isRecord(e) || typeof e.provider !== "string" || typeof e.name !== "string" || typeof e.version !== "string")
      throw new FeedError(`${source}: entry ${i + 1} needs provider, name and version`);
    const status = e.status === "present" || e.status === "not-imported" || e.status === "unknown" ? e.status : null;
    if (status === null) throw new FeedError(`${source}: entry ${i + 1} has status ${JSON.stringify(e.status)}`);
    const compatibility = Array.isArray(e.compatibility)
      ? e.compatibility
          .filter(isRecord)
          .map((c) =>
            Object.fromEntries(Object.entries(c).filter((x): x is [string, string] => typeof x[1] === "string")),
          )
      : [];
    return {
      provider: e.provider,
      name: e.name,
      version: e.version,
      status,
      compatibility,
      etag: typeof e.etag === "string" ? e.etag : null,
      ...(typeof e.problem === "string" ? { problem: e.problem } : {}),
    };
  });
  const src =
    isRecord(json.source) && typeof json.source.url === "string"
      ? { url: json.source.url, instance: String(json.source.instance ?? ""), api: String(json.source.api ?? "") }
      : null;
  return {
    format: ADU_CATALOG_FORMAT,
    source: src,
    capturedAt: typeof json.capturedAt === "string" ? json.capturedAt : "",
    entries,
  };
}

export function serializeAduCatalog(catalog: AduCatalog): string {
  return `${JSON.stringify(catalog, null, 2)}\n`;
}

function sameUpdate(a: { provider: string; name: string }, b: { provider: string; name: string }): boolean {
  return a.provider === b.provider && a.name === b.name;
}

/** Entries for provider/name at a version ("17.6" finds "17.6.0"), present first. */
export function entriesAt(
  catalog: AduCatalog,
  ref: { provider: string; name: string },
  version: string,
): AduCatalogEntry[] {
  const wanted = tryParseOsVersion(version);
  const same = (text: string) => {
    if (text === version) return true;
    const v = tryParseOsVersion(text);
    return wanted !== null && v !== null && compareOsVersions(v, wanted) === 0;
  };
  return catalog.entries
    .filter((e) => sameUpdate(e, ref) && same(e.version))
    .sort((a, b) => (a.status === "present" ? -1 : 0) - (b.status === "present" ? -1 : 0));
}

export type CompatibilityMatch = "exact" | "case-only" | "none";

function field(entry: Readonly<Record<string, string>>, ...names: string[]): string | undefined {
  for (const n of names) if (entry[n] !== undefined) return entry[n];
  return undefined;
}

/** Whether an update is compatible with a manufacturer and model: exactly, only ignoring case, or not. */
export function compatibility(
  update: Pick<AduCatalogEntry, "compatibility">,
  manufacturer: string,
  models: ReadonlyArray<string>,
  test: (model: string, candidate: string) => boolean = (m, c) => m === c,
): CompatibilityMatch {
  let caseOnly = false;
  for (const c of update.compatibility) {
    const man = field(c, "manufacturer", "deviceManufacturer");
    const model = field(c, "model", "deviceModel");
    if (man === undefined || model === undefined) continue;
    for (const m of models) {
      if (man === manufacturer && test(m, model)) return "exact";
      if (man.toLowerCase() === manufacturer.toLowerCase() && test(m.toLowerCase(), model.toLowerCase()))
        caseOnly = true;
    }
  }
  return caseOnly ? "case-only" : "none";
}

export type AduAnswer = { readonly available: true } | { readonly available: false; readonly reason: string };

/**
 * Whether the rule's ADU update exists at the version and is compatible with the device (PRODUCT or
 * SOFTWARE_UPDATE_DEVICE_ID).
 */
export function aduAvailability(
  catalog: AduCatalog,
  ref: AduReference,
  version: string,
  models: ReadonlyArray<string>,
): AduAnswer {
  const entry = entriesAt(catalog, ref, version)[0];
  const id = `${ref.provider}/${ref.name}/${version}`;
  if (entry === undefined) return { available: false, reason: `ADU update ${id} is not in the catalog` };
  if (entry.status === "not-imported") return { available: false, reason: `ADU update ${id} is not imported` };
  if (entry.status === "unknown")
    return {
      available: false,
      reason: `ADU could not say whether ${id} exists${entry.problem !== undefined ? ` (${entry.problem})` : ""}`,
    };
  const match = compatibility(entry, ref.manufacturer, models);
  if (match === "exact") return { available: true };
  return {
    available: false,
    reason: `ADU update ${id} is not compatible with ${ref.manufacturer} ${models.join(" / ")}${match === "case-only" ? " (a compatibility entry differs only in letter case)" : ""}`,
  };
}

/** The versions the catalog has for provider/name, present ones only. */
export function presentVersions(catalog: AduCatalog, ref: { provider: string; name: string }): string[] {
  return catalog.entries.filter((e) => sameUpdate(e, ref) && e.status === "present").map((e) => e.version);
}

const MAX_VERSIONS_PER_NAME = 200;

/**
 * Pulls what the policies want. An update ADU cannot answer for keeps its
 * entry from `previous` (the last good catalog) or becomes "unknown".
 */
export async function pullAduCatalog(
  client: AduClient,
  wants: ReadonlyArray<AduWant>,
  source: AduCatalog["source"],
  previous: AduCatalog | null,
  now: () => number = Date.now,
): Promise<{ catalog: AduCatalog; failures: string[] }> {
  const failures: string[] = [];
  const entries = new Map<string, AduCatalogEntry>();
  const key = (p: string, n: string, v: string) => JSON.stringify([p, n, v]);
  const last = (p: string, n: string, v: string) =>
    previous?.entries.find((e) => e.provider === p && e.name === n && e.version === v) ?? null;
  const fetchOne = async (provider: string, name: string, version: string) => {
    if (entries.has(key(provider, name, version))) return;
    const before = last(provider, name, version);
    const cached: AduUpdate | null =
      before?.status === "present"
        ? { provider, name, version, compatibility: before.compatibility, etag: before.etag }
        : null;
    try {
      const r = await client.getUpdate(provider, name, version, cached);
      entries.set(
        key(provider, name, version),
        r.ok
          ? { provider, name, version, status: "present", compatibility: r.update.compatibility, etag: r.update.etag }
          : { provider, name, version, status: "not-imported", compatibility: [], etag: null, problem: r.message },
      );
    } catch (e) {
      if (!(e instanceof AduError)) throw e;
      failures.push(e.message);
      entries.set(
        key(provider, name, version),
        before ?? { provider, name, version, status: "unknown", compatibility: [], etag: null, problem: e.message },
      );
    }
  };
  for (const want of wants) {
    if (want.version !== null) {
      await fetchOne(want.provider, want.name, want.version);
      continue;
    }
    let versions: string[];
    try {
      versions = await client.listVersions(want.provider, want.name);
    } catch (e) {
      if (!(e instanceof AduError)) throw e;
      failures.push(e.message);
      for (const old of previous?.entries ?? [])
        if (sameUpdate(old, want)) entries.set(key(old.provider, old.name, old.version), old);
      continue;
    }
    // Newest first, so a cap keeps what `latest` needs.
    versions.sort((a, b) => {
      const va = tryParseOsVersion(a);
      const vb = tryParseOsVersion(b);
      return va !== null && vb !== null ? compareOsVersions(vb, va) : a < b ? 1 : -1;
    });
    for (const v of versions.slice(0, MAX_VERSIONS_PER_NAME)) await fetchOne(want.provider, want.name, v);
  }
  return {
    catalog: {
      format: ADU_CATALOG_FORMAT,
      source,
      capturedAt: new Date(now()).toISOString(),
      entries: [...entries.values()],
    },
    failures,
  };
}
