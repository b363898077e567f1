// Properties of Apple version and build ordering, over generated values: each
// comparison is a total order (a total preorder for builds, whose hardware
// forks tie) that agrees with its own notion of equality, and OS versions
// without an extra order exactly as semver orders MAJOR.MINOR.PATCH.
import fc from "fast-check";
import semver from "semver";
import { describe, expect, it } from "vitest";
import {
  type Build,
  compareBuilds,
  compareOsVersions,
  formatBuild,
  formatOsVersion,
  parseBuild,
  parseOsVersion,
  tryParseBuild,
  tryParseOsVersion,
} from "enrollgate/apple";

const component = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 9999 }));
const extra = fc.option(fc.constantFrom("a", "b", "c", "z"), { nil: undefined });

/** Version strings as people and devices write them: "17", "17.1", "17.1.2", "17.1 (a)", "17.1(a)". */
const versionText = fc
  .tuple(
    component,
    fc.option(component, { nil: undefined }),
    fc.option(component, { nil: undefined }),
    extra,
    fc.boolean(),
  )
  .map(([major, minor, patch, x, space]) => {
    let text = String(major);
    if (minor !== undefined) text += `.${minor}`;
    if (minor !== undefined && patch !== undefined) text += `.${patch}`;
    if (x !== undefined) text += `${space ? " " : ""}(${x})`;
    return text;
  });
const version = versionText.map((t) => parseOsVersion(t));

/** Build strings: train, letter, 1-7 digits (forks 6xxx-9xxx, seeds 5xxx + letter), optional suffix. */
const buildText = fc
  .tuple(
    fc.integer({ min: 1, max: 999 }),
    fc.constantFrom("A", "B", "C", "E", "F", "G", "Z"),
    fc.oneof(
      fc.integer({ min: 1, max: 999 }),
      fc.integer({ min: 5000, max: 9999 }),
      fc.integer({ min: 1, max: 9_999_999 }),
    ),
    fc.constantFrom("", "a", "b", "f", "v"),
  )
  .map(([train, letter, number, suffix]) => `${train}${letter}${number}${suffix}`);
const build = buildText.map((t) => parseBuild(t));

const runs = { numRuns: 2000 };

/** The laws of a total order (a total preorder when `same` is coarser than identity). */
function orderLaws<T>(
  arb: fc.Arbitrary<T>,
  compare: (a: T, b: T) => -1 | 0 | 1,
  same: (a: T, b: T) => boolean,
  sameMeans: string,
): void {
  it("is antisymmetric and reflexive", () => {
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        expect(compare(a, a)).toBe(0);
        expect(compare(a, b)).toBe(-compare(b, a) || 0);
      }),
      runs,
    );
  });

  it("is transitive", () => {
    fc.assert(
      fc.property(arb, arb, arb, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compare) as [T, T, T];
        expect(compare(x, y)).toBeLessThanOrEqual(0);
        expect(compare(y, z)).toBeLessThanOrEqual(0);
        expect(compare(x, z)).toBeLessThanOrEqual(0);
      }),
      runs,
    );
  });

  it(`calls two values equal exactly when ${sameMeans}`, () => {
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        expect(compare(a, b) === 0).toBe(same(a, b));
      }),
      runs,
    );
  });
}

describe("OS version comparison", () => {
  orderLaws(version, compareOsVersions, (a, b) => formatOsVersion(a) === formatOsVersion(b), "they print the same");

  it("reads back what it prints", () => {
    fc.assert(
      fc.property(version, (v) => {
        expect(parseOsVersion(formatOsVersion(v))).toEqual(v);
      }),
      runs,
    );
  });

  it("orders versions without an extra as semver does", () => {
    const plain = fc.tuple(component, component, component);
    fc.assert(
      fc.property(plain, plain, ([a1, a2, a3], [b1, b2, b3]) => {
        const ours = compareOsVersions(parseOsVersion(`${a1}.${a2}.${a3}`), parseOsVersion(`${b1}.${b2}.${b3}`));
        expect(ours).toBe(semver.compare(`${a1}.${a2}.${a3}`, `${b1}.${b2}.${b3}`));
      }),
      runs,
    );
  });

  it("never throws on any string, and parses only what it can print", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), versionText), (text) => {
        const v = tryParseOsVersion(text);
        if (v !== null) expect(compareOsVersions(parseOsVersion(formatOsVersion(v)), v)).toBe(0);
        else expect(() => parseOsVersion(text)).toThrow(/is not an Apple OS version/);
      }),
      runs,
    );
  });
});

describe("build comparison", () => {
  /** What makes two builds the same release: forks of one base build tie. */
  const identity = (b: Build) => `${b.train}|${b.letter}|${b.kind === "beta"}|${b.base}|${b.suffix}`;

  orderLaws(
    build,
    compareBuilds,
    (a, b) => identity(a) === identity(b),
    "they are one release (a build and its hardware forks)",
  );

  it("ties every fork with its base build, and puts seeds before the release", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 999 }),
        fc.integer({ min: 6, max: 9 }),
        (train, base, fork) => {
          const release = parseBuild(`${train}G${base}`);
          expect(compareBuilds(parseBuild(`${train}G${fork * 1000 + base}`), release)).toBe(0);
          expect(compareBuilds(parseBuild(`${train}G5${String(base).padStart(3, "0")}a`), release)).toBe(-1);
        },
      ),
      runs,
    );
  });

  it("reads back what it prints, and never throws on any string", () => {
    fc.assert(
      fc.property(fc.oneof(buildText, fc.string(), fc.string({ unit: "binary" })), (text) => {
        const b = tryParseBuild(text);
        if (b !== null) expect(parseBuild(formatBuild(b))).toEqual(b);
        else expect(() => parseBuild(text)).toThrow(/is not an Apple build number/);
      }),
      runs,
    );
  });
});
