// `supportedOS` resolution. A key inherits its parent's entry per platform and
// overrides the fields it sets itself (Apple's docs/schema.md). Sentinels:
// `introduced: n/a` never available; `introduced: all` available from the
// first version; `removed: V` gone from V on, so `removed: '0'` means gone
// from every version.
import { SCHEMA_PLATFORMS, type SchemaPlatform } from "../platform.js";
import { compareOsVersions, parseOsVersion, type OsVersion } from "../version.js";
import type { OsSupport, SupportedOS } from "./document.js";

/** The fields that decide availability, per platform. */
export interface Availability {
  readonly introduced?: string;
  readonly removed?: string;
  readonly deprecated?: string;
}

export type EffectiveSupport = Partial<Record<SchemaPlatform, Availability>>;

/** What a conversion targets: one platform at one OS version, one platform, or all. */
export interface Scope {
  readonly platforms: ReadonlyArray<SchemaPlatform>;
  /** Set only when `platforms` has exactly one entry. */
  readonly os: OsVersion | null;
}

const ZERO: OsVersion = { major: 0, minor: 0, patch: 0, extra: null };

function version(text: string | undefined): OsVersion | null {
  if (text === undefined || text === "all") return null;
  if (text === "n/a") return null;
  return parseOsVersion(text);
}

/** The payload's own support: absent `supportedOS` means every platform, every version. */
export function payloadSupport(supported: SupportedOS | undefined): EffectiveSupport {
  if (supported === undefined) {
    return Object.fromEntries(SCHEMA_PLATFORMS.map((p) => [p, {}]));
  }
  const out: EffectiveSupport = {};
  for (const p of SCHEMA_PLATFORMS) {
    const entry = supported[p];
    if (entry !== undefined) out[p] = pick(entry);
  }
  return out;
}

function pick(entry: OsSupport): Availability {
  const out: { introduced?: string; removed?: string; deprecated?: string } = {};
  if (typeof entry.introduced === "string") out.introduced = entry.introduced;
  if (typeof entry.removed === "string") out.removed = entry.removed;
  if (typeof entry.deprecated === "string") out.deprecated = entry.deprecated;
  return out;
}

/** A key's effective support: the parent's, updated field by field with the key's own. */
export function inherit(parent: EffectiveSupport, own: SupportedOS | undefined): EffectiveSupport {
  if (own === undefined) return parent;
  const out: EffectiveSupport = { ...parent };
  for (const p of SCHEMA_PLATFORMS) {
    const mine = own[p];
    const theirs = parent[p];
    // A platform the payload does not list stays unsupported whatever a key says.
    if (mine === undefined || theirs === undefined) continue;
    out[p] = { ...theirs, ...pick(mine) };
  }
  return out;
}

/** Whether an entry is available at `os`, or at some version when `os` is null. */
export function isAvailable(entry: Availability | undefined, os: OsVersion | null): boolean {
  if (entry === undefined || entry.introduced === "n/a") return false;
  const introduced = version(entry.introduced) ?? ZERO;
  const removed =
    entry.removed === undefined || entry.removed === "n/a" || entry.removed === "all"
      ? null
      : parseOsVersion(entry.removed);
  if (os === null) return removed === null || compareOsVersions(introduced, removed) < 0;
  if (compareOsVersions(os, introduced) < 0) return false;
  return removed === null || compareOsVersions(os, removed) < 0;
}

/** Available on at least one platform of the scope. */
export function availableInScope(support: EffectiveSupport, scope: Scope): boolean {
  return scope.platforms.some((p) => isAvailable(support[p], scope.os));
}

/** Deprecated at the scope's OS version (only answerable for one platform at one version). */
export function deprecatedInScope(support: EffectiveSupport, scope: Scope): boolean {
  const [platform] = scope.platforms;
  if (scope.os === null || platform === undefined || scope.platforms.length !== 1) return false;
  const dep = support[platform]?.deprecated;
  if (dep === undefined || dep === "n/a") return false;
  if (dep === "all") return true;
  return compareOsVersions(scope.os, parseOsVersion(dep)) >= 0;
}

/**
 * Whether a key exists on fewer versions than its parent somewhere in the
 * scope. Without a target OS version such a key cannot be required: a device
 * on an older version does not send it.
 */
export function narrowerThanParent(parent: EffectiveSupport, own: EffectiveSupport, scope: Scope): boolean {
  if (scope.os !== null) return false;
  return scope.platforms.some((p) => {
    const a = parent[p];
    const b = own[p];
    return a !== undefined && b !== undefined && (a.introduced !== b.introduced || a.removed !== b.removed);
  });
}

/** Why a payload does not apply to a platform at a version, or null when it does. */
export function inapplicableReason(
  title: string,
  support: EffectiveSupport,
  platformName: string,
  platform: SchemaPlatform,
  os: OsVersion | null,
  osText: string | undefined,
): string | null {
  const entry = support[platform];
  if (entry === undefined) return `${title} is not supported on ${platformName}`;
  if (entry.introduced === "n/a") return `${title} is not available on ${platformName}`;
  if (!isAvailable(entry, null)) return `${title} was removed from every ${platformName} version`;
  if (os === null || isAvailable(entry, os)) return null;
  const introduced = version(entry.introduced);
  if (introduced !== null && compareOsVersions(os, introduced) < 0) {
    return `${title} requires ${platformName} ${entry.introduced} or later, not ${osText ?? ""}`.trim();
  }
  return `${title} was removed in ${platformName} ${entry.removed ?? ""}`.trim();
}
