// Checks the tests a document names (SECURITY.md) against the test files:
// each file exists, and each title is the title of a describe, it or test in
// it, read from the source with TypeScript's parser.
//
// A reference is `` `test/file.test.ts` `` followed by titles in italics.
// `*describe* › *test*` is a path: the test inside that describe. Titles
// separated by `,`, `;` or words are several tests of the file; one alone
// after a path is inside the same describes, until the next path. `…` stands
// for a part of a title left out. A parameterised test (`it.each`) is named
// by its title as written (`%s`, `$name`) or as one of its cases reads. A
// reference ends with its paragraph, list item or table cell. Files are
// found by their path as written, so tests may move into folders.
import ts from "typescript";

/** Stands for any text, in a title pattern. */
const ANY = "\u0000";

export interface TestTitle {
  /** The title as written, whitespace collapsed (a parameterised one with its placeholders). */
  readonly title: string;
  /**
   * What the title reads as when the tests run, ANY where it cannot be known
   * from the source: for a parameterised test, one per case of its table
   * when the table is written out in the file, else the title with ANY for
   * each placeholder.
   */
  readonly instances: ReadonlyArray<string>;
  /** The describe blocks around it, innermost last. */
  readonly within: ReadonlyArray<TestTitle>;
}

const TEST_FUNCTIONS = new Set(["describe", "suite", "it", "test"]);

function collapse(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/**
 * Whether `callee` is describe/it/test (with modifiers such as .skip or .concurrent); for it.each(table) and
 * it.for(table), the table.
 */
function testFunction(callee: ts.Expression): { table: ts.Expression | null } | null {
  let table: ts.Expression | null = null;
  let e = callee;
  for (;;) {
    if (ts.isCallExpression(e)) {
      // it.each(table)(title), it.for(table)(title), it.skipIf(cond)(title)
      if (ts.isPropertyAccessExpression(e.expression) && ["each", "for"].includes(e.expression.name.text))
        table = e.arguments[0] ?? null;
      e = e.expression;
    } else if (ts.isPropertyAccessExpression(e)) {
      e = e.expression;
    } else {
      return ts.isIdentifier(e) && TEST_FUNCTIONS.has(e.text) ? { table } : null;
    }
  }
}

function unwrap(e: ts.Expression): ts.Expression {
  while (
    ts.isParenthesizedExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isSatisfiesExpression(e) ||
    ts.isTypeAssertionExpression(e)
  )
    e = e.expression;
  return e;
}

/** The rows of a table written in the file: an array literal, or a const holding one. */
function rowsOf(
  table: ts.Expression,
  constants: ReadonlyMap<string, ts.Expression>,
): ReadonlyArray<ts.Expression> | null {
  let e = unwrap(table);
  if (ts.isIdentifier(e)) {
    const value = constants.get(e.text);
    if (value === undefined) return null;
    e = unwrap(value);
  }
  if (!ts.isArrayLiteralExpression(e) || e.elements.some(ts.isSpreadElement)) return null;
  return e.elements;
}

/** A value as a title shows it, or ANY when the source does not say. */
function shown(e: ts.Expression | undefined, json: boolean): string {
  const v = e === undefined ? undefined : unwrap(e);
  if (v === undefined) return ANY;
  if (ts.isStringLiteral(v) || ts.isNoSubstitutionTemplateLiteral(v)) return json ? JSON.stringify(v.text) : v.text;
  if (ts.isNumericLiteral(v)) return v.text;
  if (v.kind === ts.SyntaxKind.TrueKeyword) return "true";
  if (v.kind === ts.SyntaxKind.FalseKeyword) return "false";
  if (v.kind === ts.SyntaxKind.NullKeyword) return "null";
  return ANY;
}

/** vitest's placeholders: printf-style (%s, %d, %j, ...; %# the case's index) and $name / $a.b for object cases. */
const PLACEHOLDER = /%%|%[sdifjoOc#$]|\$#|\$[A-Za-z_][\w.]*/g;

/**
 * A parameterised title as one case of its table reads it (ANY for what the source does not say); no row: ANY for every
 * placeholder.
 */
function instance(title: string, row: ts.Expression | undefined, index: number): string {
  const r = row === undefined ? undefined : unwrap(row);
  const args = r !== undefined && ts.isArrayLiteralExpression(r) ? [...r.elements] : r !== undefined ? [r] : [];
  let next = 0;
  return title.replace(PLACEHOLDER, (p) => {
    if (p === "%%") return "%";
    if (r === undefined) return ANY;
    if (p === "%#" || p === "$#") return String(index);
    if (p === "%$") return String(index + 1);
    if (p.startsWith("$")) {
      const name = p.slice(1);
      const property = ts.isObjectLiteralExpression(r)
        ? r.properties.find(
            (q): q is ts.PropertyAssignment =>
              ts.isPropertyAssignment(q) &&
              (ts.isIdentifier(q.name) || ts.isStringLiteral(q.name)) &&
              q.name.text === name,
          )
        : undefined;
      return shown(property?.initializer, false);
    }
    return shown(args[next++], p === "%j");
  });
}

function titleText(arg: ts.Expression): string | null {
  if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) return arg.text;
  // A template literal: its interpolations are not known from the source.
  if (ts.isTemplateExpression(arg))
    return [arg.head.text, ...arg.templateSpans.map((s) => `${ANY}${s.literal.text}`)].join("");
  return null;
}

/** Every describe, it and test title in a test file's source, with the describes around it. */
export function testTitles(source: string, fileName = "file.test.ts"): TestTitle[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const constants = new Map<string, ts.Expression>();
  const collect = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer !== undefined &&
      ts.isVariableDeclarationList(node.parent) &&
      node.parent.flags & ts.NodeFlags.Const
    ) {
      constants.set(node.name.text, node.initializer);
    }
    ts.forEachChild(node, collect);
  };
  collect(file);
  const titles: TestTitle[] = [];
  const visit = (node: ts.Node, within: ReadonlyArray<TestTitle>): void => {
    if (ts.isCallExpression(node)) {
      const fn = testFunction(node.expression);
      const first = node.arguments[0];
      const text = fn !== null && first !== undefined ? titleText(first) : null;
      if (fn !== null && text !== null) {
        const title = collapse(text);
        const rows = fn.table === null ? null : rowsOf(fn.table, constants);
        const instances =
          fn.table === null
            ? [title]
            : rows === null
              ? [instance(title, undefined, 0)]
              : rows.map((row, i) => collapse(instance(title, row, i)));
        const found = { title, instances, within };
        titles.push(found);
        visit(node.expression, within);
        for (const arg of node.arguments) visit(arg, [...within, found]);
        return;
      }
    }
    ts.forEachChild(node, (child) => visit(child, within));
  };
  visit(file, []);
  return titles;
}

