// SECURITY.md stays true: every test it names exists, file and title, as
// written in the test's source. So do the README and the docs pages.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { missingReferences, references, testTitles } from "../helpers/test-references.js";
import { docsPages, projectPath, readProject } from "../helpers/project.js";

const security = readProject("SECURITY.md");
const fromProject = (file: string) => (existsSync(projectPath(file)) ? readFileSync(projectPath(file), "utf8") : null);

describe("SECURITY.md", () => {
  it("names test files and titles that exist, each inside the describes it is named under", () => {
    const found = references(security);
    expect(found.length).toBeGreaterThan(50);
    expect(found.flatMap((r) => r.titles).length).toBeGreaterThan(150);
    expect(missingReferences(security, fromProject)).toEqual([]);
  });

  it("would fail on a title no test has, or a file that does not exist", () => {
    const edited = security
      .replace("*rejects a tampered payload*", "*rejects a payload tampered with twice*")
      .replace("`test/gate/trust-proxy.test.ts` (addresses", "`test/gate/trust-proxies.test.ts` (addresses");
    expect(missingReferences(edited, fromProject)).toEqual([
      "test/apple/machine-info.test.ts › *rejects a payload tampered with twice*: no describe, it or test has this title",
      "test/gate/trust-proxies.test.ts: no such test file",
    ]);
  });
});

describe("README.md and the docs pages", () => {
  it("name test files and titles that exist", () => {
    const pages = ["README.md", ...docsPages()];
    expect(pages.flatMap((page) => references(readProject(page))).length).toBeGreaterThan(5);
    expect(
      pages.flatMap((page) => missingReferences(readProject(page), fromProject).map((m) => `${page}: ${m}`)),
    ).toEqual([]);
  });
});

describe("the reference checker", () => {
  const source = `
    describe("the gate", () => {
      it("refuses a forged signature", () => {});
      it.each([["a header", 1], ["a body", 2]])("refuses %s twice over", () => {});
      describe.each([{ name: "Express 4" }, { name: "Express 5" }])("in $name", () => {
        it(\`logs \${"x"} once\`, () => {});
      });
    });
    const CASES = [["GET"], ["HEAD"]] as const;
    test.each(CASES)("%s with a body is framed", () => {});
    it.each(cases())("%s is read", () => {});
    it.skip('can\\'t be skipped', () => {});
  `;
  const read = (files: Record<string, string>) => (file: string) => files[file] ?? null;
  const check = (markdown: string) => missingReferences(markdown, read({ "test/gate/server.test.ts": source }));

  it("reads each describe, it and test title as written in the source", () => {
    expect(testTitles(source).map((t) => t.title)).toEqual([
      "the gate",
      "refuses a forged signature",
      "refuses %s twice over",
      "in $name",
      "logs \u0000 once",
      "%s with a body is framed",
      "%s is read",
      "can't be skipped",
    ]);
  });

  it("finds titles wrapped across lines, several to a file, with … for a part left out", () => {
    expect(
      check(
        "- `test/gate/server.test.ts` › *the gate* › *refuses a\n  forged signature*; *…forged…*, and *refuses a header\n  twice over*.\n- `test/gate/server.test.ts` › *can't be\n  skipped*",
      ),
    ).toEqual([]);
  });

  it("reports a made-up title, a missing file, and a test named under a describe it is not in", () => {
    expect(
      check("`test/gate/server.test.ts` › *refuses a forged certificate*; `test/gate/client.test.ts` › *anything*"),
    ).toEqual([
      "test/gate/server.test.ts › *refuses a forged certificate*: no describe, it or test has this title",
      "test/gate/client.test.ts: no such test file",
    ]);
    expect(check("`test/gate/server.test.ts` › *in $name* › *refuses a forged signature*")).toEqual([
      "test/gate/server.test.ts › *in $name* › *refuses a forged signature*: no test with this title is inside those describes",
    ]);
  });

  it("keeps the describes of a path for the titles after it, until the next path", () => {
    expect(check("`test/gate/server.test.ts` › *the gate* › *refuses a forged signature*; *can't be skipped*")).toEqual(
      ["test/gate/server.test.ts › *the gate* › *can't be skipped*: no test with this title is inside those describes"],
    );
    expect(
      check("`test/gate/server.test.ts` › *in $name* › *logs…*; *the gate* › *refuses a forged signature*"),
    ).toEqual([]);
  });

  it("names a parameterised test by its template or by a case of its table, never by a case it does not have", () => {
    expect(
      check(
        "`test/gate/server.test.ts` › *refuses %s twice over*, *refuses a body twice over*, *HEAD with a body is framed*, *in Express 5* › *logs…*",
      ),
    ).toEqual([]);
    expect(
      check("`test/gate/server.test.ts` › *refuses a query twice over*; *PUT with a body is framed*; *in Express 6*"),
    ).toEqual([
      "test/gate/server.test.ts › *refuses a query twice over*: no describe, it or test has this title",
      "test/gate/server.test.ts › *PUT with a body is framed*: no describe, it or test has this title",
      "test/gate/server.test.ts › *in Express 6*: no describe, it or test has this title",
    ]);
    // A table the source computes: any case, but only with the title's own words.
    expect(check("`test/gate/server.test.ts` › *a FIFO is read*; *a FIFO is written*")).toEqual([
      "test/gate/server.test.ts › *a FIFO is written*: no describe, it or test has this title",
    ]);
  });

  it("ends a reference at the end of its paragraph, list item or table cell, and sees none in a code span", () => {
    const doc = [
      "- `test/gate/server.test.ts` › *refuses a forged signature*",
      "- *An attacker sends a forged signature*, which is not a test title.",
      "",
      "*Nor is this.*",
      "",
      "| threat | `test/gate/server.test.ts` › *can't be skipped* | *a cell of prose* |",
      "",
      "- `` `test/file.test.ts` › *describe* › *test* ``: the form, in a code span, names nothing.",
    ].join("\n");
    expect(references(doc)).toEqual([
      { file: "test/gate/server.test.ts", titles: [{ title: "refuses a forged signature", within: [] }] },
      { file: "test/gate/server.test.ts", titles: [{ title: "can't be skipped", within: [] }] },
    ]);
    expect(check(doc)).toEqual([]);
  });
});
