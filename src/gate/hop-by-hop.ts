// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are never
// forwarded, nor are the headers a `Connection` header names. A client must
// not be able to name, for removal on the way upstream, what frames its body
// or what the gate decides on: such a request is refused, not obeyed.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { canonicalName, isEnrollgateHeader, MACHINE_INFO_HEADER } from "./header-names.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function nominated(req: IncomingMessage): string[] {
  const names: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== "connection") continue;
    for (const token of (raw[i + 1] as string).split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "") names.push(name);
    }
  }
  return names;
}

/** Why the request's Connection header cannot be obeyed, or null. */
export function connectionProblem(req: IncomingMessage): string | null {
  const connection = req.headers.connection?.toLowerCase();
  if (connection === undefined || connection === "keep-alive" || connection === "close") return null;
  for (const name of nominated(req)) {
    const canonical = canonicalName(name);
    if (
      canonical === "content-length" ||
      canonical === "transfer-encoding" ||
      canonical === "host" ||
      canonical === MACHINE_INFO_HEADER ||
      isEnrollgateHeader(name)
    ) {
      return `the Connection header names ${JSON.stringify(name)}, which the gate does not remove`;
    }
  }
  return null;
}

/**
 * Whether a header of a message with these headers is end-to-end: not hop-by-hop, not named by its Connection header.
 */
export function endToEndFilter(headers: IncomingHttpHeaders): (name: string) => boolean {
  const connection = headers.connection;
  if (connection === undefined) return (name) => !HOP_BY_HOP.has(name);
  const named = new Set(
    connection
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ""),
  );
  return (name) => !HOP_BY_HOP.has(name) && !named.has(name);
}

/** The end-to-end headers of a message: without hop-by-hop ones and those its Connection header names. */
export function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const keep = endToEndFilter(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && keep(name)) out[name] = value;
  }
  return out;
}
