// Apple OS versions: "17", "17.0", "17.0.1", with an optional supplemental
// (Rapid Security Response / Background Security Improvement) extra: "17.0 (a)".
// Ordering: 17.0 < 17.0 (a) < 17.0 (b) < 17.0.1 < 17.1 < 18.
// Comparison is numeric on parsed fields (it runs on every decision); the
// tests check it against semver's ordering.
import { EnrollgateError } from "../errors.js";

export interface OsVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** The supplemental extra letter ("a" for "(a)"), or null. */
  readonly extra: string | null;
}

export class VersionError extends EnrollgateError<"version-invalid"> {
  override readonly name = "VersionError";

  constructor(message: string) {
    super("version-invalid", message);
  }
}

// Components are 1-4 digits without leading zeros; the extra is one lowercase letter.
const OS_VERSION = /^(0|[1-9]\d{0,3})(?:\.(0|[1-9]\d{0,3}))?(?:\.(0|[1-9]\d{0,3}))?(?: ?\(([a-z])\))?$/;
const EXTRA = /^\(([a-z])\)$/;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return `the number ${value} (write versions as quoted strings, e.g. "${value}")`;
  return `a ${value === null ? "null" : typeof value}`;
}

/** Parses without throwing: exceptions cost more than a decision. */
export function tryParseOsVersion(text: unknown): OsVersion | null {
  if (typeof text !== "string") return null;
  const m = OS_VERSION.exec(text.trim());
  if (!m) return null;
  return {
    major: Number(m[1]),
    minor: Number(m[2] ?? 0),
    patch: Number(m[3] ?? 0),
    extra: m[4] ?? null,
  };
}

/** Parses an OS version, or throws a VersionError saying what is wrong. */
export function parseOsVersion(text: unknown): OsVersion {
  const v = tryParseOsVersion(text);
  if (v !== null) return v;
  if (typeof text !== "string") throw new VersionError(`an OS version must be a string, got ${describe(text)}`);
  throw new VersionError(
    `${describe(text)} is not an Apple OS version (expected MAJOR[.MINOR[.PATCH]] with an optional " (a)" extra, e.g. "17.6.1" or "17.0 (a)")`,
  );
}

/** Joins MachineInfo's OS_VERSION and SUPPLEMENTAL_OS_VERSION_EXTRA ("(a)") into one version. */
export function withSupplementalExtra(version: string, extra: string | undefined | null): OsVersion {
  const base = parseOsVersion(version);
  if (extra === undefined || extra === null || extra.trim() === "") return base;
  const m = EXTRA.exec(extra.trim());
  if (!m) {
    throw new VersionError(`${describe(extra)} is not a supplemental OS version extra (expected "(a)", "(b)", ...)`);
  }
  if (base.extra !== null && base.extra !== m[1]) {
    throw new VersionError(
      `OS version ${describe(version)} already carries extra "(${base.extra})", not ${describe(extra)}`,
    );
  }
  return { ...base, extra: m[1] ?? null };
}

/** Total order over OS versions: -1, 0 or 1. "17", "17.0" and "17.0.0" are equal. */
export function compareOsVersions(a: OsVersion, b: OsVersion): -1 | 0 | 1 {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  // No extra sorts before any extra; extras sort by letter.
  const ea = a.extra ?? "";
  const eb = b.extra ?? "";
  return ea === eb ? 0 : ea < eb ? -1 : 1;
}

/** Compares two version strings; throws VersionError on a malformed one. */
export function compareOsVersionStrings(a: string, b: string): -1 | 0 | 1 {
  return compareOsVersions(parseOsVersion(a), parseOsVersion(b));
}

/** Canonical text: "17.0.1", "17.0 (a)"; a zero patch is dropped, a zero minor kept. */
export function formatOsVersion(v: OsVersion): string {
  const core = v.patch === 0 ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
  return v.extra === null ? core : `${core} (${v.extra})`;
}

/** The version without its supplemental extra. */
export function baseVersion(v: OsVersion): OsVersion {
  return v.extra === null ? v : { ...v, extra: null };
}
