// The YAML mistakes people make in policy files, turned from the parser's
// words into a fix at the line to change: tabs (one finding for the file,
// not one per line), a key indented deeper than the key above it (the parser
// stops at the line before), and an unquoted model whose comma splits it in
// two inside [ ] or { }.
import type { Finding } from "./findings.js";

const TABS = /^Tabs are not allowed/;
/** What the parser says when a line is indented deeper than the key above it. */
const OVER_INDENTED = [
  /^Nested mappings are not allowed in compact mappings/,
  /^Implicit keys need to be on a single line/,
];
/** An unquoted model (or glob) with its comma, inside a flow collection: `[iPhone15,2]`, `{ product: iPhone15,2 }`. */
const UNQUOTED_MODEL = /[[{,:]\s*([A-Za-z]+\d+,[\d*?]+)\s*[,\]}]/;

export const QUOTE_MODELS_HINT = 'inside [ ] and { } a comma ends a value: quote models such as "iPhone15,2"';

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function keyOf(line: string): string | null {
  const m = /^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:(?:\s|$)/.exec(line);
  return m?.[1] ?? null;
}

/** Where a deeper-indented key follows `errorLine`: its line (1-based), column and both keys. */
function overIndented(
  lines: ReadonlyArray<string>,
  errorLine: number,
): { line: number; column: number; key: string; above: string | null } | null {
  const above = lines[errorLine - 1] ?? "";
  const baseIndent = indentOf(above.replace(/^(\s*)-\s+/, "$1  "));
  for (let i = errorLine; i < lines.length; i++) {
    const text = lines[i] ?? "";
    if (text.trim() === "" || text.trimStart().startsWith("#")) continue;
    const key = keyOf(text);
    if (key === null || indentOf(text) <= baseIndent) return null;
    return { line: i + 1, column: indentOf(text) + 1, key, above: keyOf(above) };
  }
  return null;
}

const SAME_COLUMN = /^All mapping items must start at the same column/;

function indentMessage(key: string, above: string | null): string {
  const that = above !== null ? `"${above}"` : "the key";
  return `"${key}" is indented deeper than ${that} above it; keys of one mapping start in the same column: indent it like ${that}`;
}

/** The key on `line` (1-based), when it is indented deeper than the key on the nearest line above. */
function deeperThanAbove(
  lines: ReadonlyArray<string>,
  line: number,
): { column: number; key: string; above: string | null } | null {
  const text = lines[line - 1] ?? "";
  const key = keyOf(text);
  if (key === null) return null;
  for (let i = line - 2; i >= 0; i--) {
    const above = lines[i] ?? "";
    if (above.trim() === "" || above.trimStart().startsWith("#")) continue;
    const aboveIndent = indentOf(above.replace(/^(\s*)-\s+/, "$1  "));
    return indentOf(text) > aboveIndent ? { column: indentOf(text) + 1, key, above: keyOf(above) } : null;
  }
  return null;
}

/** Rewrites the parser's findings for one file into fixes at the right lines. */
export function withYamlHints(findings: ReadonlyArray<Finding>, text: string): Finding[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: Finding[] = [];
  const tabs = findings.filter((f) => TABS.test(f.message));
  const tabLines = new Set(tabs.map((f) => f.line));
  const first = tabs[0];
  if (first !== undefined) {
    const others = [...tabLines].filter((l) => l !== first.line);
    out.push({
      ...first,
      column: 1,
      message: `a tab indents this line${others.length > 0 ? ` and ${others.length} more (line${others.length === 1 ? "" : "s"} ${others.slice(0, 5).join(", ")}${others.length > 5 ? ", ..." : ""})` : ""}; YAML indents with spaces only: replace the tabs with spaces`,
    });
  }
  const seen = new Set<string>();
  for (const f of findings) {
    if (TABS.test(f.message)) continue;
    // Once tabs are reported, what they confuse the parser into on the same lines says nothing more.
    if (tabLines.has(f.line)) continue;
    let hinted: Finding = f;
    if (SAME_COLUMN.test(f.message)) {
      const deeper = deeperThanAbove(lines, f.line);
      if (deeper !== null) hinted = { ...f, column: deeper.column, message: indentMessage(deeper.key, deeper.above) };
    } else if (OVER_INDENTED.some((p) => p.test(f.message))) {
      const deeper = overIndented(lines, f.line);
      if (deeper !== null) {
        hinted = {
          ...f,
          line: deeper.line,
          column: deeper.column,
          endLine: deeper.line,
          endColumn: deeper.column + deeper.key.length,
          message: indentMessage(deeper.key, deeper.above),
        };
      }
    } else if (UNQUOTED_MODEL.test(lines[f.line - 1] ?? "")) {
      hinted = { ...f, message: `${f.message}; ${QUOTE_MODELS_HINT}` };
    }
    const key = `${hinted.line}:${hinted.column}:${hinted.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(hinted);
  }
  return out;
}
