// The readers behind "a deviceinfo form field (or JSON member) is a
// MachineInfo copy": which names count, which multipart bodies can be read one
// way only, and which fields a body holds. The attacks on the real server are
// in form-machine-info.test.ts and json-machine-info.test.ts; here each quirk
// of a parser the gate must not lose to is pinned down, with hostile and
// random input.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  asciiCompatible,
  fieldBody,
  machineInfoFields,
  mediaType,
  multipartBoundary,
  namesMachineInfo,
  parsedMachineInfoFields,
  parseParameters,
  readMultipart,
  type BodyField,
} from "enrollgate/gate";

const B = "XyZ0boundary";
const MULTIPART = `multipart/form-data; boundary=${B}`;

/** A multipart body from parts given as [header lines, body]. */
function multipart(parts: ReadonlyArray<readonly [ReadonlyArray<string>, string | Buffer]>, boundary = B): Buffer {
  const pieces: Buffer[] = [];
  for (const [headers, body] of parts)
    pieces.push(
      Buffer.from(`--${boundary}\r\n${headers.join("\r\n")}\r\n\r\n`, "latin1"),
      Buffer.isBuffer(body) ? body : Buffer.from(body, "latin1"),
      Buffer.from("\r\n"),
    );
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

const field = (name: string, value = "AAAA") => [[`Content-Disposition: form-data; ${name}`], value] as const;

const texts = (fields: ReadonlyArray<BodyField>) =>
  fields.map((f) => (f.kind === "text" ? f.text : f.bytes.toString("latin1")));

function fieldsOf(body: Buffer, contentType = MULTIPART): string[] {
  const kind = fieldBody(contentType, "POST");
  if (kind === null) throw new Error(`not a form: ${contentType}`);
  const read = machineInfoFields(body, kind, contentType);
  if (!read.ok) throw new Error(read.problem);
  return texts(read.fields);
}

function problemOf(body: Buffer, contentType = MULTIPART): string {
  const read = machineInfoFields(body, fieldBody(contentType, "POST") ?? "multipart", contentType);
  if (read.ok) throw new Error(`read as ${JSON.stringify(texts(read.fields))}`);
  return read.problem;
}

describe("names some framework reads as deviceinfo", () => {
  it.each([
    ["deviceinfo", "itself"],
    ["DeviceInfo", "in another case"],
    ["device%69nfo", "percent-encoded"],
    ["deviceinfo[]", "PHP, Rails and qs arrays"],
    ["[deviceinfo]", "qs and Rack 2 drop a leading bracket"],
    ["deviceinfo%00", "PHP stops at a NUL"],
    ["+deviceinfo", "trimmed"],
    ["device%u0069nfo", "IIS and ASP.NET decode %uXXXX"],
    ["dev%C4%B1ce%C4%B1nfo", "a dotless ı (UTF-8) upper-cases to I"],
    ["devıceınfo", "a dotless ı as it arrives"],
    ["deviceinfo%69", "as sent, by a parser that decodes nothing"],
  ])("%s (%s)", (name) => {
    expect(namesMachineInfo(name)).toBe(true);
  });

  it.each(["deviceinfos", "device_info", "mydeviceinfo", "deviceinfo_x", "device%u0069nfo2", "devicelnfo"])(
    "not %s",
    (name) => {
      expect(namesMachineInfo(name)).toBe(false);
    },
  );
});

describe("reading a Content-Type", () => {
  it("takes the media type as the most lenient parser does (PHP ends it at ; , or a space)", () => {
    expect(mediaType(" Multipart/Form-Data; boundary=x")).toBe("multipart/form-data");
    expect(mediaType("application/x-www-form-urlencoded, text/plain")).toBe("application/x-www-form-urlencoded");
    expect(mediaType("application/x-www-form-urlencoded text/plain")).toBe("application/x-www-form-urlencoded");
  });

  it("knows which bodies frameworks read fields from as parameters", () => {
    expect(fieldBody("APPLICATION/X-WWW-FORM-URLENCODED;charset=utf-8", "PUT")).toBe("urlencoded");
    expect(fieldBody("multipart/form-data; boundary=x", "GET")).toBe("multipart");
    expect(fieldBody("multipart/mixed; boundary=x", "POST")).toBe("multipart"); // Rack parses these
    expect(fieldBody("multipart/related; boundary=x", "POST")).toBe("multipart");
    expect(fieldBody(undefined, "POST")).toBe("urlencoded"); // Rack reads a POST with no Content-Type as a form
    expect(fieldBody(" ", "POST")).toBe("urlencoded");
    expect(fieldBody(undefined, "PUT")).toBeNull();
    expect(fieldBody("application/json", "POST")).toBe("json"); // Rails' params and Laravel's input() merge its members
    expect(fieldBody("application/vnd.api+json", "PUT")).toBe("json");
    expect(fieldBody("text/x-json", "POST")).toBe("json");
    expect(fieldBody("text/plain; x=/json", "POST")).toBe("json"); // Laravel looks for /json anywhere in the header
    expect(fieldBody("application/x-apple-aspen-mdm-checkin", "PUT")).toBeNull();
    expect(fieldBody("multipart/byteranges; boundary=x", "POST")).toBeNull();
  });

  it("reads parameters strictly, and refuses what does not fit", () => {
    expect(parseParameters('; a=1;B="x\\"y" ;')).toEqual([
      ["a", "1"],
      ["b", 'x"y'],
    ]);
    for (const bad of ["; a", "; a=", '; a="x', "; =x", "x; a=1", "; a=1 2", '; a="\u0001"'])
      expect(parseParameters(bad), bad).toBeNull();
  });

  it("knows which charsets write names as their ASCII bytes", () => {
    for (const c of ["utf-8", "UTF8", "us-ascii", "ISO-8859-1", "windows-1252", "Shift_JIS", ""])
      expect(asciiCompatible(c), c).toBe(true);
    for (const c of ["utf-16", "UTF-16LE", "utf-32", "utf-7", "IBM037", "cp500", "base64"])
      expect(asciiCompatible(c), c).toBe(false);
  });
});

describe("the multipart boundary", () => {
  it.each([
    ["plain", `multipart/form-data; boundary=${B}`, B],
    ["quoted", 'multipart/form-data; boundary="a:b/c?"', "a:b/c?"],
    [
      "a browser's",
      "multipart/form-data; boundary=----WebKitFormBoundaryePkpFF7tjBAqx29L",
      "----WebKitFormBoundaryePkpFF7tjBAqx29L",
    ],
    ["with a charset", "multipart/form-data; charset=utf-8; BOUNDARY=x", "x"],
  ])("is read when every parser agrees: %s", (_what, type, boundary) => {
    expect(multipartBoundary(type)).toEqual({ ok: true, value: boundary });
  });

  it.each([
    ["none", "multipart/form-data", /no boundary/],
    ["none among the parameters", "multipart/form-data; charset=utf-8", /no boundary/],
    ["twice", "multipart/form-data; boundary=a; boundary=b", /gives boundary more than once/],
    ["empty", 'multipart/form-data; boundary=""', /empty/],
    ["longer than 70", `multipart/form-data; boundary=${"a".repeat(71)}`, /longer than 70/],
    ["with a comma (PHP ends it there)", 'multipart/form-data; boundary="a,b"', /character/],
    ["with a space (Rack keeps it, Go does not)", 'multipart/form-data; boundary="a b"', /character/],
    ["PHP's first 'boundary' elsewhere (xboundary=a)", "multipart/form-data; xboundary=a; boundary=b", /differently/],
    ["Rack's last 'boundary=' in another value", 'multipart/form-data; boundary=a; x="boundary=b"', /differently/],
    [
      "junk between the type and the parameters",
      "multipart/form-data, text/plain; boundary=a",
      /other than parameters/,
    ],
    ["unreadable parameters", "multipart/form-data; boundary=a b", /cannot be read/],
    ["a trailing space PHP keeps", "multipart/form-data; boundary=a ", /differently/],
  ])("is refused when parsers could disagree: %s", (_what, type, why) => {
    const read = multipartBoundary(type);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problem).toMatch(why);
  });
});

