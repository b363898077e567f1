// MachineInfo in a body frameworks read parameters from. Go's r.FormValue,
// PHP's $_REQUEST, Rails' params and Express's urlencoded() and multer read
// the fields of a form body as parameters, so a field named `deviceinfo` is a
// MachineInfo copy like the query parameter. A body is a form when its
// Content-Type says application/x-www-form-urlencoded or multipart/form-data
// (or multipart/mixed and multipart/related, which Rack parses as forms too),
// or when it is a POST with no Content-Type at all (Rack reads that as an
// urlencoded form). Rails' params and Laravel's input() merge the top-level
// members of a JSON body the same way (Laravel takes any Content-Type that
// contains `/json` or `+json`), so a `deviceinfo` member is a copy too. Field
// and member names are matched as query parameter names are.
//
// A multipart part counts when `deviceinfo` stands as a word anywhere in its
// headers, because parsers disagree on where a part's name comes from: Rack 2
// takes the last ` name=` on any header line that mentions
// Content-Disposition (inside a filename too), and the Content-ID or the
// filename when there is no name; PHP splits parameters at every `;`, quoted
// or not; busboy undoes every backslash escape, Go only those before special
// characters; Go and busboy decode RFC 2231 `name*=`; Java's FileUpload
// decodes RFC 2047 words.
import { asciiCompatible, mediaType } from "./content-type.js";
import { multipartBoundary, readMultipart, type Result } from "./multipart.js";
import { machineInfoParameters, namesMachineInfo, parameterText } from "./parameter-names.js";

/** How a body holds fields that frameworks read as parameters. */
export type FieldBody = "urlencoded" | "multipart" | "json";

/**
 * A deviceinfo field's value: text (an urlencoded value, decoded; a JSON string; a field a parser before the gate read)
 * or a part's bytes.
 */
export type BodyField =
  { readonly kind: "text"; readonly text: string } | { readonly kind: "bytes"; readonly bytes: Buffer };

export interface BodyFieldProblem {
  /** The rejection: the request's Content-Type, or the multipart body's structure. */
  readonly code: "bad-content-type" | "bad-multipart";
  readonly problem: string;
}

const MULTIPART_FORMS = new Set(["multipart/form-data", "multipart/mixed", "multipart/related"]);

/** Whether some framework reads the body of this request as parameters, and as which kind. */
export function fieldBody(contentType: string | undefined, method: string | undefined): FieldBody | null {
  if (contentType === undefined || contentType.trim() === "") return method === "POST" ? "urlencoded" : null;
  const type = mediaType(contentType);
  if (type === "application/x-www-form-urlencoded") return "urlencoded";
  if (MULTIPART_FORMS.has(type)) return "multipart";
  // Laravel's test, on the whole header; Rails' JSON types (application/json, application/jsonrequest, text/x-json).
  const lower = contentType.toLowerCase();
  return lower.includes("/json") || lower.includes("+json") || type === "text/x-json" ? "json" : null;
}

const JSON_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/**
 * A JSON string starting at the quote at `at`: its text, escapes undone (bad ones kept), and where it ends (the text's
 * end if unterminated).
 */
function jsonString(text: string, at: number): { readonly value: string; readonly end: number } {
  let value = "";
  let i = at + 1;
  let run = i;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') return { value: value + text.slice(run, i), end: i + 1 };
    if (c !== "\\") {
      i++;
      continue;
    }
    value += text.slice(run, i);
    const e = text[i + 1] ?? "";
    if (e === "u" && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) {
      value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
      i += 6;
    } else {
      value += JSON_ESCAPES[e] ?? e;
      i += 2;
    }
    run = i;
  }
  return { value: value + text.slice(run), end: text.length };
}

const WHITESPACE = /[ \t\r\n]/;

/**
 * The members of a JSON body's top-level object named as a parameter would
 * be, every one (a repeated name is read once by JSON.parse, but which one
 * differs by parser). Lenient: strings are read with their escapes undone and
 * depth is counted by brackets outside them, so text that is not quite JSON
 * still shows its members to the gate as it would to a lenient parser.
 */
function jsonFields(text: string): BodyField[] {
  const fields: BodyField[] = [];
  let depth = 0;
  let inObject = false;
  let i = 0;
  const skipSpace = (from: number) => {
    let j = from;
    while (j < text.length && WHITESPACE.test(text[j] as string)) j++;
    return j;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const key = jsonString(text, i);
      i = key.end;
      const colon = skipSpace(i);
      if (depth !== 1 || !inObject || text[colon] !== ":" || !namesMachineInfo(key.value)) continue;
      const start = skipSpace(colon + 1);
      if (text[start] === '"') {
        const value = jsonString(text, start);
        fields.push({ kind: "text", text: value.value });
        i = value.end;
      } else {
        fields.push({ kind: "text", text: "\u0000" }); // not a string: a copy, and not base64
        i = start;
      }
      continue;
    }
    if (c === "{" || c === "[") {
      depth++;
      if (depth === 1) inObject = c === "{";
    } else if ((c === "}" || c === "]") && depth > 0) depth--;
    i++;
  }
  return fields;
}

/** Every `charset=` in a Content-Type, however placed (lenient readers find them all). */
function charsets(contentType: string): string[] {
  return [...contentType.matchAll(/charset\s*=\s*"?([^";,\s]*)/gi)].map((m) => m[1] ?? "");
}

