// --now: the instant decisions and time-based checks use. The real clock is
// read here, at the edge, and nowhere in the core.
import { parseInstant } from "../policy/dates.js";
import { UsageError } from "./io.js";

export function resolveNow(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const t = parseInstant(text);
  if (t === null)
    throw new UsageError(`--now ${JSON.stringify(text)} is not a date (expected YYYY-MM-DD or an RFC 3339 date-time)`);
  return t;
}
