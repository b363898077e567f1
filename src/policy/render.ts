// Rendering a 403 body as Apple expects it: JSON (application/json) or an XML
// property list (application/xml). Byte-stable: the same body always renders
// to the same bytes, because bodies are built with a fixed key order.
import { build as buildPlist } from "plist";
import type { SoftwareUpdateRequiredBody } from "../apple/software-update-required.js";

export type ResponseFormat = "json" | "plist";

export interface RenderedResponse {
  readonly status: 403;
  readonly contentType: "application/json" | "application/xml";
  readonly body: Buffer;
}

export function renderBody(body: SoftwareUpdateRequiredBody, format: ResponseFormat): RenderedResponse {
  if (format === "plist") {
    return {
      status: 403,
      contentType: "application/xml",
      body: Buffer.from(buildPlist(body as unknown as Parameters<typeof buildPlist>[0]), "utf8"),
    };
  }
  return { status: 403, contentType: "application/json", body: Buffer.from(JSON.stringify(body), "utf8") };
}

/** The format for a request under `negotiate`: plist when Accept prefers XML, else JSON. */
export function negotiateFormat(accept: string | undefined): ResponseFormat {
  if (accept === undefined) return "json";
  let best: ResponseFormat = "json";
  let bestQ = -1;
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    const format: ResponseFormat | null =
      type === "application/xml" ||
      type === "text/xml" ||
      type === "application/x-plist" ||
      type === "application/x-apple-plist"
        ? "plist"
        : type === "application/json"
          ? "json"
          : null;
    if (format !== null && q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  return best;
}
