// A strict walk over BER-encoded bytes, before any ASN.1 library sees them:
// every length exact and minimally encoded, constructed and primitive forms
// where ASN.1 says, indefinite lengths only on constructed values (streaming
// CMS encoders use them), and limits on depth and size. The parser used after
// this is lenient in places; a message that passes here is encoded exactly as
// its structure says, so a changed length or tag byte cannot slip through.

const MAX_DEPTH = 64;
const MAX_NODES = 20_000;

// Universal types that are always primitive, and those always constructed.
const PRIMITIVE = new Set([1, 2, 5, 6, 10, 13, 23, 24]); // BOOLEAN INTEGER NULL OID ENUMERATED RELATIVE-OID UTCTime GeneralizedTime
const CONSTRUCTED = new Set([16, 17]); // SEQUENCE SET

class EncodingError extends Error {}

/** Why the bytes are not one well-formed BER value, or null when they are. */
export function encodingProblem(bytes: Uint8Array): string | null {
  let nodes = 0;
  let pos = 0;

  const fail = (what: string): never => {
    throw new EncodingError(`${what} at byte ${pos}`);
  };

  /** Reads one value starting at `pos`; returns true when it was an end-of-contents marker. */
  const value = (end: number, depth: number, insideIndefinite: boolean): boolean => {
    if (++nodes > MAX_NODES) fail(`more than ${MAX_NODES} values`);
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    if (pos >= end) fail("a value is missing");
    const id = bytes[pos++] as number;
    const tagClass = id >> 6;
    const constructed = (id & 0x20) !== 0;
    let tag = id & 0x1f;
    if (tag === 0x1f) {
      tag = 0;
      let first = true;
      for (;;) {
        if (pos >= end) fail("a tag is cut short");
        const b = bytes[pos++] as number;
        if (first && b === 0x80) fail("a tag number has a leading zero");
        first = false;
        tag = tag * 128 + (b & 0x7f);
        if (tag > 0xffffff) fail("a tag number is too large");
        if ((b & 0x80) === 0) break;
      }
      if (tag < 0x1f) fail("a small tag number uses the long form");
    }
    if (pos >= end) fail("a length is missing");
    const first = bytes[pos++] as number;
    if (id === 0 && first === 0) {
      if (!insideIndefinite) fail("an end-of-contents marker outside an indefinite length");
      return true;
    }
    if (tagClass === 0) {
      if (PRIMITIVE.has(tag) && constructed) fail(`universal type ${tag} in constructed form`);
      if (CONSTRUCTED.has(tag) && !constructed) fail(`universal type ${tag} in primitive form`);
    }
    if (first === 0x80) {
      if (!constructed) fail("an indefinite length on a primitive value");
      while (!value(end, depth + 1, true)) {
        // children until the end-of-contents marker
      }
      return false;
    }
    let length = first;
    if (first > 0x80) {
      const count = first & 0x7f;
      if (count > 4) fail("a length longer than 4 bytes");
      if (pos + count > end) fail("a length is cut short");
      if (bytes[pos] === 0) fail("a length has a leading zero byte");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (bytes[pos++] as number);
      if (length < 0x80) fail("a short length uses the long form");
    }
    const contentEnd = pos + length;
    if (contentEnd > end) fail("a length runs past its container");
    if (constructed) {
      while (pos < contentEnd) value(contentEnd, depth + 1, false);
    } else {
      pos = contentEnd;
    }
    return false;
  };

  try {
    value(bytes.length, 0, false);
    if (pos !== bytes.length) return `trailing data: ${bytes.length - pos} bytes`;
    return null;
  } catch (e) {
    if (e instanceof EncodingError) return e.message;
    throw e;
  }
}
