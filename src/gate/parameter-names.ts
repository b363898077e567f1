// Which parameter names some framework reads as `deviceinfo`: the one matcher
// for query parameters, form fields and multipart parts. Frameworks read more
// names than `deviceinfo` itself: `deviceinfo[]` and `deviceinfo[0]` (PHP,
// Rails, qs), `[deviceinfo]` (qs, which Express 4 parses queries with, and
// Rack 2 drop the leading bracket), `deviceinfo%00` (PHP reads a name up to a
// NUL), ` deviceinfo` (trimmed), `DeviceInfo` (case-insensitive binders),
// `device%u0069nfo` (IIS and ASP.NET decode %uXXXX), `devıceınfo` (a dotless
// ı upper-cases to I, so binders that compare upper-cased names match it). So
// a name counts when, in any of those readings or as sent, `deviceinfo`
// stands apart from other letters, digits and `_`. Counting too many is safe (the gate then
// decides on the copy, or refuses two); too few lets a copy past undecided.

const MACHINE_INFO_WORD = /(?:^|[^a-z0-9_])deviceinfo(?:$|[^a-z0-9_])/;
const PERCENT = /%([0-9A-Fa-f]{2})/g;
const PERCENT_U = /%[uU]([0-9A-Fa-f]{4})/g;
const NOT_ASCII = /[^\x00-\x7f]/;
const ABOVE_LATIN1 = /[^\x00-\xff]/;

const fromHex = (_m: string, hex: string) => String.fromCharCode(parseInt(hex, 16));

/** Whether `deviceinfo` is a word in `text` in any case, as it is, as UTF-8, or upper-cased and back. */
function wordIn(text: string): boolean {
  if (MACHINE_INFO_WORD.test(text.toLowerCase())) return true;
  if (!NOT_ASCII.test(text)) return false;
  // Bytes read as Latin-1 (percent-escapes, a request line): read them as UTF-8 too.
  const unicode = ABOVE_LATIN1.test(text) ? text : Buffer.from(text, "latin1").toString("utf8");
  return MACHINE_INFO_WORD.test(unicode.toLowerCase()) || MACHINE_INFO_WORD.test(unicode.toUpperCase().toLowerCase());
}

/** Whether a raw parameter name (or any text a name may be read from) is one some framework reads as `deviceinfo`. */
export function namesMachineInfo(raw: string): boolean {
  // `+` is a space, and escapes are decoded (bad ones kept as they are); a parser that decodes nothing reads the name
  // as sent.
  const spaced = raw.replace(/\+/g, " ");
  if (wordIn(spaced.replace(PERCENT, fromHex))) return true;
  if (raw.includes("%") && wordIn(spaced)) return true;
  return spaced.includes("%u") || spaced.includes("%U")
    ? wordIn(spaced.replace(PERCENT_U, fromHex).replace(PERCENT, fromHex))
    : false;
}

/**
 * The values of every parameter some framework reads as `deviceinfo` in
 * `key=value` pairs (a query, an urlencoded form), split on `&` and `;`,
 * still percent-encoded.
 */
export function machineInfoParameters(text: string): string[] {
  const values: string[] = [];
  for (const part of text.split(/[&;]/)) {
    const eq = part.indexOf("=");
    if (namesMachineInfo(eq === -1 ? part : part.slice(0, eq))) values.push(eq === -1 ? "" : part.slice(eq + 1));
  }
  return values;
}

/**
 * A parameter value as the gate decides on it: percent-decoded, a `+` kept (base64's standard alphabet has it); bad
 * escapes make it unreadable.
 */
export function parameterText(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, "%2B"));
  } catch {
    return "\u0000"; // bad percent-encoding: reported as bad base64
  }
}