const ENCODED_WORD = /=\?([^?\s]*)\?([BbQq])\?([^?\s]*)\?=/g;

/** A header block with its RFC 2047 encoded words decoded (as Latin-1 bytes). */
function decodeEncodedWords(text: string): string {
  return text.replace(ENCODED_WORD, (_m, _charset: string, encoding: string, data: string) =>
    encoding.toLowerCase() === "b"
      ? Buffer.from(data, "base64").toString("latin1")
      : data
          .replace(/_/g, " ")
          .replace(/=([0-9A-Fa-f]{2})/g, (_e, hex: string) => String.fromCharCode(parseInt(hex, 16))),
  );
}

/** The charsets a part's headers name for the text in them: RFC 2231 `param*=charset'…`, RFC 2047 `=?charset?…`. */
function headerCharsets(head: string, disposition: ReadonlyArray<readonly [string, string]>): string[] {
  const extended = disposition
    .filter(([name]) => name.endsWith("*"))
    .map(([, value]) => value.slice(0, Math.max(0, value.indexOf("'"))));
  const words = [...head.matchAll(ENCODED_WORD)].map((m) => (m[1] ?? "").split("*")[0] ?? "");
  return [...extended, ...words];
}

/**
 * Whether some parser reads a part with these headers as the deviceinfo field: as sent, with backslash escapes undone,
 * with RFC 2047 words decoded.
 */
function partNamesMachineInfo(head: string): boolean {
  return (
    namesMachineInfo(head) ||
    namesMachineInfo(head.replace(/\\([\s\S])/g, "$1")) ||
    namesMachineInfo(decodeEncodedWords(head))
  );
}

function multipartFields(body: Buffer, contentType: string): Result<BodyField[]> {
  const boundary = multipartBoundary(contentType);
  if (!boundary.ok) return boundary;
  const parts = readMultipart(body, boundary.value);
  if (!parts.ok) return parts;
  const fields: BodyField[] = [];
  for (const part of parts.value) {
    const unreadable = headerCharsets(part.head, part.disposition).find((c) => !asciiCompatible(c));
    if (unreadable !== undefined)
      return {
        ok: false,
        problem: `part ${part.index}'s headers name the charset ${JSON.stringify(unreadable)}, in which parsers could read another name`,
      };
    if (partNamesMachineInfo(part.head)) fields.push({ kind: "bytes", bytes: part.body });
  }
  return { ok: true, value: fields };
}

/** The deviceinfo fields of a form or JSON body, in order, or why the gate cannot read it one way only. */
export function machineInfoFields(
  body: Buffer,
  kind: FieldBody,
  contentType: string,
): { readonly ok: true; readonly fields: BodyField[] } | ({ readonly ok: false } & BodyFieldProblem) {
  const unreadable = charsets(contentType).find((c) => !asciiCompatible(c));
  if (unreadable !== undefined)
    return {
      ok: false,
      code: "bad-content-type",
      problem: `the ${kind === "json" ? "JSON body" : "form"}'s charset ${JSON.stringify(unreadable)} is not ASCII-compatible: parsers that decode field names in it could read another name`,
    };
  // No body, no fields (a multipart Content-Type on an empty body included).
  if (body.length === 0) return { ok: true, fields: [] };
  if (kind === "urlencoded")
    return {
      ok: true,
      fields: machineInfoParameters(body.toString("latin1")).map((value) => ({
        kind: "text",
        text: parameterText(value),
      })),
    };
  if (kind === "json") {
    // JSON is UTF-8; a NUL byte shows UTF-16 or UTF-32, which some parsers detect and decode (and then read other
    // names).
    if (body.includes(0))
      return {
        ok: false,
        code: "bad-content-type",
        problem: "the JSON body holds NUL bytes (UTF-16 or UTF-32?): send it in UTF-8",
      };
    return { ok: true, fields: jsonFields(body.toString("utf8")) };
  }
  const fields = multipartFields(body, contentType);
  return fields.ok ? { ok: true, fields: fields.value } : { ok: false, code: "bad-multipart", problem: fields.problem };
}

/**
 * The deviceinfo fields of a body a parser mounted before the gate has
 * already read (Express's urlencoded() and json(), multer): every key of `req.body`
 * named as a parameter would be, with each string in its value (qs nests
 * `deviceinfo[]` and `deviceinfo[a]` into arrays and objects). Null when the
 * parser left no object.
 */
export function parsedMachineInfoFields(body: unknown): BodyField[] | null {
  if (body === null || typeof body !== "object" || Buffer.isBuffer(body)) return null;
  const fields: BodyField[] = [];
  const collect = (value: unknown, depth: number) => {
    if (typeof value === "string") fields.push({ kind: "text", text: value });
    else if (Buffer.isBuffer(value)) fields.push({ kind: "bytes", bytes: value });
    else if (value !== null && typeof value === "object" && depth < 8)
      for (const inner of Object.values(value)) collect(inner, depth + 1);
    else fields.push({ kind: "text", text: "\u0000" }); // a number or a nesting too deep: a copy, and not base64
  };
  for (const [key, value] of Object.entries(body)) if (namesMachineInfo(key)) collect(value, 0);
  return fields;
}