describe("a multipart body read one way only", () => {
  it("gives each part's headers and exact body", () => {
    const body = Buffer.concat([
      Buffer.from(`preamble\r\n--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n`),
      Buffer.from([0, 13, 10, 255]),
      Buffer.from(
        `\r\n--${B}\r\nContent-Disposition: form-data; name="b"; filename="b.txt"\r\nContent-Type: text/plain\r\n\r\n\r\n--${B}--\r\nepilogue`,
      ),
    ]);
    const read = readMultipart(body, B);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.value.map((p) => [p.index, p.disposition, p.body.toString("hex")])).toEqual([
      [1, [["name", "a"]], "000d0aff"],
      [
        2,
        [
          ["name", "b"],
          ["filename", "b.txt"],
        ],
        "",
      ],
    ]);
  });

  it("reads a body with no parts, and one without a closing CRLF", () => {
    expect(readMultipart(Buffer.from(`--${B}--`), B)).toEqual({ ok: true, value: [] });
    const read = readMultipart(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--${B}--`), B);
    expect(read.ok && read.value[0]?.body.toString()).toBe("x");
  });

  it.each([
    ["no delimiter at all", "just text", /no delimiter/],
    [
      "the boundary in the preamble, mid-line",
      `x--${B}\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${B}--`,
      /preamble/,
    ],
    [
      "bare LF line ends (Go and PHP read them)",
      `--${B}\nContent-Disposition: form-data; name=a\n\nv\n--${B}--\n`,
      /CRLF right after/,
    ],
    [
      "the boundary in mid-line inside a part (Rack and PHP end the part there)",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\n\r\nv--${B}\r\nContent-Disposition: form-data; name=deviceinfo\r\n\r\nw\r\n--${B}--`,
      /inside part 1/,
    ],
    [
      "transport padding after a delimiter (Go and Rack allow it)",
      `--${B}  \r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${B}--`,
      /CRLF right after/,
    ],
    [
      "the boundary as a prefix of a longer line",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${B}x\r\n--${B}--`,
      /CRLF right after/,
    ],
    [
      "no closing delimiter",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n`,
      /ends before its closing delimiter/,
    ],
    ["a truncated body", `--${B}\r\nContent-Disposition: form-da`, /ends before its closing delimiter/],
    [
      "the boundary after the closing delimiter",
      `--${B}--\r\n--${B}\r\nContent-Disposition: form-data; name=deviceinfo\r\n\r\nv\r\n--${B}--`,
      /after the closing delimiter/,
    ],
    ["text right after the closing delimiter", `--${B}--x`, /followed by something other than CRLF/],
    [
      "headers without a blank line",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\n--${B}--`,
      /blank line|inside part 1/,
    ],
    ["a folded header line", `--${B}\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nv\r\n--${B}--`, /folded/],
    [
      "a bare LF in the headers",
      `--${B}\r\nX: 1\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--${B}--`,
      /bare CR or LF/,
    ],
    [
      "a header line without a colon",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\nbroken\r\n\r\nv\r\n--${B}--`,
      /not "name: value"/,
    ],
    ["a part without headers", `--${B}\r\n\r\nv\r\n--${B}--`, /no Content-Disposition/],
    [
      "a part without a Content-Disposition (Rack takes its Content-ID as the name)",
      `--${B}\r\nContent-ID: deviceinfo\r\n\r\nv\r\n--${B}--`,
      /no Content-Disposition/,
    ],
    [
      "two Content-Dispositions",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\ncontent-disposition: form-data; name=b\r\n\r\nv\r\n--${B}--`,
      /more than one Content-Disposition/,
    ],
    [
      "a Content-Disposition without a name (Rack takes the filename)",
      `--${B}\r\nContent-Disposition: form-data; filename=deviceinfo\r\n\r\nv\r\n--${B}--`,
      /no name/,
    ],
    [
      "name and name*",
      `--${B}\r\nContent-Disposition: form-data; name=a; name*=UTF-8''deviceinfo\r\n\r\nv\r\n--${B}--`,
      /name is given more than once \(name, name\*\)/,
    ],
    [
      "RFC 2231 continuations",
      `--${B}\r\nContent-Disposition: form-data; name*0=device; name*1=info\r\n\r\nv\r\n--${B}--`,
      /name is given more than once/,
    ],
    [
      "a parameter twice",
      `--${B}\r\nContent-Disposition: form-data; name=a; filename=x; filename=y\r\n\r\nv\r\n--${B}--`,
      /gives filename more than once/,
    ],
    [
      "an unterminated quoted name",
      `--${B}\r\nContent-Disposition: form-data; name="a\r\n\r\nv\r\n--${B}--`,
      /cannot be read/,
    ],
    [
      "unquoted spaces (IE's broken file names)",
      `--${B}\r\nContent-Disposition: form-data; name=a; filename=a b.txt\r\n\r\nv\r\n--${B}--`,
      /cannot be read/,
    ],
    [
      "nested multipart/mixed",
      `--${B}\r\nContent-Disposition: form-data; name=files\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n--inner--\r\n--${B}--`,
      /itself multipart \(multipart\/mixed\)/,
    ],
    [
      "a quoted-printable part (Go undoes it)",
      `--${B}\r\nContent-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nv=3D\r\n--${B}--`,
      /Content-Transfer-Encoding "quoted-printable"/,
    ],
  ])("refuses %s", (_what, text, why) => {
    expect(problemOf(Buffer.from(text, "latin1"))).toMatch(why);
  });

  it("accepts the transfer encodings that change nothing", () => {
    for (const encoding of ["binary", "8bit", "7BIT"])
      expect(
        fieldsOf(
          multipart([[["Content-Disposition: form-data; name=a", `Content-Transfer-Encoding: ${encoding}`], "v"]]),
        ),
      ).toEqual([]);
  });
});

