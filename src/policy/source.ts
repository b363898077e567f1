// Policy YAML with source positions: parse a file, turn it into plain data,
// and point at any path inside it (a key, or its value) as file:line:column.
//
// Two parsers. js-yaml reads a plain, alias-free document about twenty times
// faster than yaml, and most policy files are exactly that; yaml builds the
// positioned AST, only when a finding needs a line and column, and handles
// everything else itself: documents js-yaml rejects, several documents,
// aliases (with yaml's limit on expansion), and documents that are not a
// mapping. Findings and their messages therefore always come from yaml.
import jsyaml from "js-yaml";
import type { Document, LineCounter, Node as YamlNode, Pair } from "yaml";
import { yamlMessage } from "../apple/schema/document.js";
import { yamlLib } from "../lazy-modules.js";
import type { Finding, FindingCode, SourceRange } from "./findings.js";
import { firstTooDeep, MAX_YAML_DEPTH } from "./yaml-depth.js";
import { withYamlHints } from "./yaml-hints.js";

export interface SourceFile {
  /** The path findings show, relative to where the user runs enrollgate. */
  readonly path: string;
  readonly text: string;
}

export type PathSegment = string | number;
export type DataPath = ReadonlyArray<PathSegment>;

/** Policy files larger than this are refused rather than parsed. */
export const MAX_POLICY_FILE_BYTES = 16 * 1024 * 1024;

export interface ParsedSource {
  readonly file: string;
  readonly value: unknown;
  /** Where a path points: its value (default) or, for a mapping entry, its key. */
  locate(path: DataPath, part?: "key" | "value"): SourceRange;
  /** The YAML scalar at a path, when it is one: tells "17.1" from 17.1. */
  scalarAt(path: DataPath): { readonly value: unknown; readonly quoted: boolean; readonly source: string } | null;
}

export function finding(
  at: SourceRange,
  code: FindingCode,
  severity: "error" | "warning",
  message: string,
  rule?: string,
): Finding {
  return { ...at, severity, code, message, ...(rule !== undefined ? { rule } : {}) };
}

function wholeFile(file: string): SourceRange {
  return { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
}

interface Located {
  node: YamlNode | null;
  pair: Pair | null;
}

function step(doc: Document, node: YamlNode | null, segment: PathSegment): Located | null {
  const { isAlias, isMap, isScalar, isSeq } = yamlLib();
  let current: unknown = node;
  if (isAlias(current)) current = current.resolve(doc) ?? null;
  if (isMap(current)) {
    const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    if (pair === undefined) return null;
    return { node: (pair.value as YamlNode | null) ?? null, pair };
  }
  if (isSeq(current) && typeof segment === "number") {
    const item = current.items[segment];
    return item === undefined ? null : { node: item as YamlNode, pair: null };
  }
  return null;
}

interface Ast {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

class Source implements ParsedSource {
  #ast: Ast | null;

  constructor(
    readonly file: string,
    readonly value: unknown,
    ast: Ast | null,
    private readonly text: string,
  ) {
    this.#ast = ast;
  }

  /** The positioned AST, built on first use when the fast parser read the file. */
  private get ast(): Ast {
    if (this.#ast === null) {
      const { LineCounter, parseDocument } = yamlLib();
      const lines = new LineCounter();
      this.#ast = { doc: parseDocument(this.text, { lineCounter: lines, uniqueKeys: true }), lines };
    }
    return this.#ast;
  }

  private range(start: number, end: number): SourceRange {
    const lines = this.ast.lines;
    const a = lines.linePos(start);
    const b = lines.linePos(Math.max(start, end));
    return { file: this.file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }

  private walk(path: DataPath): Located {
    const doc = this.ast.doc;
    let here: Located = { node: doc.contents, pair: null };
    for (const segment of path) {
      const next = step(doc, here.node, segment);
      if (next === null) break; // the deepest node that exists: where a missing key belongs
      here = next;
    }
    return here;
  }

  locate(path: DataPath, part: "key" | "value" = "value"): SourceRange {
    const { isScalar } = yamlLib();
    const { node, pair } = this.walk(path);
    if (part === "key" && pair !== null && isScalar(pair.key) && pair.key.range) {
      return this.range(pair.key.range[0], pair.key.range[1]);
    }
    const target = node ?? (pair !== null && isScalar(pair.key) ? pair.key : null);
    const r = target?.range;
    if (r === undefined || r === null) return wholeFile(this.file);
    return this.range(r[0], r[1]);
  }

  scalarAt(path: DataPath) {
    const { isAlias, isScalar } = yamlLib();
    let { node } = this.walk(path);
    if (isAlias(node)) node = (node.resolve(this.ast.doc) as YamlNode | undefined) ?? null;
    if (!isScalar(node)) return null;
    const quoted =
      node.type === "QUOTE_DOUBLE" ||
      node.type === "QUOTE_SINGLE" ||
      node.type === "BLOCK_FOLDED" ||
      node.type === "BLOCK_LITERAL";
    return { value: node.value, quoted, source: node.source ?? String(node.value) };
  }
}

/** Whether a parsed value reaches any object twice: the mark of YAML aliases. */
function sharesObjects(value: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (seen.has(v)) return true;
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  return false;
}

/** js-yaml's reading of a plain, alias-free mapping; null sends the file to yaml. */
function fastParse(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    // Anything deeper goes to the path that measures it before parsing (js-yaml
    // counts a scalar as a level too, so a few legal documents take that path).
    value = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, maxDepth: MAX_YAML_DEPTH } as jsyaml.LoadOptions);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value) || sharesObjects(value)) return null;
  return value as Record<string, unknown>;
}

