import { describe, expect, it } from "vitest";
import {
  compareBuildStrings,
  compareOsVersions,
  compareOsVersionStrings,
  formatOsVersion,
  parseBuild,
  parseOsVersion,
  VersionError,
  withSupplementalExtra,
} from "enrollgate/apple";
import semver from "semver";

describe("OS versions", () => {
  it.each([
    ["17", "17.0"],
    ["17.0", "17.0.0"],
    ["17", "17.0.0"],
    ["17.0 (a)", "17.0.0 (a)"],
    ["17.0(a)", "17.0 (a)"],
  ])("%s equals %s", (a, b) => {
    expect(compareOsVersionStrings(a, b)).toBe(0);
    expect(compareOsVersionStrings(b, a)).toBe(0);
  });

  // The chain from DESIGN.md, step 4, plus neighbours.
  const ordered = [
    "9.3.5",
    "10.0",
    "16.7.10",
    "17.0",
    "17.0 (a)",
    "17.0 (b)",
    "17.0.1",
    "17.0.3",
    "17.1",
    "17.10",
    "18",
    "26.0",
    "26.0.1",
  ];
  it.each(ordered.slice(0, -1).map((v, i) => [v, ordered[i + 1] as string]))("%s < %s", (lower, higher) => {
    expect(compareOsVersionStrings(lower, higher)).toBe(-1);
    expect(compareOsVersionStrings(higher, lower)).toBe(1);
  });

  it("orders every pair of the chain consistently", () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(compareOsVersionStrings(ordered[i] as string, ordered[j] as string)).toBe(Math.sign(i - j));
      }
    }
  });

  it("formats canonically", () => {
    expect(formatOsVersion(parseOsVersion("17"))).toBe("17.0");
    expect(formatOsVersion(parseOsVersion("17.6.1"))).toBe("17.6.1");
    expect(formatOsVersion(parseOsVersion("17.0.0(a)"))).toBe("17.0 (a)");
  });

  it("joins OS_VERSION with SUPPLEMENTAL_OS_VERSION_EXTRA", () => {
    const v = withSupplementalExtra("17.0", "(a)");
    expect(formatOsVersion(v)).toBe("17.0 (a)");
    expect(compareOsVersions(v, parseOsVersion("17.0"))).toBe(1);
    expect(formatOsVersion(withSupplementalExtra("17.0", ""))).toBe("17.0");
    expect(formatOsVersion(withSupplementalExtra("17.0", undefined))).toBe("17.0");
    expect(() => withSupplementalExtra("17.0", "a")).toThrow(/not a supplemental OS version extra/);
    expect(() => withSupplementalExtra("17.0 (a)", "(b)")).toThrow(/already carries extra/);
  });

  it.each([
    ["", /is not an Apple OS version/],
    ["17.", /is not an Apple OS version/],
    [".1", /is not an Apple OS version/],
    ["17.1.2.3", /is not an Apple OS version/],
    ["v17", /is not an Apple OS version/],
    ["17.01", /is not an Apple OS version/],
    ["17.x", /is not an Apple OS version/],
    ["17.0 (A)", /is not an Apple OS version/],
    ["17.0 (ab)", /is not an Apple OS version/],
    ["17.0-beta", /is not an Apple OS version/],
    ["99999", /is not an Apple OS version/],
    ["17.0\u0000", /is not an Apple OS version/],
  ])("rejects %j", (text, message) => {
    expect(() => parseOsVersion(text)).toThrow(VersionError);
    expect(() => parseOsVersion(text)).toThrow(message);
  });

  it("never accepts a YAML float such as 17.1", () => {
    expect(() => parseOsVersion(17.1)).toThrow(/must be a string, got the number 17.1 .*"17.1"/);
    expect(() => parseOsVersion(17)).toThrow(VersionError);
    expect(() => parseOsVersion(null)).toThrow(/got a null/);
  });
});

describe("build numbers", () => {
  const ordered = [
    "20A242",
    "20A242a",
    "20A242b",
    "20A300",
    "20B82",
    "21E5184i", // seeds of 17.4 sort before its release
    "21E5212f",
    "21E219",
    "21E236",
    "21F79",
    "21G93",
    "21G101",
    "22A3354",
    "23D771330a", // a background security response after its base
  ];
  it.each(ordered.slice(0, -1).map((b, i) => [b, ordered[i + 1] as string]))("%s < %s", (lower, higher) => {
    expect(compareBuildStrings(lower, higher)).toBe(-1);
    expect(compareBuildStrings(higher, lower)).toBe(1);
  });

  it.each([
    ["21G93", "21G6093"],
    ["22H20", "22H6020"],
    ["21H440", "21H6440"],
    ["23R352", "23R8352"],
  ])("forked builds %s and %s are the same release", (a, b) => {
    expect(compareBuildStrings(a, b)).toBe(0);
    expect(compareBuildStrings(b, a)).toBe(0);
    expect(parseBuild(b).kind).toBe("fork");
  });

  it("orders a fork against other builds by its base", () => {
    expect(compareBuildStrings("21G6093", "21G101")).toBe(-1);
    expect(compareBuildStrings("21G6093", "21G83")).toBe(1);
  });

  it("does not mistake sequential four-digit builds for forks or seeds", () => {
    expect(parseBuild("20G1427").kind).toBe("release");
    expect(parseBuild("22A3354").kind).toBe("release");
    expect(parseBuild("21E5212f").kind).toBe("beta");
    expect(compareBuildStrings("20G1427", "20G1443")).toBe(-1);
  });

  it.each(["", "21", "21G", "g93", "21g93", "21G93A", "21GG93", "021G93", "21G93ab", "21 G93", "21G-93", "1234G93"])(
    "rejects %j",
    (text) => {
      expect(() => parseBuild(text)).toThrow(/is not an Apple build number/);
    },
  );

  it("rejects non-strings", () => {
    expect(() => parseBuild(21)).toThrow(/must be a string, got the number 21/);
  });
});

describe("OS version order against semver", () => {
  // Versions without a supplemental extra order exactly as semver orders
  // MAJOR.MINOR.PATCH; "17" and "17.0" are 17.0.0.
  const versions = [
    "9",
    "10",
    "10.0.1",
    "16.7.10",
    "17",
    "17.0.1",
    "17.0.3",
    "17.1",
    "17.10",
    "17.2",
    "17.2.1",
    "18",
    "26",
    "26.0.1",
    "26.1",
    "100.0.0",
  ];
  const asSemver = (v: string) => {
    const [major = "0", minor = "0", patch = "0"] = v.split(".");
    return `${major}.${minor}.${patch}`;
  };

  it("agrees on every pair", () => {
    for (const a of versions) {
      for (const b of versions) {
        expect([a, b, compareOsVersionStrings(a, b)]).toEqual([a, b, semver.compare(asSemver(a), asSemver(b))]);
      }
    }
  });
});
