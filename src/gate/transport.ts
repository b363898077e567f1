// Where MachineInfo travels in a request: the raw POST body
// (application/pkcs7-signature) sent to the profile URL, base64 in the
// x-apple-aspen-deviceinfo header on the first GET of the configuration web
// URL, or a deviceinfo query parameter after a web flow's redirect.
//
// A request carries exactly one MachineInfo, or it is refused: every copy an
// upstream could read is counted. Header names are read as CGI servers read
// them (any case, `_` for `-`), repeated lines included; parameter names as
// parameter-names.ts reads them; a body that starts like CMS SignedData is
// MachineInfo whatever its Content-Type says; and the deviceinfo fields of a
// form or JSON body, which frameworks read as parameters (body-fields.ts),
// are copies too. Any other body is found to be CMS or not by its first bytes
// (at most SIGNED_DATA_PREFIX_MAX), so it streams on unread, those bytes
// pushed back in front of the rest. A form or JSON body is read whole (under
// the same limits as MachineInfo) and pushed back the same way, for the
// upstream or the app's own parsers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { SIGNED_DATA_PREFIX_MAX, signedDataPrefix } from "../apple/signed-data-prefix.js";
import { mediaType } from "./content-type.js";
import {
  fieldBody,
  machineInfoFields,
  parsedMachineInfoFields,
  type BodyField,
  type FieldBody,
} from "./body-fields.js";
import { canonicalName, MACHINE_INFO_HEADER } from "./header-names.js";
import { machineInfoParameters, parameterText } from "./parameter-names.js";
import type { RejectionCode } from "./rejections.js";

/**
 * Where the MachineInfo the gate decided on was: `form` is a deviceinfo field of a form body, `json` a deviceinfo
 * member of a JSON body.
 */
export type MachineInfoSource = "body" | "header" | "query" | "form" | "json";

type TransportCode = Extract<
  RejectionCode,
  | "bad-base64"
  | "body-too-large"
  | "empty-body"
  | "bad-body"
  | "ambiguous-machine-info"
  | "body-timeout"
  | "unsupported-encoding"
  | "bad-content-type"
  | "bad-multipart"
>;

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

/** What a body the gate reads whole is, in its messages. */
type BodyKind = "machine-info" | "form" | "json";

function tooLarge(limit: number, kind: BodyKind = "machine-info"): TransportError {
  if (kind === "machine-info") return failure("body-too-large", `MachineInfo is larger than the ${limit}-byte limit`);
  const [what, looks] =
    kind === "form"
      ? ["form body", "a form to find deviceinfo fields"]
      : ["JSON body", "a JSON body to find deviceinfo members"];
  return failure("body-too-large", `the ${what} is larger than the ${limit}-byte limit (the gate reads ${looks})`);
}

/** Whether the request's framing announces a body (RFC 9112 6.3). */
export function announcesBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** A coding the gate would have to undo to see the body (and an upstream might undo): refused. */
function encodingProblem(req: IncomingMessage): string | null {
  const tokens = (value: string | undefined) =>
    (value ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== "");
  const content = tokens(req.headers["content-encoding"]).filter((t) => t !== "identity");
  if (content.length > 0)
    return `the body has Content-Encoding ${JSON.stringify(content.join(", "))}; send it unencoded`;
  const transfer = tokens(req.headers["transfer-encoding"]).filter((t) => t !== "chunked");
  if (transfer.length > 0)
    return `the body has Transfer-Encoding ${JSON.stringify(transfer.join(", "))}; only chunked is accepted`;
  return null;
}

/**
 * The header lines the gate reads in one pass, names read as CGI servers read
 * them (any case, `_` for `-`): every MachineInfo header, and every
 * Content-Type, noting one spelt with `_` (some WSGI servers took
 * `Content_Type` for the Content-Type).
 */
function scanHeaders(req: IncomingMessage): {
  readonly machineInfo: string[];
  readonly contentTypes: string[];
  readonly contentTypeWithUnderscore: boolean;
} {
  const machineInfo: string[] = [];
  const contentTypes: string[] = [];
  let contentTypeWithUnderscore = false;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const canonical = canonicalName(name);
    if (canonical === "content-type") {
      contentTypes.push(raw[i + 1] as string);
      if (name.includes("_")) contentTypeWithUnderscore = true;
    } else if (canonical === MACHINE_INFO_HEADER) machineInfo.push(raw[i + 1] as string);
  }
  return { machineInfo, contentTypes, contentTypeWithUnderscore };
}

/** Every value of a deviceinfo query parameter, still percent-encoded. */
function queryCopies(url: string): string[] {
  const q = url.indexOf("?");
  return q === -1 ? [] : machineInfoParameters(url.slice(q + 1));
}

/** `body` null: the bytes were not MachineInfo and went back to the stream. */
type BodyRead =
  { readonly ok: true; readonly body: Buffer | null } | { readonly ok: false; readonly error: TransportError };