describe("the deviceinfo fields of a form", () => {
  it("in an urlencoded body: every name the query matcher counts, values decoded", () => {
    const body = Buffer.from("a=1&deviceinfo=AA%2BB&device%69nfo=x+y;[deviceinfo]=&b=deviceinfo");
    expect(fieldsOf(body, "application/x-www-form-urlencoded")).toEqual(["AA+B", "x+y", ""]);
    expect(fieldsOf(Buffer.from("deviceinfo=AAAA"), "")).toEqual(["AAAA"]); // a POST with no Content-Type, as Rack reads it
  });

  it.each([
    ["name=deviceinfo", "the plain name"],
    ['name="DeviceInfo"', "another case"],
    ['name="device%69nfo"', "percent-encoded"],
    ['name="[deviceinfo]"', "a leading bracket"],
    ["name*=UTF-8''deviceinfo", "RFC 2231 (Go, busboy)"],
    ["name*=utf-8'en'device%69nfo", "RFC 2231, percent-encoded"],
    ['name="device\\info"', "a backslash busboy undoes"],
    ['name="a;name=deviceinfo;"', "a ; inside quotes, where PHP splits"],
    ['name="a"; filename="x name=deviceinfo"', "Rack 2 takes the last ` name=` on the line"],
    ['name="=?UTF-8?B?ZGV2aWNlaW5mbw==?="', "an RFC 2047 word Java's FileUpload decodes"],
    ['name="=?iso-8859-1?Q?device=69nfo?="', "an RFC 2047 Q word"],
  ])("a part named by %s (%s) is a copy", (disposition) => {
    expect(fieldsOf(multipart([field('name="other"'), field(disposition, "QUJD")]))).toEqual(["QUJD"]);
  });

  it("a part whose other headers mention deviceinfo is a copy too (Rack 2 reads a name from any line that mentions Content-Disposition)", () => {
    expect(
      fieldsOf(
        multipart([
          [
            ["X-Note: Content-Disposition: form-data; name=deviceinfo", 'Content-Disposition: form-data; name="a"'],
            "QUJD",
          ],
        ]),
      ),
    ).toEqual(["QUJD"]);
  });

  it("counts every copy: two parts, and parts of every name", () => {
    expect(
      fieldsOf(multipart([field("name=deviceinfo", "A"), field("name=x"), field("name=DEVICEINFO", "B")])),
    ).toEqual(["A", "B"]);
  });

  it("leaves other names alone", () => {
    expect(fieldsOf(multipart([field("name=device_info"), field('name="deviceinfos"; filename="a.txt"')]))).toEqual([]);
  });

  it.each([
    ["name*=UTF-16LE''d%00e%00v%00i%00c%00e%00i%00n%00f%00o%00", /charset "UTF-16LE"/],
    ["name*=base64''ZGV2aWNlaW5mbw", /charset "base64"/], // busboy decodes it
    ['name="=?UTF-16?B?AGQAZQB2AGkAYwBlAGkAbgBmAG8=?="', /charset "UTF-16"/],
  ])("refuses a part whose name is in a charset it cannot read: %s", (disposition, why) => {
    expect(problemOf(multipart([field(disposition)]))).toMatch(why);
  });

  it("refuses a form whose charset is not ASCII-compatible (a servlet container decodes names in it)", () => {
    const body = Buffer.from("deviceinfo=AAAA", "utf16le");
    expect(problemOf(body, "application/x-www-form-urlencoded; charset=UTF-16LE")).toMatch(
      /charset "UTF-16LE" is not ASCII-compatible/,
    );
    expect(problemOf(multipart([field("name=a")]), `${MULTIPART}; charset=utf-7`)).toMatch(/charset "utf-7"/);
  });

  it("finds none in an empty body, whatever its Content-Type", () => {
    expect(fieldsOf(Buffer.alloc(0))).toEqual([]);
    expect(fieldsOf(Buffer.alloc(0), "multipart/form-data")).toEqual([]);
  });

  it("in what a parser before the gate left at req.body: every key named deviceinfo, each string in it", () => {
    expect(
      texts(
        parsedMachineInfoFields({
          a: "1",
          deviceinfo: "A",
          "device%69nfo": ["B", "C"],
          "[deviceinfo]": { x: "D" },
          deviceinfo_x: "E",
        }) ?? [],
      ),
    ).toEqual(["A", "B", "C", "D"]);
    expect(texts(parsedMachineInfoFields({ deviceinfo: 5 }) ?? [])).toEqual(["\u0000"]);
    expect(parsedMachineInfoFields(undefined)).toBeNull();
    expect(parsedMachineInfoFields(Buffer.from("deviceinfo=A"))).toBeNull();
  });
});

