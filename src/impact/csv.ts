// RFC 4180 CSV, read strictly: quoted fields (with "" for a quote, and line
// breaks inside quotes), CRLF or LF line ends, an optional byte-order mark.
// Inventories come from MDM exports and spreadsheets, so a row that could be
// read two ways is an error at its line rather than a guess.

/** One record and the line it starts on (1-based). */
export interface CsvRecord {
  readonly line: number;
  readonly fields: ReadonlyArray<string>;
}

/** Where and why a CSV text cannot be read. */
export interface CsvProblem {
  readonly line: number;
  readonly message: string;
}

export type CsvRead =
  | { readonly ok: true; readonly records: ReadonlyArray<CsvRecord> }
  | { readonly ok: false; readonly problem: CsvProblem };

export interface CsvLimits {
  /** The longest field, in characters: no device fact comes near it. */
  readonly maxField: number;
  /** The most fields a record may have. */
  readonly maxFields: number;
}

export const CSV_LIMITS: CsvLimits = Object.freeze({ maxField: 1024, maxFields: 64 });

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

/**
 * Reads CSV text into records. Blank lines are skipped; everything else must
 * be RFC 4180: a quote only opens a field or closes it (doubled inside), and
 * a quoted field ends at a separator or a line end.
 */
export function parseCsv(input: string, limits: CsvLimits = CSV_LIMITS): CsvRead {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  const fail = (at: number, message: string): CsvRead => ({ ok: false, problem: { line: at, message } });
  while (i < n) {
    const start = line;
    // A blank line (LF, CRLF or a lone CR) holds no record.
    const first = text.charCodeAt(i);
    if (first === LF || first === CR) {
      i += first === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        const opened = line;
        let parts = "";
        let from = ++i;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q === -1) return fail(opened, "a quoted field is never closed (a missing closing quote)");
          // Count the line breaks inside the quotes, so later lines keep their numbers.
          for (let k = i; k < q; k++) {
            const c = text.charCodeAt(k);
            if (c === LF || (c === CR && text.charCodeAt(k + 1) !== LF)) line++;
          }
          if (text.charCodeAt(q + 1) === QUOTE) {
            parts += text.slice(from, q + 1);
            i = from = q + 2;
            continue;
          }
          parts += text.slice(from, q);
          i = q + 1;
          break;
        }
        const next = text.charCodeAt(i);
        if (i < n && next !== COMMA && next !== LF && next !== CR)
          return fail(line, "a quoted field is followed by more text before the next comma; quote the whole field");
        value = parts;
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE)
            return fail(line, 'a quote inside an unquoted field; quote the field and double the quote ("")');
          j++;
        }
        value = text.slice(i, j);
        i = j;
      }
      if (value.length > limits.maxField)
        return fail(start, `field ${fields.length + 1} is longer than ${limits.maxField} characters`);
      fields.push(value);
      if (fields.length > limits.maxFields) return fail(start, `the row has more than ${limits.maxFields} fields`);
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === CR) i += text.charCodeAt(i + 1) === LF ? 2 : 1;
      else if (c === LF) i++;
      if (i <= n) line++;
      break;
    }
    records.push({ line: start, fields });
  }
  return { ok: true, records };
}
