// Dates in policy files: "2026-12-01" (a whole UTC day) or an RFC 3339
// date-time. A rule is active from the start of its activeFrom day; an
// exemption lasts through the end of its until day.

export interface PolicyDate {
  /** The first instant, epoch milliseconds. */
  readonly start: number;
  /** The first instant after it: the next midnight for a date, the same instant for a date-time. */
  readonly end: number;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY = 24 * 60 * 60 * 1000;

/** Parses a policy date, or returns null for an impossible one (2026-02-30). */
export function parsePolicyDate(text: string): PolicyDate | null {
  const m = DATE_ONLY.exec(text);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const start = Date.UTC(y, mo - 1, d);
    const check = new Date(start);
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
    return { start, end: start + DAY };
  }
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/T\d{2}:\d{2}/.test(text)) return null;
  return { start: t, end: t };
}

/** Parses a --now style instant: a date (its midnight UTC) or a date-time. */
export function parseInstant(text: string): number | null {
  return parsePolicyDate(text)?.start ?? null;
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}
