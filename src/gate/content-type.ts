// Reading a Content-Type (or Content-Disposition) as the parsers behind the
// gate do. The media type is read as the most lenient of them reads it (PHP
// ends it at `;`, `,` or a space; Rack at `;` or `,`), so that no body one of
// them takes for a form passes as something else; parameters are read
// strictly (RFC 9110 5.6.6), and what does not fit that grammar is for the
// caller to refuse.

/** The media type, lower-cased: the value up to its first `;`, `,` or whitespace. */
export function mediaType(value: string): string {
  const text = value.trimStart();
  const end = text.search(/[;,\s]/);
  return (end === -1 ? text : text.slice(0, end)).toLowerCase();
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
const isTchar = (c: string | undefined) => c !== undefined && TCHAR.test(c);

/**
 * Parameters after a media type or a disposition type, `*( OWS ";" OWS
 * token "=" ( token / quoted-string ) )` with a trailing `;` allowed (Go
 * ignores one): [name lower-cased, value unquoted] in order, or null when the
 * text does not fit. Quoted strings may hold bytes above 0x7F (UTF-8 file
 * names), never control characters.
 */
export function parseParameters(text: string): Array<readonly [string, string]> | null {
  const params: Array<readonly [string, string]> = [];
  const n = text.length;
  let i = 0;
  const ows = () => {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
  };
  for (;;) {
    ows();
    if (i >= n) return params;
    if (text[i] !== ";") return null;
    i++;
    ows();
    if (i >= n) return params;
    const nameStart = i;
    while (isTchar(text[i])) i++;
    if (i === nameStart || text[i] !== "=") return null;
    const name = text.slice(nameStart, i).toLowerCase();
    i++;
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) return null;
        const c = text[i] as string;
        const code = c.charCodeAt(0);
        if (c === '"') break;
        if ((code < 0x20 && c !== "\t") || code === 0x7f) return null;
        if (c === "\\") {
          i++;
          if (i >= n) return null;
        }
        value += text[i];
        i++;
      }
      i++;
    } else {
      const valueStart = i;
      while (isTchar(text[i])) i++;
      if (i === valueStart) return null;
      value = text.slice(valueStart, i);
    }
    params.push([name, value]);
  }
}

/**
 * Charsets in which the ASCII letters of a name are written as ASCII bytes and
 * no other bytes decode to them, so that the names the gate reads in the bytes
 * are the names any parser decodes. UTF-16, UTF-32, UTF-7 and EBCDIC are not:
 * a servlet container decodes form field names in the charset the request
 * names, and in those `deviceinfo` has other bytes.
 */
const ASCII_COMPATIBLE =
  /^(?:utf-?8|(?:us-?)?ascii|iso[-_]?8859[-_]\d{1,2}|latin-?[1-9]|l[1-9]|(?:windows|cp)-?125\d|shift_jis|sjis|windows-31j|cp932|euc-jp|euc-kr|gb2312|gbk|gb18030|big5|koi8-[ru])$/i;

/** Whether a charset label is one in which names read the same as their bytes (an empty label counts as ASCII). */
export function asciiCompatible(charset: string): boolean {
  return charset === "" || ASCII_COMPATIBLE.test(charset.trim());
}
