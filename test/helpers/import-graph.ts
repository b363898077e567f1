// The import graph of src/, read with TypeScript's own parser, and the
// layering it must keep: each part of src/ may import only the parts its
// rule lists. A file directly in src/ is part `base` (small leaves every
// layer shares), except src/index.ts, the package root.
import { readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import ts from "typescript";

export interface Import {
  /** The importing file, relative to the root ("apple/machine-info.ts"). */
  readonly from: string;
  /** The imported file, relative to the root, as a .ts file. */
  readonly to: string;
}

/** Part → the parts it may import (itself included when it may). */
export type Layering = Readonly<Record<string, ReadonlyArray<string>>>;

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly message: string;
}

/**
 * Every module specifier in a TypeScript source: import and export-from
 * declarations (`import type` included), dynamic `import()` calls, and
 * `import("...")` types.
 */
export function specifiersOf(source: string, fileName = "module.ts"): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      // A specifier computed at run time cannot be checked here: it is refused.
      out.push(arg !== undefined && ts.isStringLiteralLike(arg) ? arg.text : "<computed>");
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push(node.argument.literal.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      out.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** The imports between the files of `sources`, keyed by their path relative to src/ ("gate/server.ts"). */
export function importGraph(sources: Readonly<Record<string, string>>): Import[] {
  const out: Import[] = [];
  for (const [from, source] of Object.entries(sources)) {
    for (const specifier of specifiersOf(source, from)) {
      if (specifier === "<computed>") {
        out.push({ from, to: specifier });
        continue;
      }
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue; // a package or node: builtin
      const to = posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, ".ts");
      out.push({ from, to });
    }
  }
  return out;
}

/** Every .ts file under `root`, keyed by its path relative to it with / separators. */
export function readSources(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) out[relative(root, path).split(sep).join("/")] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return out;
}

/** The part a file belongs to: its top folder, `base` for a file directly under the root, `index` for index.ts. */
export function partOf(file: string): string {
  if (file === "index.ts") return "index";
  const slash = file.indexOf("/");
  return slash === -1 ? "base" : file.slice(0, slash);
}

export const partPath = (part: string): string =>
  part === "base" ? "src/*.ts" : part === "index" ? "src/index.ts" : `src/${part}/`;

/** The imports the layering does not allow, each with a message naming both files and the rule. */
export function layerViolations(imports: ReadonlyArray<Import>, layering: Layering): Violation[] {
  const out: Violation[] = [];
  for (const { from, to } of imports) {
    const source = partOf(from);
    const allowed = layering[source];
    const fromFile = `src/${from}`;
    if (to === "<computed>") {
      out.push({
        from,
        to,
        message: `${fromFile} imports a module named at run time; name it with a string literal so the layering can be checked`,
      });
      continue;
    }
    const target = to.startsWith("../") ? null : partOf(to);
    const toFile = to.startsWith("../") ? to.replace(/^\.\.\//, "") : `src/${to}`;
    if (allowed === undefined) {
      out.push({
        from,
        to,
        message: `${fromFile} imports ${toFile}, but ${partPath(source)} has no rule: add it to the layering table (test/project/import-graph.test.ts and docs/development.md)`,
      });
    } else if (target === null) {
      out.push({ from, to, message: `${fromFile} imports ${toFile}, outside src/` });
    } else if (!allowed.includes(target)) {
      const others = allowed.filter((p) => p !== source);
      out.push({
        from,
        to,
        message: `${fromFile} imports ${toFile}: ${partPath(source)} may import ${others.length === 0 ? "nothing else in src/" : `only ${others.map(partPath).join(", ")}`}`,
      });
    }
  }
  return out;
}