describe("the deviceinfo members of a JSON body", () => {
  const JSON_TYPE = "application/json";
  it.each([
    ['{"a":1,"deviceinfo":"QUJD"}', ["QUJD"], "a member"],
    [
      '{"deviceinfo":"QUJD","deviceinfo":"REVG"}',
      ["QUJD", "REVG"],
      "a repeated member, both (parsers keep the first or the last)",
    ],
    ['{"\\u0064eviceInfo": "QU\\/J"}', ["QU/J"], "escapes undone in the name and the value"],
    ['{"device%69nfo":"QUJD","[deviceinfo]":"REVG"}', ["QUJD", "REVG"], "names matched as parameters are"],
    ['{"deviceinfo":{"a":"x"}}', ["\u0000"], "a value that is not a string: a copy, and not base64"],
    ['{"a":{"deviceinfo":"x"},"b":["deviceinfo"],"c":"deviceinfo"}', [], "not nested members, array items or values"],
    ['[{"deviceinfo":"x"}]', [], "not inside a top-level array (Rails puts it at _json)"],
    ['{"a":"}{\\"","deviceinfo":"QUJD"}', ["QUJD"], "brackets and quotes inside strings"],
    ['{"deviceinfo":"QUJD",}', ["QUJD"], "JSON a lenient parser reads (a trailing comma)"],
    ['{"deviceinfo" : "QUJD', ["QUJD"], "an unterminated string"],
  ])("%s gives %j (%s)", (text, expected) => {
    expect(fieldsOf(Buffer.from(text), JSON_TYPE)).toEqual(expected);
  });

  it("refuses a JSON body with NUL bytes (UTF-16, UTF-32), which some parsers detect and decode", () => {
    expect(problemOf(Buffer.from('{"deviceinfo":"QUJD"}', "utf16le"), JSON_TYPE)).toMatch(/NUL bytes/);
    expect(problemOf(Buffer.from('{"a":"b"}'), "application/json; charset=utf-32")).toMatch(/not ASCII-compatible/);
  });
});

