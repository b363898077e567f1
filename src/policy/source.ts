// Policy YAML with source positions: parse a file, turn it into plain data,
// and point at any path inside it (a key, or its value) as file:line:column.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Document,
  type Node as YamlNode,
  type Pair,
} from "yaml";
import { yamlMessage } from "../apple/schema/document.js";
import type { Finding, FindingCode, SourceRange } from "./findings.js";

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

class Source implements ParsedSource {
  constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  private range(start: number, end: number): SourceRange {
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end));
    return { file: this.file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }

  private walk(path: DataPath): Located {
    let here: Located = { node: this.doc.contents as YamlNode | null, pair: null };
    for (const segment of path) {
      const next = step(this.doc, here.node, segment);
      if (next === null) break; // the deepest node that exists: where a missing key belongs
      here = next;
    }
    return here;
  }

  locate(path: DataPath, part: "key" | "value" = "value"): SourceRange {
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
    let { node } = this.walk(path);
    if (isAlias(node)) node = (node.resolve(this.doc) as YamlNode | undefined) ?? null;
    if (!isScalar(node)) return null;
    const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" || node.type === "BLOCK_FOLDED" || node.type === "BLOCK_LITERAL";
    return { value: node.value, quoted, source: node.source ?? String(node.value) };
  }
}

/** Parses one policy file; a file that cannot be read as one YAML document yields findings only. */
export function parseSource(file: SourceFile): { source: ParsedSource | null; findings: Finding[] } {
  if (file.text.length > MAX_POLICY_FILE_BYTES) {
    return {
      source: null,
      findings: [finding(wholeFile(file.path), "file-too-large", "error", `the file is larger than ${MAX_POLICY_FILE_BYTES / 1024 / 1024} MiB`)],
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
    return { source: null, findings: [finding(wholeFile(file.path), "yaml-syntax", "error", "the file holds no YAML document")] };
  }
  const findings: Finding[] = [];
  for (const doc of docs) {
    for (const e of [...doc.errors, ...doc.warnings]) {
      findings.push(finding(at(e.pos[0], e.pos[1]), "yaml-syntax", "error", yamlMessage(e.message)));
    }
  }
  const [first, second] = docs;
  if (second !== undefined) {
    const start = second.range[0];
    findings.push(finding(at(start, start), "yaml-multiple-documents", "error", "a policy file holds one YAML document; remove the '---' separator"));
  }
  if (findings.length > 0 || first === undefined) return { source: null, findings };
  let value: unknown;
  try {
    value = first.toJS();
  } catch (e) {
    let where = wholeFile(file.path);
    visit(first, {
      Alias(_key, node) {
        if (node.range) where = at(node.range[0], node.range[1]);
        return visit.BREAK;
      },
    });
    return { source: null, findings: [finding(where, "yaml-aliases", "error", (e as Error).message)] };
  }
  return { source: new Source(file.path, value, first, lines), findings: [] };
}
