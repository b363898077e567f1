// Deadlines of `enrolled` blocks. Apple's TargetLocalDateTime is a date-time
// on the device's own clock (yyyy-mm-ddThh:mm:ss, no time zone), so one
// deadline is a different instant in each time zone: it comes first where
// the clock is UTC+14 and last where it is UTC−12. Without a time zone,
// enrollgate warns of a deadline once it has passed anywhere, and calls a
// device overdue once it has passed everywhere.
import type { Deadline } from "./model.js";

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** The earliest and latest UTC offsets in use: Line Islands (UTC+14) and Baker Island (UTC−12). */
export const EARLIEST_ZONE_OFFSET = 14 * HOUR;
export const LATEST_ZONE_OFFSET = -12 * HOUR;

/** A local date-time's fields, as if it were UTC (epoch ms of the same wall-clock reading in UTC). */
function wallClock(text: string): number | null {
  const m = LOCAL_DATE_TIME.exec(text);
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (h > 23 || mi > 59 || s > 59) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const c = new Date(t);
  if (c.getUTCFullYear() !== y || c.getUTCMonth() !== mo - 1 || c.getUTCDate() !== d) return null;
  return t;
}

function format(wall: number): string {
  return new Date(wall).toISOString().slice(0, 19);
}

/** A local date-time in Apple's form (seconds added when left out), or null when it is not a real one. */
export function normalizeLocalDateTime(text: string): string | null {
  const wall = wallClock(text);
  return wall === null ? null : format(wall);
}

/** Whether a string is an hh:mm time of day. */
export function isTimeOfDay(text: string): boolean {
  return TIME_OF_DAY.test(text);
}

/** The local date-time `days` days after the day that starts at `postedDayStart` (epoch ms, UTC midnight), at hh:mm. */
export function daysAfter(postedDayStart: number, days: number, at: string): string {
  const m = TIME_OF_DAY.exec(at);
  const minutes = m === null ? 0 : Number(m[1]) * 60 + Number(m[2]);
  const day = Math.floor(postedDayStart / DAY) * DAY;
  return format(day + days * DAY + minutes * 60 * 1000);
}

/** The instants a local date-time is reached: first (UTC+14) and last (UTC−12). */
export function localInstants(localDateTime: string): { readonly first: number; readonly last: number } | null {
  const wall = wallClock(localDateTime);
  return wall === null ? null : { first: wall - EARLIEST_ZONE_OFFSET, last: wall - LATEST_ZONE_OFFSET };
}

/** Whether an IANA time zone name (Europe/Berlin, UTC) is one this runtime knows. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The UTC offset of a time zone at an instant, in ms. */
function offsetAt(timeZone: string, instant: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The instant a local date-time is reached in one time zone; null when it is not a real local date-time. */
export function instantIn(localDateTime: string, timeZone: string): number | null {
  const wall = wallClock(localDateTime);
  if (wall === null) return null;
  // Two rounds settle any offset, daylight saving transitions included.
  const first = wall - offsetAt(timeZone, wall);
  return wall - offsetAt(timeZone, first);
}

/** A deadline as written, for messages: 2026-12-15T18:00:00, or 14 days after release at 18:00. */
export function describeDeadline(d: Deadline): string {
  return d.kind === "local"
    ? d.localDateTime
    : `${d.daysAfterRelease} day${d.daysAfterRelease === 1 ? "" : "s"} after release at ${d.at}`;
}
