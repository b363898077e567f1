// Imports point down: Apple's formats know nothing of policies, the gate,
// feeds or the CLI; the policy core nothing of feeds, the gate or the CLI;
// and so on up (as OPA keeps ast / topdown / server, and Cedar its parser /
// validator / authorizer). LAYERING is the rule; docs/development.md
// section shows the same table.
import { describe, expect, it } from "vitest";
import {
  importGraph,
  layerViolations,
  partOf,
  partPath,
  readSources,
  specifiersOf,
  type Layering,
} from "../helpers/import-graph.js";
import { projectPath, readProject } from "../helpers/project.js";

/** Each part of src/ and the parts it may import: a file directly in src/ is `base`, src/index.ts is `index`. */
const LAYERING: Layering = {
  base: ["base"],
  apple: ["apple", "base"],
  policy: ["policy", "apple", "base"],
  feeds: ["feeds", "policy", "apple", "base"],
  report: ["report", "policy", "apple", "base"],
  ddm: ["ddm", "policy", "apple", "base"],
  gate: ["gate", "feeds", "policy", "apple", "base"],
  impact: ["impact", "feeds", "report", "policy", "apple", "base"],
  cli: ["cli", "gate", "impact", "feeds", "ddm", "report", "policy", "apple", "base"],
  index: ["gate", "impact", "feeds", "ddm", "report", "policy", "apple", "base"],
  express: ["express", "gate"],
};

describe("the import graph of src/", () => {
  const sources = readSources(projectPath("src"));

  it("points down: every import is one the layering allows", () => {
    const imports = importGraph(sources);
    expect(imports.length).toBeGreaterThan(300);
    expect(layerViolations(imports, LAYERING).map((v) => v.message)).toEqual([]);
  });

  it("has a rule for every part of src/", () => {
    expect([...new Set(Object.keys(sources).map(partOf))].filter((part) => LAYERING[part] === undefined)).toEqual([]);
  });

  it("is docs/development.md's layering table, row for row", () => {
    const page = readProject("docs", "development.md");
    const table = page.slice(page.indexOf("| part of src/ | may import |"));
    const rows = [...table.slice(0, table.indexOf("\n\n")).matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)].map((m) => [
      m[1],
      [...(m[2] ?? "").matchAll(/`([^`]+)`/g)].map((n) => n[1]),
    ]);
    expect(rows).toEqual(
      Object.entries(LAYERING).map(([part, allowed]) => [
        partPath(part),
        allowed.filter((p) => p !== part).map(partPath),
      ]),
    );
  });
});

describe("the import graph reader", () => {
  it("reads every kind of import: type-only, re-exports, dynamic import(), import() types", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "../b.js";',
      'import "./side-effect.js";',
      'export { c } from "./c.js";',
      'export * from "./d.js";',
      'export type { E } from "./e.js";',
      'const f = await import("./f.js");',
      'let g: typeof import("./g.js") | undefined;',
      'type H = import("./h.js").H;',
      '// import { x } from "./comment.js";',
      "const text = \"import { y } from './string.js'\";",
      "const computed = await import(name);",
    ].join("\n");
    expect(specifiersOf(source)).toEqual([
      "./a.js",
      "../b.js",
      "./side-effect.js",
      "./c.js",
      "./d.js",
      "./e.js",
      "./f.js",
      "./g.js",
      "./h.js",
      "<computed>",
    ]);
  });
});

describe("the layering check", () => {
  const fake = {
    "apple/machine-info.ts":
      'import { factsFromRecord } from "../policy/facts.js";\nimport type { DeviceFacts } from "../policy/model.js";\nimport { parsePlistBytes } from "./plist.js";\nimport { EnrollgateError } from "../errors.js";',
    "apple/schema/banded.ts":
      'import { compareOsVersions } from "../version.js";\nconst { x } = await import("../../gate/log.js");',
    "policy/decide.ts":
      'export { statusOf } from "../gate/rejections.js";\nimport { UsageError } from "../cli/io.js";\nimport { z } from "../apple/version.js";',
    "feeds/gdmf.ts":
      'import type { Logger } from "../gate/log.js";\nimport { parsePolicyDate } from "../policy/dates.js";',
    "report/text.ts": 'let io: typeof import("../cli/io.js");',
    "errors.ts": 'import type { Platform } from "./apple/platform.js";',
    "ddm/declarations.ts": 'import { compile } from "../policy/compile.js";\nimport { x } from "../gate/log.js";',
    "plugins/loader.ts": 'import { compile } from "../policy/compile.js";',
    "cli/main.ts":
      'import { run } from "./program.js";\nimport { startServer } from "../gate/server.js";\nconst m = await import(modulePath);',
    "index.ts": 'export { run } from "./cli/program.js";',
  };

  it("names the importing file, the imported file and the rule for every import that points up", () => {
    expect(layerViolations(importGraph(fake), LAYERING).map((v) => v.message)).toEqual([
      "src/apple/machine-info.ts imports src/policy/facts.ts: src/apple/ may import only src/*.ts",
      "src/apple/machine-info.ts imports src/policy/model.ts: src/apple/ may import only src/*.ts",
      "src/apple/schema/banded.ts imports src/gate/log.ts: src/apple/ may import only src/*.ts",
      "src/policy/decide.ts imports src/gate/rejections.ts: src/policy/ may import only src/apple/, src/*.ts",
      "src/policy/decide.ts imports src/cli/io.ts: src/policy/ may import only src/apple/, src/*.ts",
      "src/feeds/gdmf.ts imports src/gate/log.ts: src/feeds/ may import only src/policy/, src/apple/, src/*.ts",
      "src/report/text.ts imports src/cli/io.ts: src/report/ may import only src/policy/, src/apple/, src/*.ts",
      "src/errors.ts imports src/apple/platform.ts: src/*.ts may import nothing else in src/",
      "src/ddm/declarations.ts imports src/gate/log.ts: src/ddm/ may import only src/policy/, src/apple/, src/*.ts",
      "src/plugins/loader.ts imports src/policy/compile.ts, but src/plugins/ has no rule: add it to the layering table (test/project/import-graph.test.ts and docs/development.md)",
      "src/cli/main.ts imports a module named at run time; name it with a string literal so the layering can be checked",
      "src/index.ts imports src/cli/program.ts: src/index.ts may import only src/gate/, src/impact/, src/feeds/, src/ddm/, src/report/, src/policy/, src/apple/, src/*.ts",
    ]);
  });

  it("refuses an import into a part that has no rule yet, from a part that has one", () => {
    expect(
      layerViolations(importGraph({ "apple/version.ts": 'import { x } from "../ddm/status.js";' }), LAYERING).map(
        (v) => v.message,
      ),
    ).toEqual(["src/apple/version.ts imports src/ddm/status.ts: src/apple/ may import only src/*.ts"]);
  });
});
