// The package as users get it: package.json's exports, one index.ts per
// entry in src/, and the build in dist/ agree, with types; the root's exports
// are documented where they are declared; docs/library.md's table of entries names
// every entry; and the tests reach the code only through those entries, in
// the two vitest projects (vitest.config.ts) as its rule says.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RUN_ONCE } from "../../vitest.config.js";
import {
  ENTRIES,
  entriesImportedBy,
  exportsReader,
  MANIFEST,
  projectFiles,
  resolvedTypes,
} from "../helpers/package-entries.js";
import { specifiersOf } from "../helpers/import-graph.js";
import { projectPath, readProject } from "../helpers/project.js";

/** What Node loads for each entry in a user's process: where it resolves, and the names it exports. */
function loadedByNode(): Record<string, { url: string; names: string[] }> {
  const script = `
    const out = {};
    for (const name of ${JSON.stringify(ENTRIES.map((e) => e.name))}) out[name] = { url: import.meta.resolve(name), names: Object.keys(await import(name)).sort() };
    process.stdout.write(JSON.stringify(out));`;
  return JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: projectPath(), encoding: "utf8" }),
  ) as Record<string, { url: string; names: string[] }>;
}

const sorted = (names: Iterable<string>) => [...names].sort();

describe("package.json's exports", () => {
  it("map each entry to its types and code in dist/, built from one index.ts in src/", () => {
    expect(MANIFEST.exports["./package.json"]).toBe("./package.json");
    expect(ENTRIES.map((e) => e.subpath)).toEqual([
      ".",
      "./policy",
      "./apple",
      "./feeds",
      "./ddm",
      "./gate",
      "./report",
      "./cli",
      "./express",
    ]);
    for (const e of ENTRIES) {
      const dir = e.subpath === "." ? "" : `${e.subpath.slice(2)}/`;
      // "types" first: TypeScript takes the first condition that matches.
      expect(MANIFEST.exports[e.subpath], e.name).toEqual({
        types: `./dist/${dir}index.d.ts`,
        import: `./dist/${dir}index.js`,
      });
      expect(Object.keys(MANIFEST.exports[e.subpath] as object), e.name).toEqual(["types", "import"]);
      expect(existsSync(projectPath(e.source)), e.source).toBe(true);
    }
  });

  it("name every index.ts in src/: an index file is an entry", () => {
    const indexes = projectFiles("src", "index.ts").filter((f) => f === "src/index.ts" || f.endsWith("/index.ts"));
    expect(indexes).toEqual(sorted(ENTRIES.map((e) => e.source)));
  });

  it("resolve in the built package, for Node and for TypeScript, to the names the source exports", () => {
    const loaded = loadedByNode();
    const fromSource = exportsReader(ENTRIES.map((e) => projectPath(e.source)));
    const fromTypes = exportsReader(ENTRIES.map((e) => projectPath(e.types)));
    for (const e of ENTRIES) {
      const source = fromSource(projectPath(e.source));
      expect(loaded[e.name]?.url, e.name).toBe(`file://${projectPath(e.import.slice(2))}`);
      expect(loaded[e.name]?.names, `${e.name}: the code in dist/`).toEqual(
        sorted(source.filter((x) => x.value).map((x) => x.name)),
      );
      expect(resolvedTypes(e.name), e.name).toBe(e.types.slice(2));
      expect(sorted(fromTypes(projectPath(e.types)).map((x) => x.name)), `${e.name}: the types in dist/`).toEqual(
        sorted(source.map((x) => x.name)),
      );
    }
  });

  it("export each function, class and constant from one entry only", () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    const read = exportsReader(ENTRIES.map((e) => projectPath(e.source)));
    for (const e of ENTRIES) {
      for (const x of read(projectPath(e.source)).filter((y) => y.value)) {
        const first = seen.get(x.name);
        if (first !== undefined) twice.push(`${x.name}: ${first} and ${e.name}`);
        seen.set(x.name, e.name);
      }
    }
    expect(twice).toEqual([]);
  });
});

describe("the package root", () => {
  const root = ENTRIES.find((e) => e.subpath === ".");
  const exported = root === undefined ? [] : exportsReader([projectPath(root.source)])(projectPath(root.source));

  it("documents each export where it is declared, in src/", () => {
    expect(exported.length).toBeGreaterThan(30);
    expect(
      exported
        .filter((x) => x.doc.trim() === "" || !x.declaredIn.startsWith("src/"))
        .map((x) => `${x.name} (${x.declaredIn})`),
    ).toEqual([]);
  });

  it("gives the main functions an example", () => {
    const main = [
      "enrollmentGate",
      "startServer",
      "loadPolicySet",
      "compile",
      "assertCompiled",
      "decide",
      "runTests",
      "formatReport",
    ];
    expect(main.filter((name) => !exported.find((x) => x.name === name)?.tags.includes("example"))).toEqual([]);
  });
});

describe("docs/library.md's table of entries", () => {
  const page = readProject("docs", "library.md");
  const start = page.indexOf("\n## Package entries\n");
  const library = page.slice(start, page.indexOf("\n## ", start + 1));

  it("names every entry, and only those", () => {
    expect(start).toBeGreaterThan(0);
    const named = sorted(new Set([...library.matchAll(/^\| `(enrollgate(?:\/[a-z]+)?)` \|/gm)].map((m) => m[1] ?? "")));
    expect(named).toEqual(sorted(ENTRIES.map((e) => e.name)));
  });
});

describe("the tests", () => {
  const code = [...projectFiles("test", ".ts"), ...projectFiles("support", ".ts"), ...projectFiles("bench", ".ts")];
  const tests = projectFiles("test", ".test.ts");

  it("reach src/ and dist/ only through the package's entries", () => {
    const byPath = code.flatMap((file) =>
      specifiersOf(readProject(file), file)
        .filter((s) => /^(\.\.?\/)+(src|dist)\//.test(s))
        .map((s) => `${file}: ${s}`),
    );
    expect(byPath).toEqual([]);
  });

  it("run once when they import no entry themselves, and in both projects when they do (RUN_ONCE in vitest.config.ts)", () => {
    expect(RUN_ONCE.filter((f) => !tests.includes(f))).toEqual([]);
    expect(tests.filter((f) => RUN_ONCE.includes(f) !== (entriesImportedBy(f).length === 0))).toEqual([]);
  });
});
