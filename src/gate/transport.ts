// Where MachineInfo travels in a request: the raw POST body
// (application/pkcs7-signature) sent to the profile URL, base64 in the
// x-apple-aspen-deviceinfo header on the first GET of the configuration web
// URL, or a deviceinfo query parameter after a web flow's redirect.
//
// A request carries exactly one MachineInfo, or it is refused: every copy an
// upstream could read is counted. Header names are read as CGI servers read
// them (any case, `_` for `-`), repeated lines included; parameter names after
// percent-decoding, in any case, split on `&` and `;`, wherever `deviceinfo`
// stands as a word in them (`[deviceinfo]`, `deviceinfo%00`); and a body that starts
// like CMS SignedData is MachineInfo whatever its Content-Type says. Such a
// body is found by its first bytes (at most SIGNED_DATA_PREFIX_MAX), so other
// bodies stream on unread, those bytes pushed back in front of the rest.
import type { IncomingMessage, ServerResponse } from "node:http";
import { SIGNED_DATA_PREFIX_MAX, signedDataPrefix } from "../apple/signed-data-prefix.js";
import { canonicalName, MACHINE_INFO_HEADER } from "./header-names.js";
import type { RejectionCode } from "./rejections.js";

export type MachineInfoSource = "body" | "header" | "query";

type TransportCode = Extract<RejectionCode, "bad-base64" | "body-too-large" | "empty-body" | "bad-body" | "ambiguous-machine-info" | "body-timeout" | "unsupported-encoding">;

export interface TransportError {
  readonly code: TransportCode;
  readonly message: string;
}

/** The one MachineInfo a request carries; `source: null` when it carries none. */
export type Located =
  | { readonly ok: true; readonly source: MachineInfoSource; readonly der: Uint8Array; readonly rawBody: Buffer | null }
  | { readonly ok: true; readonly source: null; readonly rawBody: null }
  | { readonly ok: false; readonly error: TransportError };

export interface LocateOptions {
  /** The largest MachineInfo, in bytes. */
  readonly limit: number;
  /** How long a MachineInfo body may take to arrive, in milliseconds. */
  readonly timeoutMs: number;
}

/** A request as Express or plain Node hands it over; `body` when a parser ran first. */
export type GateRequest = IncomingMessage & { body?: unknown; originalUrl?: string; _body?: boolean };

export const HEADER = MACHINE_INFO_HEADER;
export const QUERY = "deviceinfo";
const CMS_TYPES = new Set(["application/pkcs7-signature", "application/x-pkcs7-signature", "application/pkcs7-mime"]);

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const WHITESPACE = /\s+/g;

/** Decodes standard or URL-safe base64, padded or not; null when the text is not base64. */
export function decodeBase64(text: string): Buffer | null {
  // Whitespace (folded headers, wrapped query values) is rare: strip it only when present.
  let compact = text;
  if (!BASE64.test(compact)) {
    compact = text.replace(WHITESPACE, "");
    if (compact === text || !BASE64.test(compact)) return null;
  }
  if (compact.length === 0) return null;
  let end = compact.length;
  while (end > 0 && compact.charCodeAt(end - 1) === 61 /* = */) end--;
  if (end % 4 === 1) return null;
  // Node's base64 decoder reads both alphabets (+/ and -_).
  return Buffer.from(compact, "base64");
}

function failure(code: TransportCode, message: string): TransportError {
  return { code, message };
}

function tooLarge(limit: number): TransportError {
  return failure("body-too-large", `MachineInfo is larger than the ${limit}-byte limit`);
}

function contentType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Whether the request's framing announces a body (RFC 9112 6.3). */
export function announcesBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** A coding the gate would have to undo to see the body (and an upstream might undo): refused. */
function encodingProblem(req: IncomingMessage): string | null {
  const tokens = (value: string | undefined) => (value ?? "").split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
  const content = tokens(req.headers["content-encoding"]).filter((t) => t !== "identity");
  if (content.length > 0) return `the body has Content-Encoding ${JSON.stringify(content.join(", "))}; send it unencoded`;
  const transfer = tokens(req.headers["transfer-encoding"]).filter((t) => t !== "chunked");
  if (transfer.length > 0) return `the body has Transfer-Encoding ${JSON.stringify(transfer.join(", "))}; only chunked is accepted`;
  return null;
}

/** Every value of a header that names MachineInfo, read as CGI servers read names. */
function headerCopies(req: IncomingMessage): string[] {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (canonicalName(raw[i] as string) === MACHINE_INFO_HEADER) values.push(raw[i + 1] as string);
  return values;
}