/**
 * How readBody() treats a body: `machine-info` reads it (the Content-Type
 * says CMS); `sniff` reads it only if it starts like CMS SignedData, and
 * otherwise leaves it in the stream; `form` and `json` read it whole and then
 * give it back to the stream as well, for the upstream or the app's own parsers.
 */
type ReadMode = "machine-info" | "sniff" | "form" | "json";

/** The first `n` bytes of some chunks. */
function head(chunks: ReadonlyArray<Buffer>, n: number): Buffer {
  const first = chunks[0];
  if (chunks.length === 1 && first !== undefined) return first.subarray(0, n);
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * Reads a body as `mode` says, refusing more than `limit` bytes or a body
 * still arriving at `deadline`. A body left or given back is in the stream
 * again, as it was: its bytes are pushed back in front of the rest before
 * the stream can end.
 */
function readBody(
  req: GateRequest,
  limits: LocateOptions & { readonly deadline: number },
  mode: ReadMode,
): Promise<BodyRead> {
  const { limit, deadline } = limits;
  const sniff = mode === "sniff";
  const kind: BodyKind = mode === "sniff" ? "machine-info" : mode;
  const givesBack = kind !== "machine-info";
  // A body parser mounted before the gate may already have read it.
  if (Buffer.isBuffer(req.body) || typeof req.body === "string") {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "latin1");
    if (sniff && signedDataPrefix(body.subarray(0, SIGNED_DATA_PREFIX_MAX)) !== "signed-data")
      return Promise.resolve({ ok: true, body: null });
    return Promise.resolve(body.length > limit ? { ok: false, error: tooLarge(limit, kind) } : { ok: true, body });
  }
  if (req._body === true || req.readableEnded) {
    return Promise.resolve(
      sniff
        ? { ok: true, body: null }
        : { ok: false, error: failure("bad-body", "the request body was consumed by another parser before the gate") },
    );
  }
  const declared = Number(req.headers["content-length"]);
  const declaredTooLarge = Number.isFinite(declared) && declared > limit;
  if (!sniff && declaredTooLarge) return Promise.resolve({ ok: false, error: tooLarge(limit, kind) });
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
      // Not MachineInfo, or a form read whole: the bytes read go back in front of the rest.
      if (result.ok && result.body !== null && givesBack && size > 0) req.unshift(result.body);
      else if (result.ok && result.body === null && size > 0) req.unshift(Buffer.concat(chunks, size));
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
        if (!sniffing && size > limit) return finish({ ok: false, error: tooLarge(limit, kind) });
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
      () => {
        const what = sniffing
          ? "the body's first bytes"
          : kind === "form"
            ? "the form body"
            : kind === "json"
              ? "the JSON body"
              : "MachineInfo";
        finish({ ok: false, error: failure("body-timeout", `${what} did not arrive within ${limits.timeoutMs} ms`) });
      },
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

const WHAT: Record<Exclude<MachineInfoSource, "body">, string> = {
  header: `the ${HEADER} header`,
  query: `the ${QUERY} query parameter`,
  form: `the ${QUERY} form field`,
  json: `the ${QUERY} JSON member`,
};

function fromText(text: string, source: Exclude<MachineInfoSource, "body">, limit: number): Located {
  const what = WHAT[source];
  // An empty value is no MachineInfo (as before: a device never sends one).
  if (text === "") return { ok: true, source: null, rawBody: null };
  if (text.length > Math.ceil((limit * 4) / 3) + 4) return { ok: false, error: tooLarge(limit) };
  const der = decodeBase64(text);
  if (der === null) return { ok: false, error: failure("bad-base64", `${what} is not base64`) };
  return { ok: true, source, der, rawBody: null };
}

const startsLikeCms = (bytes: Buffer) => signedDataPrefix(bytes.subarray(0, SIGNED_DATA_PREFIX_MAX)) === "signed-data";

/**
 * A deviceinfo field: a part's bytes are MachineInfo as they are when they start like CMS, else base64 like any other
 * value.
 */
function fromField(field: BodyField, source: "form" | "json", limit: number): Located {
  if (field.kind === "text") return fromText(field.text, source, limit);
  if (field.bytes.length > limit) return { ok: false, error: tooLarge(limit) };
  if (startsLikeCms(field.bytes)) return { ok: true, source, der: field.bytes, rawBody: null };
  return fromText(field.bytes.toString("latin1"), source, limit);
}

const PLACE: Record<MachineInfoSource, string> = {
  header: "header",
  query: "query",
  form: "form",
  json: "JSON body",
  body: "body",
};

function ambiguous(sources: ReadonlyArray<MachineInfoSource>): Located {
  const count = (s: MachineInfoSource) => sources.filter((x) => x === s).length;
  const where = (["header", "query", "form", "json", "body"] as const)
    .filter((s) => count(s) > 0)
    .map((s) => (count(s) > 1 ? `${count(s)} in the ${PLACE[s]}` : `the ${PLACE[s]}`));
  return {
    ok: false,
    error: failure(
      "ambiguous-machine-info",
      `the request carries MachineInfo ${sources.length} times (${where.join(", ")}); send exactly one`,
    ),
  };
}

type TextCopy = { readonly source: "header" | "query"; readonly value: string };

/** A header or query copy, decided on alone. */
function fromCopy(one: TextCopy | undefined, limit: number): Located {
  if (one === undefined) return { ok: true, source: null, rawBody: null };
  return fromText(one.source === "query" ? parameterText(one.value) : one.value, one.source, limit);
}

/**
 * A request whose body is a form (or JSON): the body is read whole and given
 * back, and each deviceinfo field in it is a copy beside the header and query
 * ones, as is the body itself when it starts like CMS.
 */
async function locateInFieldBody(
  req: GateRequest,
  options: LocateOptions & { readonly deadline: number },
  kind: FieldBody,
  one: TextCopy | undefined,
  streaming: boolean,
): Promise<Located> {
  let body: Buffer | null = null;
  let fields: BodyField[] = [];
  if (Buffer.isBuffer(req.body) || typeof req.body === "string" || (streaming && announcesBody(req))) {
    const read = await readBody(req, options, kind === "json" ? "json" : "form");
    if (!read.ok) return read;
    if (read.body !== null) {
      body = read.body;
      const found = machineInfoFields(body, kind, req.headers["content-type"] ?? "");
      // A CMS body is MachineInfo whatever its Content-Type: that it is no well-formed form or JSON is no error.
      if (found.ok) fields = found.fields;
      else if (!startsLikeCms(body)) return { ok: false, error: failure(found.code, found.problem) };
    }
  } else if (!streaming) {
    // A parser before the gate read the form: what it parsed is what the app reads.
    const parsed = parsedMachineInfoFields(req.body);
    if (parsed !== null) fields = parsed;
    else if (announcesBody(req))
      return {
        ok: false,
        error: failure(
          "bad-body",
          `the ${kind === "json" ? "JSON" : "form"} body was consumed by a parser before the gate, which left nothing the gate can read; mount the gate before body parsers`,
        ),
      };
  }
  const cms = body !== null && startsLikeCms(body);
  const source = kind === "json" ? "json" : "form";
  const sources: MachineInfoSource[] = [
    ...(one === undefined ? [] : [one.source]),
    ...fields.map(() => source),
    ...(cms ? ["body" as const] : []),
  ];
  if (sources.length > 1) return ambiguous(sources);
  if (cms && body !== null) return { ok: true, source: "body", der: body, rawBody: body };
  const field = fields[0];
  return field !== undefined ? fromField(field, source, options.limit) : fromCopy(one, options.limit);
}

/** Finds the one MachineInfo a request carries: body, header, query or form field. */
export async function locateMachineInfo(req: GateRequest, options: LocateOptions): Promise<Located> {
  const deadline = Date.now() + options.timeoutMs;
  const lines = scanHeaders(req);
  const text: TextCopy[] = [
    ...lines.machineInfo.map((value) => ({ source: "header" as const, value })),
    ...queryCopies(req.originalUrl ?? req.url ?? "").map((value) => ({ source: "query" as const, value })),
  ];
  if (text.length > 1) return ambiguous(text.map((c) => c.source));
  // Node reads the first Content-Type, some servers the last: two that differ could make a form of a body the gate took
  // for none.
  if (lines.contentTypeWithUnderscore)
    return {
      ok: false,
      error: failure(
        "bad-content-type",
        "the request has a Content-Type header spelt with an underscore (Content_Type)",
      ),
    };
  if (lines.contentTypes.length > 1 && lines.contentTypes.some((t) => t !== lines.contentTypes[0])) {
    return {
      ok: false,
      error: failure("bad-content-type", "the request has more than one Content-Type header, and they differ"),
    };
  }
  const one = text[0];
  const parsed = Buffer.isBuffer(req.body) || typeof req.body === "string";
  const streaming = !parsed && req._body !== true && !req.readableEnded;
  if (streaming && announcesBody(req)) {
    const problem = encodingProblem(req);
    if (problem !== null) return { ok: false, error: failure("unsupported-encoding", problem) };
  }
  const contentType = req.headers["content-type"];
  const fields = fieldBody(contentType, req.method);
  if (fields !== null) return locateInFieldBody(req, { ...options, deadline }, fields, one, streaming);
  const declared = CMS_TYPES.has(mediaType(contentType ?? ""));
  if (declared && one !== undefined) return ambiguous(["body", one.source]);
  if (declared || parsed || (streaming && announcesBody(req))) {
    const read = await readBody(req, { ...options, deadline }, declared ? "machine-info" : "sniff");
    if (!read.ok) return read;
    if (read.body !== null) {
      if (one !== undefined) return ambiguous(["body", one.source]);
      if (read.body.length === 0)
        return {
          ok: false,
          error: failure("empty-body", "the request body is empty; expected MachineInfo (CMS SignedData)"),
        };
      return { ok: true, source: "body", der: read.body, rawBody: read.body };
    }
  }
  return fromCopy(one, options.limit);
}
