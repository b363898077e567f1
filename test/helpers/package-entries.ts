// The package's entries as package.json's `exports` names them, and what each
// exports, read with TypeScript's checker: from the source (src/.../index.ts)
// or from the built declarations (dist/.../index.d.ts).
import { existsSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import ts from "typescript";
import { projectPath, readProject } from "./project.js";
import { specifiersOf } from "./import-graph.js";

export interface Entry {
  /** As users import it: "enrollgate", "enrollgate/apple". */
  readonly name: string;
  /** The key in `exports`: ".", "./apple". */
  readonly subpath: string;
  readonly types: string;
  readonly import: string;
  /** The source it is built from, relative to the project: "src/apple/index.ts". */
  readonly source: string;
}

type Target = string | Readonly<Record<string, string>>;

export const MANIFEST = JSON.parse(readProject("package.json")) as {
  readonly name: string;
  readonly exports: Readonly<Record<string, Target>>;
};

/** Every entry but "./package.json". */
export const ENTRIES: ReadonlyArray<Entry> = Object.entries(MANIFEST.exports)
  .filter(([subpath]) => subpath !== "./package.json")
  .map(([subpath, target]) => {
    const t =
      typeof target === "string"
        ? { types: "", import: target }
        : { types: target.types ?? "", import: target.import ?? "" };
    return {
      name: subpath === "." ? MANIFEST.name : `${MANIFEST.name}/${subpath.slice(2)}`,
      subpath,
      types: t.types,
      import: t.import,
      source: t.import.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"),
    };
  });

/** Whether a module specifier names one of the package's entries. */
export function isEntry(specifier: string): boolean {
  return specifier === MANIFEST.name || specifier.startsWith(`${MANIFEST.name}/`);
}

/** The package entries a file imports itself (not through the modules it imports). */
export function entriesImportedBy(file: string): string[] {
  return specifiersOf(readProject(file), file).filter(isEntry);
}

/** Every file under a project folder whose name ends with `suffix`, relative to the project, with forward slashes. */
export function projectFiles(folder: string, suffix: string): string[] {
  if (!existsSync(projectPath(folder))) return [];
  return (readdirSync(projectPath(folder), { recursive: true }) as string[])
    .filter((f) => f.endsWith(suffix))
    .map((f) =>
      relative(projectPath(), join(projectPath(folder), f))
        .split(sep)
        .join("/"),
    )
    .sort();
}

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ["node"],
};

export interface Exported {
  readonly name: string;
  /** Whether it exists at run time (a function, class or constant), not a type only. */
  readonly value: boolean;
  /** Its doc comment where it is declared. */
  readonly doc: string;
  readonly tags: ReadonlyArray<string>;
  /** Where it is declared, relative to the project. */
  readonly declaredIn: string;
}

/** A program over `files` (absolute), to read their exports. */
export function exportsReader(files: ReadonlyArray<string>): (file: string) => Exported[] {
  const program = ts.createProgram([...files], OPTIONS);
  const checker = program.getTypeChecker();
  return (file) => {
    const source = program.getSourceFile(file);
    const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (module === undefined) throw new Error(`${file} is not a module TypeScript can read`);
    return checker.getExportsOfModule(module).map((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      const declaration = target.declarations?.[0];
      return {
        name: s.name,
        value: (target.flags & ts.SymbolFlags.Value) !== 0,
        doc: ts.displayPartsToString(target.getDocumentationComment(checker)),
        tags: target.getJsDocTags(checker).map((t) => t.name),
        declaredIn:
          declaration === undefined
            ? ""
            : relative(projectPath(), declaration.getSourceFile().fileName).split(sep).join("/"),
      };
    });
  };
}

/** Where TypeScript, compiling a user's code (NodeNext), finds an entry's types; null when it does not. */
export function resolvedTypes(name: string): string | null {
  const resolved = ts.resolveModuleName(name, projectPath("consumer.mts"), OPTIONS, ts.sys).resolvedModule;
  return resolved === undefined ? null : relative(projectPath(), resolved.resolvedFileName).split(sep).join("/");
}
