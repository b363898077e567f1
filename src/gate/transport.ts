// Where MachineInfo travels in a request: the raw POST body
// (application/pkcs7-signature) sent to the profile URL, base64 in the
// x-apple-aspen-deviceinfo header on the first GET of the configuration web
// URL, or a deviceinfo query parameter after a web flow's redirect.
import type { IncomingMessage } from "node:http";

export type MachineInfoSource = "body" | "header" | "query";

export interface TransportError {
  readonly status: 400 | 413;
  readonly code: "bad-base64" | "body-too-large" | "empty-body" | "bad-body";
  readonly message: string;
}

export type Located =
  | { readonly kind: "found"; readonly source: MachineInfoSource; readonly der: Uint8Array; readonly rawBody: Buffer | null }
  | { readonly kind: "absent"; readonly rawBody: Buffer | null }
  | { readonly kind: "error"; readonly error: TransportError; readonly drain: boolean };

/** A request as Express or plain Node hands it over; `body` when a parser ran first. */
export type GateRequest = IncomingMessage & { body?: unknown; originalUrl?: string; _body?: boolean };

export const HEADER = "x-apple-aspen-deviceinfo";
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

function contentType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Reads the request body, refusing more than `limit` bytes. */
function readBody(req: GateRequest, limit: number): Promise<{ body: Buffer } | { error: TransportError }> {
  // A body parser mounted before the gate may already have read it.
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body.length > limit ? { error: tooLarge(limit) } : { body: req.body });
  if (typeof req.body === "string") return Promise.resolve({ body: Buffer.from(req.body, "latin1") });
  if (req._body === true || req.readableEnded) return Promise.resolve({ error: { status: 400, code: "bad-body", message: "the request body was consumed by another parser before the gate" } });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ error: tooLarge(limit) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: { body: Buffer } | { error: TransportError }) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done({ error: tooLarge(limit) });
      else chunks.push(chunk);
    };
    const onEnd = () => done({ body: Buffer.concat(chunks, size) });
    const onError = () => done({ error: { status: 400, code: "bad-body", message: "the request body could not be read" } });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/**
 * After refusing an oversized body: read and discard what the client is still
 * sending, so that it reads the 413 instead of a connection reset (closing a
 * socket with unread data resets it). Past `cap` bytes, the connection is cut.
 */
export function discardBody(req: IncomingMessage, cap: number): void {
  let seen = 0;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > cap) req.socket.destroy();
  });
  req.resume();
}

function tooLarge(limit: number): TransportError {
  return { status: 413, code: "body-too-large", message: `MachineInfo is larger than the ${limit}-byte limit` };
}

function queryValue(req: GateRequest): string | null {
  const url = req.originalUrl ?? req.url ?? "";
  const q = url.indexOf("?");
  if (q === -1) return null;
  for (const part of url.slice(q + 1).split("&")) {
    const eq = part.indexOf("=");
    const name = eq === -1 ? part : part.slice(0, eq);
    if (name !== QUERY) continue;
    try {
      // A '+' from the standard alphabet that was not percent-encoded is still a '+'.
      return decodeURIComponent((eq === -1 ? "" : part.slice(eq + 1)).replace(/\+/g, "%2B"));
    } catch {
      return "\u0000"; // bad percent-encoding: reported as bad base64
    }
  }
  return null;
}

function fromText(text: string, source: "header" | "query", limit: number): Located {
  const what = source === "header" ? `the ${HEADER} header` : `the ${QUERY} query parameter`;
  if (text.length > Math.ceil((limit * 4) / 3) + 4) return { kind: "error", error: tooLarge(limit), drain: false };
  const der = decodeBase64(text);
  if (der === null) return { kind: "error", error: { status: 400, code: "bad-base64", message: `${what} is not base64` }, drain: false };
  return { kind: "found", source, der, rawBody: null };
}

/** Finds MachineInfo in a request: body first, then header, then query. */
export async function locateMachineInfo(req: GateRequest, limit: number): Promise<Located> {
  if (CMS_TYPES.has(contentType(req))) {
    const read = await readBody(req, limit);
    if ("error" in read) return { kind: "error", error: read.error, drain: read.error.status === 413 };
    if (read.body.length === 0) return { kind: "error", error: { status: 400, code: "empty-body", message: "the request body is empty; expected MachineInfo (CMS SignedData)" }, drain: false };
    return { kind: "found", source: "body", der: read.body, rawBody: read.body };
  }
  const header = req.headers[HEADER];
  if (typeof header === "string" && header !== "") return fromText(header, "header", limit);
  const query = queryValue(req);
  if (query !== null && query !== "") return fromText(query, "query", limit);
  return { kind: "absent", rawBody: null };
}