/**
 * `deviceinfo` as a whole word in a parameter name, in any case. Frameworks
 * read more names than `deviceinfo` itself as that parameter: `deviceinfo[]`
 * and `deviceinfo[0]` (PHP, Rails, qs), `[deviceinfo]` (qs, which Express 4
 * parses queries with, and Rack 2 drop the leading bracket), `deviceinfo%00`
 * (PHP reads a name up to a NUL), ` deviceinfo` (trimmed). So any name in
 * which it stands apart from other letters, digits and `_` counts.
 */
const MACHINE_INFO_PARAMETER = /(?:^|[^a-z0-9_])deviceinfo(?:$|[^a-z0-9_])/;

/** Whether a raw parameter name is one some framework reads as `deviceinfo`: escapes decoded (bad ones kept), `+` a space. */
function namesMachineInfo(raw: string): boolean {
  const decoded = raw.replace(/\+/g, " ").replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return MACHINE_INFO_PARAMETER.test(decoded.toLowerCase());
}

/** Every value of a deviceinfo query parameter, still percent-encoded. */
function queryCopies(url: string): string[] {
  const q = url.indexOf("?");
  if (q === -1) return [];
  const values: string[] = [];
  for (const part of url.slice(q + 1).split(/[&;]/)) {
    const eq = part.indexOf("=");
    if (namesMachineInfo(eq === -1 ? part : part.slice(0, eq))) values.push(eq === -1 ? "" : part.slice(eq + 1));
  }
  return values;
}

function queryText(value: string): string {
  try {
    // A '+' from the standard alphabet that was not percent-encoded is still a '+'.
    return decodeURIComponent(value.replace(/\+/g, "%2B"));
  } catch {
    return "\u0000"; // bad percent-encoding: reported as bad base64
  }
}

/** `body: null`: not MachineInfo, left in the stream. */
type BodyRead = { readonly ok: true; readonly body: Buffer | null } | { readonly ok: false; readonly error: TransportError };

/** The first `n` bytes of some chunks. */
function head(chunks: ReadonlyArray<Buffer>, n: number): Buffer {
  const first = chunks[0];
  if (chunks.length === 1 && first !== undefined) return first.subarray(0, n);
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * Reads a MachineInfo body, refusing more than `limit` bytes or a body still
 * arriving at `deadline`. With `sniff`, only a body that starts like CMS
 * SignedData is read; any other is left in the stream, as it was.
 */
function readBody(req: GateRequest, limits: LocateOptions & { readonly deadline: number }, sniff: boolean): Promise<BodyRead> {
  const { limit, deadline } = limits;
  // A body parser mounted before the gate may already have read it.
  if (Buffer.isBuffer(req.body) || typeof req.body === "string") {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "latin1");
    if (sniff && signedDataPrefix(body.subarray(0, SIGNED_DATA_PREFIX_MAX)) !== "signed-data") return Promise.resolve({ ok: true, body: null });
    return Promise.resolve(body.length > limit ? { ok: false, error: tooLarge(limit) } : { ok: true, body });
  }
  if (req._body === true || req.readableEnded) {
    return Promise.resolve(sniff ? { ok: true, body: null } : { ok: false, error: failure("bad-body", "the request body was consumed by another parser before the gate") });
  }
  const declared = Number(req.headers["content-length"]);
  const declaredTooLarge = Number.isFinite(declared) && declared > limit;
  if (!sniff && declaredTooLarge) return Promise.resolve({ ok: false, error: tooLarge(limit) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let sniffing = sniff;
    let settled = false;
    const finish = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off("readable", onReadable);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      // Not MachineInfo: the bytes looked at go back in front of the rest.
      if (result.ok && result.body === null && size > 0) req.unshift(Buffer.concat(chunks, size));
      resolve(result);
    };
    const atEnd = () => finish(sniffing ? { ok: true, body: null } : { ok: true, body: Buffer.concat(chunks, size) });
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
        if (sniffing) {
          const verdict = signedDataPrefix(head(chunks, SIGNED_DATA_PREFIX_MAX));
          if (verdict === "other") return finish({ ok: true, body: null });
          if (verdict === "signed-data") {
            sniffing = false;
            if (declaredTooLarge) return finish({ ok: false, error: tooLarge(limit) });
          }
        }
        if (!sniffing && size > limit) return finish({ ok: false, error: tooLarge(limit) });
      }
      // The whole message is in: decide now, before the stream ends (and can take nothing back).
      if (req.complete) atEnd();
    };
    const onEnd = () => atEnd();
    const onError = () => finish({ ok: false, error: failure("bad-body", "the request body could not be read") });
    const onClose = () => {
      if (!req.complete) onError();
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: failure("body-timeout", sniffing ? `the body's first bytes did not arrive within ${limits.timeoutMs} ms` : `MachineInfo did not arrive within ${limits.timeoutMs} ms`) }),
      Math.max(0, deadline - Date.now()),
    );
    req.on("readable", onReadable);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * After answering without reading the whole body: read and discard what the
 * client is still sending, so that it reads the answer instead of a
 * connection reset (closing a socket with unread data resets it). Past `cap`
 * bytes, the connection is cut.
 */
