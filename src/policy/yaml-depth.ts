// How deeply a YAML document nests, found from the lexer's flat token stream
// before anything builds a tree: 2 MB of "[" would otherwise become a million
// nested nodes in the parser (and its recursion), which is how a hostile file
// exhausts memory. Policy files nest about five levels.
import { yamlLib } from "../lazy-modules.js";

/** Collections inside collections, at most. */
export const MAX_YAML_DEPTH = 64;

// The lexer's zero-width markers: document start, flow error end, scalar.
const DOCUMENT = "\x02";
const FLOW_ERROR_END = "\x18";
const SCALAR = "\x1f";

/**
 * The offset where the document first nests deeper than `max` collections,
 * or null. An estimate on the safe side: block collections by indentation
 * (a sequence sits one level below a key at the same column), flow
 * collections by their brackets; scalars, comments and quoted text, where a
 * bracket means nothing, come from the lexer as single tokens.
 */
export function firstTooDeep(text: string, max = MAX_YAML_DEPTH): number | null {
  const { Lexer } = yamlLib();
  let offset = 0;
  let lineStart = 0;
  let flow = 0;
  // Block levels open on the current line's path: column * 2, plus 1 for a sequence or explicit entry.
  const stack: number[] = [];
  let nodeStart = true;
  // The column of a node that opens a mapping if a ":" follows it (a scalar on its own is a leaf).
  let key: number | null = null;
  for (const token of new Lexer().lex(text)) {
    if (token === DOCUMENT || token === SCALAR) continue;
    if (token === FLOW_ERROR_END) {
      flow = 0;
      continue;
    }
    const at = offset;
    offset += token.length;
    const first = token[0];
    if (flow > 0) {
      if (token === "[" || token === "{") flow++;
      else if (token === "]" || token === "}") flow--;
    } else if (
      first === "\n" ||
      first === "\r" ||
      first === " " ||
      first === "\t" ||
      first === "#" ||
      token === "\uFEFF"
    ) {
      // Layout and comments: nothing opens.
    } else if ((token === "---" || token === "...") && at === lineStart) {
      stack.length = 0;
      nodeStart = true;
    } else if (nodeStart && (first === "&" || first === "!")) {
      // An anchor or tag comes before the node it names.
    } else if (token === "[" || token === "{") {
      if (nodeStart) popTo(stack, (at - lineStart) * 2);
      flow = 1;
      nodeStart = false;
    } else if (nodeStart && (token === "-" || token === "?" || token === ":")) {
      const level = (at - lineStart) * 2 + 1;
      popTo(stack, level);
      stack.push(level);
    } else if (nodeStart) {
      key = at - lineStart;
      popTo(stack, key * 2);
      nodeStart = false;
    } else if (token === ":" && key !== null) {
      stack.push(key * 2);
      key = null;
    } else {
      nodeStart = false;
    }
    if (stack.length + flow > max) return at;
    const nl = token.lastIndexOf("\n");
    if (nl !== -1) {
      lineStart = at + nl + 1;
      if (nl === token.length - 1) nodeStart = true;
      key = null; // an implicit key never spans lines
    }
  }
  return null;
}

function popTo(stack: number[], level: number): void {
  while (stack.length > 0 && (stack[stack.length - 1] as number) >= level) stack.pop();
}
