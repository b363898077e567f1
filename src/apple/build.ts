// Apple build numbers: TRAIN LETTER NUMBER [suffix], e.g. "20A242", "20A242a",
// "21E5212f" (a beta), "21G6093" (a hardware fork of "21G93"), "23D771330a"
// (a background security response).
//
// Apple ships the same release under two builds for different hardware: the
// fork carries a thousands digit of 6-9 in front of the base number (21G93 and
// 21G6093 are both macOS 12.5.1). A device can only ever install its own fork,
// so forks of the same base build compare equal. Builds whose number is
// 5000-5999 and ends in a letter are seeds (betas) and sort before every
// release build of the same train and letter.
import { VersionError } from "./version.js";

export type BuildKind = "release" | "beta" | "fork";

export interface Build {
  readonly train: number;
  readonly letter: string;
  readonly number: number;
  readonly suffix: string;
  readonly kind: BuildKind;
  /** The number that orders builds: a fork's number without its fork digit. */
  readonly base: number;
}

const BUILD = /^([1-9]\d{0,2})([A-Z])(\d{1,7})([a-z]?)$/;

/** Parses a build number, or throws a VersionError saying what is wrong. */
export function parseBuild(text: unknown): Build {
  const b = tryParseBuild(text);
  if (b !== null) return b;
  if (typeof text !== "string") {
    const shown = typeof text === "number" ? `the number ${text}` : `a ${text === null ? "null" : typeof text}`;
    throw new VersionError(`a build number must be a string, got ${shown}`);
  }
  throw new VersionError(
    `${JSON.stringify(text)} is not an Apple build number (expected e.g. "21G93", "20A242a" or "21E5212f")`,
  );
}

/** Parses without throwing: exceptions cost more than a decision. */
export function tryParseBuild(text: unknown): Build | null {
  if (typeof text !== "string") return null;
  const m = BUILD.exec(text.trim());
  if (!m) return null;
  const digits = m[3] ?? "";
  const number = Number(digits);
  const suffix = m[4] ?? "";
  const thousands = digits.length === 4 ? Number(digits[0]) : 0;
  let kind: BuildKind = "release";
  let base = number;
  if (thousands === 5 && suffix !== "") kind = "beta";
  else if (thousands >= 6) {
    kind = "fork";
    base = number % 1000;
  }
  return { train: Number(m[1]), letter: m[2] ?? "", number, suffix, kind, base };
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Total preorder over builds: forks of one base build compare 0. */
export function compareBuilds(a: Build, b: Build): -1 | 0 | 1 {
  if (a.train !== b.train) return sign(a.train - b.train);
  if (a.letter !== b.letter) return a.letter < b.letter ? -1 : 1;
  const betaA = a.kind === "beta" ? 0 : 1;
  const betaB = b.kind === "beta" ? 0 : 1;
  if (betaA !== betaB) return sign(betaA - betaB);
  if (a.base !== b.base) return sign(a.base - b.base);
  if (a.suffix !== b.suffix) return a.suffix < b.suffix ? -1 : 1;
  return 0;
}

/** Compares two build strings; throws VersionError on a malformed one. */
export function compareBuildStrings(a: string, b: string): -1 | 0 | 1 {
  return compareBuilds(parseBuild(a), parseBuild(b));
}

export function formatBuild(b: Build): string {
  return `${b.train}${b.letter}${b.number}${b.suffix}`;
}
