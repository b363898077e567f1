// A multipart body read one way only, or not at all. Parsers disagree on
// nearly everything a multipart body leaves open: which `boundary` a
// Content-Type names (PHP takes the first "boundary" anywhere in it, Rack the
// last `boundary=`), where a delimiter is (Rack and PHP end a part at the
// boundary in mid-line, Go accepts bare LF line ends, Rack ignores spaces
// around a delimiter line), how a header is folded, whether a
// Content-Transfer-Encoding is undone (Go undoes quoted-printable). So the
// gate reads only bodies on which they cannot disagree: a boundary every
// reading of the Content-Type agrees on; the boundary nowhere in the body but
// on its own delimiter lines, each `CRLF--boundary` followed by CRLF or by the
// closing `--`; plain `name: value` header lines; exactly one
// Content-Disposition with exactly one name; no transfer encoding, no
// multipart inside a part. Anything else is a problem for the caller to
// refuse. The parts come back with their raw header block, for the caller to
// look for names in, and their bodies as subarrays of the input.
import { mediaType, parseParameters } from "./content-type.js";

export interface MultipartPart {
  /** 1-based, as problems name it. */
  readonly index: number;
  /** The header block as sent (Latin-1), without the blank line that ends it. */
  readonly head: string;
  /** Header lines: [name lower-cased, value trimmed]. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The Content-Disposition's parameters: [name lower-cased, value unquoted]. */
  readonly disposition: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const problem = <T>(text: string): Result<T> => ({ ok: false, problem: text });

/** RFC 2046's boundary characters, less `,`, `=` and the space, which lenient parsers end or split a boundary at. */
const BOUNDARY = /^[0-9A-Za-z'()+_\-./:?]{1,70}$/;

/**
 * The boundary as PHP reads it: after the first "boundary" (case-sensitive, then not) and the next `=`, up to `,` or
 * `;`, or quoted.
 */
function phpBoundary(contentType: string): string | null {
  let at = contentType.indexOf("boundary");
  if (at === -1) at = contentType.toLowerCase().indexOf("boundary");
  if (at === -1) return null;
  const eq = contentType.indexOf("=", at);
  if (eq === -1) return null;
  const rest = contentType.slice(eq + 1);
  if (rest.startsWith('"')) {
    const close = rest.indexOf('"', 1);
    return close === -1 ? null : rest.slice(1, close);
  }
  const end = rest.search(/[,;]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The boundary as Rack reads it: after the last `boundary=`. */
function rackBoundary(contentType: string): string | null {
  return /^multipart\/.*boundary="?([^";,]+)"?/is.exec(contentType)?.[1] ?? null;
}

/** The boundary of a multipart Content-Type, when every reading of it agrees. */
export function multipartBoundary(contentType: string): Result<string> {
  const semicolon = contentType.indexOf(";");
  if (semicolon === -1) return problem("the multipart Content-Type has no boundary");
  const type = contentType.slice(0, semicolon).trim().toLowerCase();
  if (type !== mediaType(contentType))
    return problem("the multipart Content-Type has something other than parameters after its media type");
  const params = parseParameters(contentType.slice(semicolon));
  if (params === null) return problem("the multipart Content-Type's parameters cannot be read one way only");
  const names = params.map(([name]) => name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) return problem(`the multipart Content-Type gives ${repeated} more than once`);
  const boundary = params.find(([name]) => name === "boundary")?.[1];
  if (boundary === undefined) return problem("the multipart Content-Type has no boundary");
  if (!BOUNDARY.test(boundary))
    return problem(
      "the multipart boundary is empty, longer than 70 characters, or holds a character parsers end or split it at",
    );
  for (const other of [phpBoundary(contentType), rackBoundary(contentType)]) {
    if (other !== null && other !== boundary)
      return problem(
        `parsers read the multipart boundary differently (${JSON.stringify(boundary)} or ${JSON.stringify(other)})`,
      );
  }
  return ok(boundary);
}

const CRLF = 0x0d0a;
const crlfAt = (body: Buffer, at: number) => at >= 0 && at + 1 < body.length && body.readUInt16BE(at) === CRLF;
const dashesAt = (body: Buffer, at: number) => at + 1 < body.length && body[at] === 0x2d && body[at + 1] === 0x2d;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const IDENTITY_TRANSFER = new Set(["7bit", "8bit", "binary"]);

/** A part's header block, strictly: plain lines, one Content-Disposition with one name. */
function readPart(index: number, head: string, body: Buffer): Result<MultipartPart> {
  const headers: Array<readonly [string, string]> = [];
  for (const line of head === "" ? [] : head.split("\r\n")) {
    if (line.includes("\r") || line.includes("\n")) return problem(`part ${index}'s headers hold a bare CR or LF`);
    if (line.startsWith(" ") || line.startsWith("\t")) return problem(`part ${index} has a folded header line`);
    const colon = line.indexOf(":");
    const name = colon === -1 ? "" : line.slice(0, colon);
    if (!TOKEN.test(name)) return problem(`part ${index} has a header line that is not "name: value"`);
    headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const values = (name: string) => headers.filter(([n]) => n === name).map(([, v]) => v);
  const dispositions = values("content-disposition");
  if (dispositions.length !== 1)
    return problem(
      dispositions.length === 0
        ? `part ${index} has no Content-Disposition`
        : `part ${index} has more than one Content-Disposition`,
    );
  const disposition = dispositions[0] as string;
  const typeEnd = disposition.indexOf(";");
  const params = typeEnd === -1 ? [] : parseParameters(disposition.slice(typeEnd));
  if (params === null || !TOKEN.test((typeEnd === -1 ? disposition : disposition.slice(0, typeEnd)).trim()))
    return problem(`part ${index}'s Content-Disposition cannot be read one way only`);
  const names = params.map(([name]) => name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) return problem(`part ${index}'s Content-Disposition gives ${repeated} more than once`);
  // name, name*, and RFC 2231's continuations name*0, name*1*: more than one is a name given twice.
  const nameParams = names.filter((name) => /^name(?:\*\d+)?\*?$/.test(name));
  if (nameParams.length === 0) return problem(`part ${index} has no name in its Content-Disposition`);
  if (nameParams.length > 1) return problem(`part ${index}'s name is given more than once (${nameParams.join(", ")})`);
  if (values("content-type").length > 1) return problem(`part ${index} has more than one Content-Type`);
  const type = values("content-type")[0];
  if (type !== undefined && mediaType(type).startsWith("multipart/"))
    return problem(`part ${index} is itself multipart (${mediaType(type)})`);
  for (const encoding of values("content-transfer-encoding")) {
    if (!IDENTITY_TRANSFER.has(encoding.toLowerCase()))
      return problem(
        `part ${index} has Content-Transfer-Encoding ${JSON.stringify(encoding)}, which some parsers undo and others do not`,
      );
  }
  return ok({ index, head, headers, disposition: params, body });
}

/** The parts of a multipart body, when it can be read one way only. */
export function readMultipart(body: Buffer, boundary: string): Result<MultipartPart[]> {
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at === -1) return problem("the multipart body has no delimiter line");
  // Before the first delimiter: nothing, or a preamble that ends with CRLF.
  if (at !== 0 && !crlfAt(body, at - 2)) return problem("the multipart boundary appears in the preamble");
  for (;;) {
    const after = at + delimiter.length;
    if (dashesAt(body, after)) {
      // The closing delimiter: then the end, or CRLF and an epilogue without the boundary.
      const end = after + 2;
      if (end !== body.length && !crlfAt(body, end))
        return problem("the closing delimiter is followed by something other than CRLF");
      if (body.indexOf(delimiter, end) !== -1)
        return problem("the multipart boundary appears after the closing delimiter");
      return ok(parts);
    }
    if (!crlfAt(body, after))
      return problem(
        `the delimiter line before part ${parts.length + 1} does not end with CRLF right after the boundary`,
      );
    const start = after + 2;
    const next = body.indexOf(delimiter, start);
    if (next === -1) return problem("the multipart body ends before its closing delimiter");
    if (next < start + 2 || !crlfAt(body, next - 2))
      return problem(`the multipart boundary appears inside part ${parts.length + 1}, not on a delimiter line`);
    const content = body.subarray(start, next - 2);
    const index = parts.length + 1;
    // The header block ends at the first blank line; a part with no headers starts with one.
    const blank = crlfAt(content, 0) ? -2 : content.indexOf("\r\n\r\n");
    if (blank === -1) return problem(`part ${index}'s headers do not end with a blank line`);
    const part = readPart(
      index,
      content.subarray(0, Math.max(0, blank)).toString("latin1"),
      content.subarray(blank + 4),
    );
    if (!part.ok) return part;
    parts.push(part.value);
    at = next;
  }
}