describe("on hostile input", () => {
  const pieces = fc.constantFrom(
    `--${B}`,
    `--${B}--`,
    "\r\n",
    "\n",
    "\r",
    " ",
    "Content-Disposition: form-data; ",
    "name=",
    "deviceinfo",
    '"',
    ";",
    "\\",
    "=?UTF-8?B?",
    "?=",
    "*=UTF-8''",
    "Content-Type: multipart/mixed",
    "%69",
    "x",
  );

  it("never throws, and whatever it reads holds every part that names deviceinfo", () => {
    const text = fc.array(fc.oneof(pieces, fc.string({ maxLength: 6 })), { maxLength: 6 }).map((l) => l.join(""));
    const name = fc.oneof(
      fc.constantFrom("deviceinfo", '"DeviceInfo"', "device%69nfo", "a", '"a;name=deviceinfo;"'),
      text,
    );
    const part = fc
      .tuple(name, fc.array(text, { maxLength: 2 }), text)
      .map(([n, lines, body]) => [[`Content-Disposition: form-data; name=${n}`, ...lines], body] as const);
    // Well-formed bodies of such parts, some with a piece inserted anywhere.
    const bodies = fc
      .tuple(fc.array(part, { maxLength: 4 }), fc.option(fc.tuple(fc.nat(), pieces)))
      .map(([parts, insert]) => {
        const body = multipart(parts).toString("latin1");
        if (insert === null) return body;
        const at = insert[0] % (body.length + 1);
        return body.slice(0, at) + insert[1] + body.slice(at);
      });
    let readWithFields = 0;
    fc.assert(
      fc.property(bodies, (text) => {
        const body = Buffer.from(text, "latin1");
        const read = machineInfoFields(body, "multipart", MULTIPART);
        if (!read.ok) return;
        const parts = readMultipart(body, B);
        expect(parts.ok).toBe(true);
        if (!parts.ok) return;
        // Every part whose headers hold the word deviceinfo in plain ASCII is among the fields.
        const plain = parts.value.filter((p) => /(^|[^a-z0-9_])deviceinfo($|[^a-z0-9_])/i.test(p.head)).length;
        expect(read.fields.length).toBeGreaterThanOrEqual(plain);
        if (read.fields.length > 0) readWithFields++;
      }),
      { numRuns: 3000 },
    );
    // The generator reaches bodies the gate reads, with deviceinfo parts in them.
    expect(readWithFields).toBeGreaterThan(0);
  });

  it("never throws on any bytes, under any Content-Type", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 80 }), (bytes, type) => {
        const body = Buffer.from(bytes);
        machineInfoFields(body, "multipart", `multipart/form-data${type}`);
        machineInfoFields(body, "urlencoded", `application/x-www-form-urlencoded${type}`);
        machineInfoFields(body, "json", `application/json${type}`);
        multipartBoundary(type);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads a 64 KiB body of 1,500 small parts", () => {
    const body = multipart(Array.from({ length: 1500 }, (_, i) => field(`name=f${i}`, "v")));
    expect(body.length).toBeGreaterThan(60_000);
    expect(fieldsOf(body)).toEqual([]);
  });
});