/** Parses one policy file; a file that cannot be read as one YAML document yields findings only. */
export function parseSource(file: SourceFile): { source: ParsedSource | null; findings: Finding[] } {
  if (file.text.length > MAX_POLICY_FILE_BYTES) {
    return {
      source: null,
      findings: [
        finding(
          wholeFile(file.path),
          "file-too-large",
          "error",
          `the file is larger than ${MAX_POLICY_FILE_BYTES / 1024 / 1024} MiB`,
        ),
      ],
    };
  }
  const fast = fastParse(file.text);
  if (fast !== null) return { source: new Source(file.path, fast, null, file.text), findings: [] };
  const { LineCounter, parseAllDocuments, visit } = yamlLib();
  const deep = firstTooDeep(file.text);
  if (deep !== null) {
    // Checked before yaml builds a tree: its nodes (and recursion) grow with the depth.
    const before = file.text.slice(0, deep);
    const line = before.split("\n").length;
    const column = deep - before.lastIndexOf("\n");
    const at = { file: file.path, line, column, endLine: line, endColumn: column + 1 };
    return {
      source: null,
      findings: [
        finding(
          at,
          "yaml-too-deep",
          "error",
          `the document nests more than ${MAX_YAML_DEPTH} levels deep here; policy files need a handful`,
        ),
      ],
    };
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(file.text, { lineCounter: lines, uniqueKeys: true });
  const at = (start: number, end: number): SourceRange => {
    const a = lines.linePos(start);
    const b = lines.linePos(Math.max(start, end));
    return { file: file.path, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
  if (!Array.isArray(docs)) {
    // An empty stream: no document at all. Treat as an empty mapping-less file.
    return {
      source: null,
      findings: [finding(wholeFile(file.path), "yaml-syntax", "error", "the file holds no YAML document")],
    };
  }
  const syntax: Finding[] = [];
  for (const doc of docs) {
    for (const e of [...doc.errors, ...doc.warnings]) {
      syntax.push(finding(at(e.pos[0], e.pos[1]), "yaml-syntax", "error", yamlMessage(e.message)));
    }
  }
  const findings = withYamlHints(syntax, file.text);
  const [first, second] = docs;
  if (second !== undefined) {
    const start = second.range[0];
    findings.push(
      finding(
        at(start, start),
        "yaml-multiple-documents",
        "error",
        "a policy file holds one YAML document; remove the '---' separator",
      ),
    );
  }
  if (findings.length > 0 || first === undefined) return { source: null, findings };
  let value: unknown;
  try {
    value = first.toJS();
  } catch (e) {
    if (e instanceof RangeError)
      return {
        source: null,
        findings: [finding(wholeFile(file.path), "yaml-syntax", "error", yamlMessage(e.message))],
      };
    let where = wholeFile(file.path);
    visit(first, {
      Alias(_key, node) {
        if (node.range) where = at(node.range[0], node.range[1]);
        return visit.BREAK;
      },
    });
    return { source: null, findings: [finding(where, "yaml-aliases", "error", (e as Error).message)] };
  }
  return { source: new Source(file.path, value, { doc: first, lines }, file.text), findings: [] };
}
