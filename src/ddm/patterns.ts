// Regular expressions (ICU, as NSPredicate's MATCHES reads them) for "an OS
// version below V", "equal to V" and "a build below B", in the order
// src/apple/version.ts and build.ts define. Predicates cannot compare
// versions any other way: `<` on strings puts "26.10" before "26.9".
// Only `[...]`, `(?:...)`, `|` and counted repeats are used, so the patterns
// mean the same in ICU and in JavaScript, and hold no backslash to escape in
// a predicate's string literal.
import type { Build } from "../apple/build.js";
import type { OsVersion } from "../apple/version.js";

/** A decimal component without leading zeros, as devices report them. */
const NUMBER = "(?:0|[1-9][0-9]*)";
const DOT = "[.]";

function alternatives(parts: ReadonlyArray<string>): string | null {
  if (parts.length === 0) return null;
  return parts.length === 1 ? (parts[0] as string) : `(?:${parts.join("|")})`;
}

function digitRange(lo: number, hi: number): string {
  return lo === hi ? String(lo) : `[${lo}-${hi}]`;
}

/**
 * Strings of exactly `digits.length` digits (leading zeros allowed unless `noLeadingZero`) whose value is below
 * `digits`.
 */
function fixedWidthBelow(digits: string, noLeadingZero: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    const lo = i === 0 && noLeadingZero && digits.length > 1 ? 1 : 0;
    if (d - 1 < lo) continue;
    const rest = digits.length - i - 1;
    out.push(`${digits.slice(0, i)}${digitRange(lo, d - 1)}${rest > 0 ? `[0-9]{${rest}}` : ""}`);
  }
  return out;
}

/** Decimal numbers without leading zeros, at least `min` (0 or 1), below `n`. */
function numbersBelow(n: number, min: 0 | 1): string[] {
  if (n <= min) return [];
  const s = String(n);
  const out: string[] = [];
  for (let length = 1; length < s.length; length++) {
    out.push(length === 1 ? digitRange(min, 9) : `[1-9][0-9]{${length - 1}}`);
  }
  if (s.length === 1) out.push(digitRange(min, n - 1));
  else out.push(...fixedWidthBelow(s, true));
  return out;
}

function components(v: OsVersion): [number, number, number] {
  return [v.major, v.minor, v.patch];
}

/**
 * OS version strings ("26", "26.5", "26.5.1": one to three components, no
 * leading zeros) below `v`, its supplemental extra aside.
 */
export function versionBelowPattern(v: OsVersion): string {
  const target = components(v);
  const parts: string[] = [];
  // Equal in the first `i` components, then one lower (or the string ends while what remains of `v` is not zero).
  for (let i = 0; i < 3; i++) {
    const prefix = target
      .slice(0, i)
      .map((c) => String(c))
      .join(DOT);
    const sep = i === 0 ? "" : DOT;
    const lower = alternatives(numbersBelow(target[i] as number, 0));
    const left = 3 - i - 1;
    if (lower !== null) parts.push(`${prefix}${sep}${lower}${left > 0 ? `(?:${DOT}${NUMBER}){0,${left}}` : ""}`);
    if (i > 0 && target.slice(i).some((c) => c > 0)) parts.push(prefix);
  }
  return alternatives(parts) ?? "(?!)";
}

/** OS version strings equal to `v` (its extra aside): "26", "26.0" and "26.0.0" are one version. */
export function versionEqualPattern(v: OsVersion): string {
  const target = components(v);
  const parts: string[] = [];
  for (let length = 1; length <= 3; length++) {
    if (target.slice(length).some((c) => c > 0)) continue;
    parts.push(
      target
        .slice(0, length)
        .map((c) => String(c))
        .join(DOT),
    );
  }
  return alternatives(parts) as string;
}

/**
 * A supplemental extra letter from `letter` on, as "a" or "(a)" (the status item's examples differ from
 * MachineInfo's).
 */
export function extraFromPattern(letter: string): string {
  return `[(]?${letter === "z" ? "z" : `[${letter}-z]`}[)]?`;
}

/** Exactly the extra `letter`, as "a" or "(a)". */
export function extraPattern(letter: string): string {
  return `[(]?${letter}[)]?`;
}

const ANY_NUMBER = "[1-9][0-9]{0,6}";
const SUFFIX = "[a-z]?";

function lettersBelow(letter: string): string | null {
  if (letter <= "a") return null;
  const prev = String.fromCharCode(letter.charCodeAt(0) - 1);
  return prev === "a" ? "a" : `[a-${prev}]`;
}

/**
 * Build strings (TRAIN LETTER NUMBER [suffix], no leading zeros) below `b`,
 * in compareBuilds' order: seeds before releases of their train and letter,
 * forks of one base build equal to it.
 */
export function buildBelowPattern(b: Build): string {
  const parts: string[] = [];
  const trains = alternatives(numbersBelow(b.train, 1));
  if (trains !== null) parts.push(`${trains}[A-Z]${ANY_NUMBER}${SUFFIX}`);
  if (b.letter > "A") {
    const prev = String.fromCharCode(b.letter.charCodeAt(0) - 1);
    parts.push(`${b.train}${prev === "A" ? "A" : `[A-${prev}]`}${ANY_NUMBER}${SUFFIX}`);
  }
  const same = `${b.train}${b.letter}`;
  const below: string[] = [];
  const suffixBelow = b.suffix === "" ? null : lettersBelow(b.suffix);
  if (b.kind === "beta") {
    // Only earlier seeds of the same train and letter: 5000 to the seed's number, or the same number earlier.
    const lower = fixedWidthBelow(String(b.number - 5000).padStart(3, "0"), false);
    for (const l of lower) below.push(`5${l}[a-z]`);
    if (suffixBelow !== null) below.push(`${b.number}${suffixBelow}`);
  } else {
    below.push("5[0-9]{3}[a-z]"); // every seed
    for (const n of numbersBelow(b.base, 1)) below.push(`${n}${SUFFIX}`);
    // Forks carry their base in the last three digits.
    if (b.base >= 1000) below.push(`[6-9][0-9]{3}${SUFFIX}`);
    else for (const l of fixedWidthBelow(String(b.base).padStart(3, "0"), false)) below.push(`[6-9]${l}${SUFFIX}`);
    // The same base build with an earlier suffix (or none), released or forked.
    if (b.suffix !== "") {
      const earlier = suffixBelow === null ? "" : `${suffixBelow}?`;
      below.push(`${b.base}${earlier}`);
      if (b.base < 1000) below.push(`[6-9]${String(b.base).padStart(3, "0")}${earlier}`);
    }
  }
  const rest = alternatives(below);
  if (rest !== null) parts.push(`${same}${rest}`);
  return alternatives(parts) ?? "(?!)";
}
