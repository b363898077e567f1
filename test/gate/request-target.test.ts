// The request target as the gate reads it for routing and for the upstream:
// origin-form, normalised per RFC 3986, and never something an upstream could
// decode (once, or twice) into a different path.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRequestTarget, upstreamPath } from "enrollgate/gate";

const decodeOnce = (s: string) =>
  s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));

describe("parseRequestTarget", () => {
  it.each([
    ["/", "/", null],
    ["/mdm/enroll?x=1&y", "/mdm/enroll", "x=1&y"],
    ["/a/b/c/./../../g", "/a/g", null],
    ["/mid/content=5/../6", "/mid/6", null],
    ["/a/%7e%41%2d%5F%2E/%c3%A9%3f", "/a/~A-_./%C3%A9%3F", null],
    ["/a/.", "/a/", null],
    ["/a/b/..", "/a/", null],
    ["/a//../b", "/a/b", null],
    ["/a;v=1/b", "/a;v=1/b", null],
    ["/...", "/...", null],
    ["/a?", "/a", ""],
  ])("%s reads as %s", (target, path, query) => {
    expect(parseRequestTarget(target)).toEqual({ ok: true, path, query });
  });

  it.each([
    ["*", "bad-request-target"],
    ["http://x/y", "bad-request-target"],
    ["HTTPS://x/y", "bad-request-target"],
    ["example.com:443", "bad-request-target"],
    ["", "bad-request-target"],
    ["/a b", "bad-request-target"],
    ["/a\\b", "bad-request-target"],
    ["/a%2", "bad-request-target"],
    ["/a%g0", "bad-request-target"],
    ["/..", "bad-path"],
    ["/a/../..", "bad-path"],
    ["/%2E%2E", "bad-path"],
    ["/a%2fb", "bad-path"],
    ["/a%5Cb", "bad-path"],
    ["/a/%252f", "bad-path"],
    ["/.;/a", "bad-path"],
    ["/a/..;x=1/b", "bad-path"],
    ["/%7f", "bad-path"],
  ])("%j is refused as %s", (target, code) => {
    expect(parseRequestTarget(target)).toMatchObject({ ok: false, code });
  });

  it("joins the base and the path, with or without a trailing slash on the base", () => {
    expect(upstreamPath("/base/", { path: "/x", query: "a=1" })).toBe("/base/x?a=1");
    expect(upstreamPath("", { path: "/", query: null })).toBe("/");
  });

  const piece = fc.constantFrom(
    "a",
    "b",
    ".",
    "..",
    "/",
    "%2e",
    "%2E",
    "%2f",
    "%5c",
    "%25",
    "%41",
    "%32",
    "%65",
    ";",
    "~",
    "%7e",
    "x=1",
    "%",
    "2e",
    "%00",
  );
  const path = fc.array(piece, { maxLength: 12 }).map((parts) => `/${parts.join("")}`);

  it("whatever it accepts, an upstream decoding it once or twice finds no dot segment or separator it did not", () => {
    fc.assert(
      fc.property(path, (target) => {
        const read = parseRequestTarget(target);
        if (!read.ok) return;
        expect(read.path.startsWith("/")).toBe(true);
        for (const segment of read.path.slice(1).split("/")) {
          for (const decoded of [decodeOnce(segment), decodeOnce(decodeOnce(segment))]) {
            expect([".", ".."]).not.toContain(decoded.split(";", 1)[0]);
            expect(decoded).not.toMatch(/[/\\]/);
          }
        }
        // Normalising twice changes nothing: the gate and anything after it read one path.
        expect(parseRequestTarget(read.path)).toEqual({ ok: true, path: read.path, query: null });
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws, whatever the target", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (target) => {
        expect(["bad-request-target", "bad-path", undefined]).toContain(
          (parseRequestTarget(target) as { code?: string }).code,
        );
      }),
      { numRuns: 500 },
    );
  });
});
