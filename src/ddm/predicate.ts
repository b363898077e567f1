// Activation predicates as data: one tree, written out in Apple's predicate
// format (NSPredicate, with `@status(item)` for status items) for the device
// to evaluate, and evaluated here against a device's status values for
// `ddm declarations --device` and for judging status reports, so the two
// cannot disagree.
import { tryParseBuild, compareBuilds, type Build } from "../apple/build.js";
import type { DdmStatusItem } from "../apple/ddm.js";
import { compareOsVersions, formatOsVersion, type OsVersion } from "../apple/version.js";
import { formatBuild } from "../apple/build.js";
import { compileGlob } from "../policy/glob.js";
import {
  buildBelowPattern,
  extraFromPattern,
  extraPattern,
  versionBelowPattern,
  versionEqualPattern,
} from "./patterns.js";

export type Predicate =
  | { readonly op: "all"; readonly of: ReadonlyArray<Predicate> }
  | { readonly op: "any"; readonly of: ReadonlyArray<Predicate> }
  | { readonly op: "not"; readonly of: Predicate }
  /** The item equals a string. */
  | { readonly op: "is"; readonly item: DdmStatusItem; readonly value: string }
  | { readonly op: "in"; readonly item: DdmStatusItem; readonly values: ReadonlyArray<string> }
  /** A model glob: `*` any run of characters, `?` one. */
  | { readonly op: "like"; readonly item: DdmStatusItem; readonly glob: string }
  /** An OS version string below a version (its extra aside). */
  | { readonly op: "version-below"; readonly item: DdmStatusItem; readonly version: OsVersion }
  | { readonly op: "version-is"; readonly item: DdmStatusItem; readonly version: OsVersion }
  /** A supplemental extra from a letter on ("a" or "(a)"). */
  | { readonly op: "extra-from"; readonly item: DdmStatusItem; readonly letter: string }
  | { readonly op: "extra-is"; readonly item: DdmStatusItem; readonly letter: string }
  | { readonly op: "build-below"; readonly item: DdmStatusItem; readonly build: Build };

/** A device's status values by item; absent items are undefined (NSPredicate's nil). */
export type StatusLookup = (item: DdmStatusItem) => unknown;

export const all = (...of: Predicate[]): Predicate => ({ op: "all", of });
export const any = (...of: Predicate[]): Predicate => ({ op: "any", of });
export const not = (of: Predicate): Predicate => ({ op: "not", of });

/** A string literal in Apple's predicate format: double quotes, with backslash and quote escaped. */
export function literal(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A glob as a LIKE pattern: `*` and `?` are LIKE's wildcards too; a backslash, LIKE's escape, is escaped. */
function likePattern(glob: string): string {
  return glob.replace(/\\/g, "\\\\");
}

function status(item: DdmStatusItem): string {
  return `@status(${item})`;
}

function matches(item: DdmStatusItem, pattern: string): string {
  return `${status(item)} MATCHES ${literal(pattern)}`;
}

/** The predicate in Apple's format (NSPredicate), for an activation's `Predicate`. */
export function renderPredicate(p: Predicate): string {
  switch (p.op) {
    case "all":
      return p.of.length === 0 ? "TRUEPREDICATE" : p.of.map((x) => wrap(x, "all")).join(" AND ");
    case "any":
      return p.of.length === 0 ? "FALSEPREDICATE" : p.of.map((x) => wrap(x, "any")).join(" OR ");
    case "not":
      return `NOT (${renderPredicate(p.of)})`;
    case "is":
      return `${status(p.item)} == ${literal(p.value)}`;
    case "in":
      return `${status(p.item)} IN {${p.values.map(literal).join(", ")}}`;
    case "like":
      return `${status(p.item)} LIKE ${literal(likePattern(p.glob))}`;
    case "version-below":
      return matches(p.item, versionBelowPattern(p.version));
    case "version-is":
      return matches(p.item, versionEqualPattern(p.version));
    case "extra-from":
      return matches(p.item, extraFromPattern(p.letter));
    case "extra-is":
      return matches(p.item, extraPattern(p.letter));
    case "build-below":
      return matches(p.item, buildBelowPattern(p.build));
  }
}

/** Compounds inside compounds get parentheses; so does anything under a different connective. */
function wrap(p: Predicate, parent: "all" | "any"): string {
  const text = renderPredicate(p);
  return (p.op === "all" || p.op === "any") && p.op !== parent && p.of.length > 1 ? `(${text})` : text;
}

// The strings devices report, as the patterns read them.
const VERSION_TEXT = /^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?$/;
const BUILD_TEXT = /^[1-9]\d{0,2}[A-Z][1-9]\d{0,6}[a-z]?$/;
const EXTRA_TEXT = /^\(?([a-z])\)?$/;

function versionOf(value: unknown): OsVersion | null {
  if (typeof value !== "string") return null;
  const m = VERSION_TEXT.exec(value);
  if (m === null) return null;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), extra: null };
}

function buildOf(value: unknown): Build | null {
  return typeof value === "string" && BUILD_TEXT.test(value) ? tryParseBuild(value) : null;
}

function extraOf(value: unknown): string | null {
  return typeof value === "string" ? (EXTRA_TEXT.exec(value)?.[1] ?? null) : null;
}

const globs = new Map<string, ReturnType<typeof compileGlob>>();

/** Whether a device with these status values satisfies the predicate. */
export function evaluatePredicate(p: Predicate, values: StatusLookup): boolean {
  switch (p.op) {
    case "all":
      return p.of.every((x) => evaluatePredicate(x, values));
    case "any":
      return p.of.some((x) => evaluatePredicate(x, values));
    case "not":
      return !evaluatePredicate(p.of, values);
    case "is":
      return values(p.item) === p.value;
    case "in": {
      const v = values(p.item);
      return typeof v === "string" && p.values.includes(v);
    }
    case "like": {
      const v = values(p.item);
      if (typeof v !== "string") return false;
      let g = globs.get(p.glob);
      if (g === undefined) {
        g = compileGlob(p.glob);
        globs.set(p.glob, g);
      }
      return g.test(v);
    }
    case "version-below": {
      const v = versionOf(values(p.item));
      return v !== null && compareOsVersions(v, { ...p.version, extra: null }) < 0;
    }
    case "version-is": {
      const v = versionOf(values(p.item));
      return v !== null && compareOsVersions(v, { ...p.version, extra: null }) === 0;
    }
    case "extra-from": {
      const e = extraOf(values(p.item));
      return e !== null && e >= p.letter;
    }
    case "extra-is":
      return extraOf(values(p.item)) === p.letter;
    case "build-below": {
      const b = buildOf(values(p.item));
      return b !== null && compareBuilds(b, p.build) < 0;
    }
  }
}

/** A short description of a version or build condition, for explanations. */
export function describeTarget(version: OsVersion, build: Build | null): string {
  return build === null ? formatOsVersion(version) : `${formatOsVersion(version)} (${formatBuild(build)})`;
}