export function discardBody(req: IncomingMessage, cap: number): void {
  let seen = 0;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > cap) req.socket.destroy();
  });
  req.resume();
}

/** How much of a body the gate reads (and drops) after answering without it, at least. */
const DISCARD_MIN = 1024 * 1024;

/**
 * Before the gate answers a request whose body it has not read to the end: a
 * client too slow to send it in time loses the connection (408); any other
 * has the rest read and dropped, up to 4 × the body limit (at least 1 MiB).
 */
export function settleUnreadBody(req: IncomingMessage, res: ServerResponse, status: number, bodyLimit: number): void {
  if (req.readableEnded) return;
  if (status === 408) res.setHeader("Connection", "close");
  else discardBody(req, Math.max(DISCARD_MIN, 4 * bodyLimit));
}

function fromText(text: string, source: "header" | "query", limit: number): Located {
  const what = source === "header" ? `the ${HEADER} header` : `the ${QUERY} query parameter`;
  if (text.length > Math.ceil((limit * 4) / 3) + 4) return { ok: false, error: tooLarge(limit) };
  const der = decodeBase64(text);
  if (der === null) return { ok: false, error: failure("bad-base64", `${what} is not base64`) };
  return { ok: true, source, der, rawBody: null };
}

function ambiguous(sources: ReadonlyArray<MachineInfoSource>): Located {
  const count = (s: MachineInfoSource) => sources.filter((x) => x === s).length;
  const where = (["header", "query", "body"] as const).filter((s) => count(s) > 0).map((s) => (count(s) > 1 ? `${count(s)} in the ${s}` : `the ${s}`));
  return { ok: false, error: failure("ambiguous-machine-info", `the request carries MachineInfo ${sources.length} times (${where.join(", ")}); send exactly one`) };
}

/** Finds the one MachineInfo a request carries: body, header or query. */
export async function locateMachineInfo(req: GateRequest, options: LocateOptions): Promise<Located> {
  const deadline = Date.now() + options.timeoutMs;
  const text: Array<{ readonly source: "header" | "query"; readonly value: string }> = [
    ...headerCopies(req).map((value) => ({ source: "header" as const, value })),
    ...queryCopies(req.originalUrl ?? req.url ?? "").map((value) => ({ source: "query" as const, value })),
  ];
  if (text.length > 1) return ambiguous(text.map((c) => c.source));
  const one = text[0];
  const parsed = Buffer.isBuffer(req.body) || typeof req.body === "string";
  const streaming = !parsed && req._body !== true && !req.readableEnded;
  if (streaming && announcesBody(req)) {
    const problem = encodingProblem(req);
    if (problem !== null) return { ok: false, error: failure("unsupported-encoding", problem) };
  }
  const declared = CMS_TYPES.has(contentType(req));
  if (declared && one !== undefined) return ambiguous(["body", one.source]);
  if (declared || parsed || (streaming && announcesBody(req))) {
    const read = await readBody(req, { ...options, deadline }, !declared);
    if (!read.ok) return read;
    if (read.body !== null) {
      if (one !== undefined) return ambiguous(["body", one.source]);
      if (read.body.length === 0) return { ok: false, error: failure("empty-body", "the request body is empty; expected MachineInfo (CMS SignedData)") };
      return { ok: true, source: "body", der: read.body, rawBody: read.body };
    }
  }
  if (one === undefined) return { ok: true, source: null, rawBody: null };
  const value = one.source === "query" ? queryText(one.value) : one.value;
  // An empty value is no MachineInfo (as before: a device never sends one).
  if (value === "") return { ok: true, source: null, rawBody: null };
  return fromText(value, one.source, options.limit);
}