/**
 * Whether a title as a document writes it (… for what it leaves out) names this test: by its title as written, or as
 * one of its cases reads.
 */
export function names(reference: string, test: TestTitle): boolean {
  const pattern = reference.replace(/…/g, ANY);
  // A case whose title the source leaves entirely open (a bare "%s") cannot be told from any other.
  return (
    overlap(pattern, test.title) ||
    test.instances.some((i) => /[\p{L}\p{N}]/u.test(i.replaceAll(ANY, "")) && overlap(pattern, i))
  );
}

/** Whether some text matches both patterns (each a string in which ANY stands for any text). */
export function overlap(a: string, b: string): boolean {
  const wildA = a.includes(ANY);
  const wildB = b.includes(ANY);
  if (!wildA && !wildB) return a === b;
  const asRegExp = (p: string) =>
    new RegExp(
      `^${p
        .split(ANY)
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("[\\s\\S]*")}$`,
    );
  if (!wildB) return asRegExp(a).test(b);
  if (!wildA) return asRegExp(b).test(a);
  // Both have gaps: walk them together, a gap on either side taking text from the other.
  const memo = new Map<number, boolean>();
  const walk = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let ok = false;
    if (i < a.length && a[i] === ANY) ok = walk(i + 1, j) || (j < b.length && walk(i, j + 1));
    if (!ok && j < b.length && b[j] === ANY) ok = walk(i, j + 1) || (i < a.length && walk(i + 1, j));
    if (!ok && i < a.length && j < b.length && a[i] !== ANY && b[j] !== ANY && a[i] === b[j]) ok = walk(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return walk(0, 0);
}

export interface Reference {
  readonly file: string;
  /**
   * Each title as written (whitespace collapsed), with the describe titles the document puts it in, outermost first.
   */
  readonly titles: ReadonlyArray<{ readonly title: string; readonly within: ReadonlyArray<string> }>;
}

/** Paragraphs, list items and table cells: a reference never runs past one. */
function blocks(markdown: string): string[] {
  const out: string[] = [];
  let current: string[] = [];
  const end = () => {
    if (current.length > 0) out.push(current.join("\n"));
    current = [];
  };
  for (const line of markdown.split("\n")) {
    if (/^\s*\|/.test(line)) {
      end();
      out.push(...line.split(/(?<!\\)\|/));
    } else if (line.trim() === "" || /^#/.test(line)) {
      end();
    } else {
      if (/^\s*([-*]|\d+\.) /.test(line)) end();
      current.push(line);
    }
  }
  end();
  return out;
}

/**
 * Every test file a document names, with the titles it names in it. Titles
 * joined by `›` are a path, a describe to the test inside it; a title alone
 * after such a path is in the same describes, until the next path.
 */
export function references(markdown: string): Reference[] {
  const found: Array<{ file: string; paths: string[][] }> = [];
  for (const block of blocks(markdown)) {
    let reference: { file: string; paths: string[][] } | null = null;
    // After a `›` that follows a title: the next title continues its path.
    let linked = false;
    let lastEnd = 0;
    // Code spans first (opened and closed by as many backticks), so that a `*`
    // inside one is not emphasis; `**bold**` is never a title.
    for (const m of block.matchAll(/(?<!`)(`+)(?!`)([\s\S]*?[^`])\1(?!`)|\*\*[^*]+\*\*|\*([^*]+)\*|(›)/g)) {
      const adjacent = block.slice(lastEnd, m.index).trim() === "";
      lastEnd = m.index + m[0].length;
      const [, , code, italic, arrow] = m;
      if (code !== undefined && /^test\/.+\.test\.ts$/.test(code.trim())) {
        reference = { file: code.trim(), paths: [] };
        found.push(reference);
        linked = false;
      } else if (arrow !== undefined) {
        linked = reference !== null && reference.paths.length > 0 && adjacent;
      } else if (italic !== undefined && reference !== null) {
        const path = linked && adjacent ? reference.paths.at(-1) : undefined;
        if (path !== undefined) path.push(collapse(italic));
        else reference.paths.push([collapse(italic)]);
        linked = false;
      } else {
        linked = false;
      }
    }
  }
  return found.map(({ file, paths }) => ({ file, titles: titlesOf(paths) }));
}

/** Paths to titles, each title with the describes the document puts it in. */
function titlesOf(paths: ReadonlyArray<ReadonlyArray<string>>): Reference["titles"] {
  const titles: Array<Reference["titles"][number]> = [];
  let scope: ReadonlyArray<string> = [];
  for (const path of paths) {
    if (path.length > 1) scope = path.slice(0, -1);
    path.forEach((title, i) => titles.push({ title, within: path.length > 1 ? path.slice(0, i) : scope }));
  }
  return titles;
}

/**
 * What a document names that the test files do not have; `read` gives a test file's source, or null when it does not
 * exist.
 */
export function missingReferences(markdown: string, read: (file: string) => string | null): string[] {
  const problems: string[] = [];
  const sources = new Map<string, TestTitle[] | null>();
  for (const ref of references(markdown)) {
    if (!sources.has(ref.file)) {
      const source = read(ref.file);
      sources.set(ref.file, source === null ? null : testTitles(source, ref.file));
    }
    const titles = sources.get(ref.file);
    if (titles === null || titles === undefined) {
      problems.push(`${ref.file}: no such test file`);
      continue;
    }
    for (const { title, within } of ref.titles) {
      const matching = titles.filter((t) => names(title, t));
      if (matching.length === 0) problems.push(`${ref.file} › *${title}*: no describe, it or test has this title`);
      else if (!matching.some((t) => within.every((d) => t.within.some((w) => names(d, w))))) {
        problems.push(
          `${ref.file} › ${[...within, title].map((t) => `*${t}*`).join(" › ")}: no test with this title is inside those describes`,
        );
      }
    }
  }
  return problems;
}
