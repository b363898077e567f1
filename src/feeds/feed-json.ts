// What every feed reader does first: a feed is a JSON object, or a FeedError
// that names the file.
import { EnrollgateError } from "../errors.js";
import { printable } from "../printable.js";

/** A feed (GDMF, SOFA, an ADU catalog snapshot, live ADU's credentials) that cannot be used. */
export class FeedError extends EnrollgateError<"feed-unusable"> {
  override readonly name = "FeedError";

  constructor(message: string) {
    super("feed-unusable", message);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A model identifier as the feeds list them (iPhone15,2, J414sAP, Mac-7BA5B2D9E42DDD94, VirtualMac2,1). */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9,._-]{0,63}$/;

/** The feed's JSON value, or a FeedError naming `source` and what JSON.parse found. */
export function parseFeedJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // JSON.parse quotes the text it stopped at, line feeds and all.
    throw new FeedError(`${source} is not JSON: ${printable((e as Error).message)}`);
  }
}
