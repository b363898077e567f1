// A strict walk over BER-encoded bytes, before anything reads a field: every
// length exact and minimally encoded, constructed and primitive forms where
// ASN.1 says, indefinite lengths only on constructed values (streaming CMS
// encoders use them), and limits on depth and size. It yields the tree of
// values as offsets into the bytes, which the CMS and X.509 readers walk: a
// message that passes here is encoded exactly as its structure says, so a
// changed length or tag byte cannot slip through.
import { EnrollgateError } from "../errors.js";

const MAX_DEPTH = 64;
const MAX_NODES = 20_000;

// Universal types that are always primitive, and those always constructed.
// BOOLEAN INTEGER NULL OID ENUMERATED RELATIVE-OID UTCTime GeneralizedTime
const PRIMITIVE = new Set([1, 2, 5, 6, 10, 13, 23, 24]);
const CONSTRUCTED = new Set([16, 17]); // SEQUENCE SET

export const UNIVERSAL = 0;
export const CONTEXT = 2;

/** One value: where its identifier, contents and end are in the bytes. */
export interface BerNode {
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  readonly contentStart: number;
  /** End of the contents (before an end-of-contents marker). */
  readonly contentEnd: number;
  /** End of the value (after its end-of-contents marker, if any). */
  readonly end: number;
  readonly indefinite: boolean;
  /** The values inside a constructed one; empty for a primitive. */
  readonly children: ReadonlyArray<BerNode>;
}

export class EncodingError extends EnrollgateError<"ber-invalid"> {
  override readonly name = "EncodingError";

  constructor(message: string) {
    super("ber-invalid", message);
  }
}

/** The tree of one well-formed BER value filling `bytes`; throws EncodingError naming the first problem. */
export function decodeBer(bytes: Uint8Array): BerNode {
  let nodes = 0;
  let pos = 0;

  const fail = (what: string): never => {
    throw new EncodingError(`${what} at byte ${pos}`);
  };

  /** Reads one value starting at `pos`; null when it was an end-of-contents marker. */
  const value = (end: number, depth: number, insideIndefinite: boolean): BerNode | null => {
    if (++nodes > MAX_NODES) fail(`more than ${MAX_NODES} values`);
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    if (pos >= end) fail("a value is missing");
    const start = pos;
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
      return null;
    }
    if (tagClass === UNIVERSAL) {
      if (PRIMITIVE.has(tag) && constructed) fail(`universal type ${tag} in constructed form`);
      if (CONSTRUCTED.has(tag) && !constructed) fail(`universal type ${tag} in primitive form`);
    }
    const contentStart = pos;
    if (first === 0x80) {
      if (!constructed) fail("an indefinite length on a primitive value");
      const children: BerNode[] = [];
      for (;;) {
        const child = value(end, depth + 1, true);
        if (child === null) break;
        children.push(child);
      }
      return {
        tagClass,
        constructed,
        tag,
        start,
        contentStart,
        contentEnd: pos - 2,
        end: pos,
        indefinite: true,
        children,
      };
    }
    let length = first;
    let at = contentStart;
    if (first > 0x80) {
      const count = first & 0x7f;
      if (count > 4) fail("a length longer than 4 bytes");
      if (pos + count > end) fail("a length is cut short");
      if (bytes[pos] === 0) fail("a length has a leading zero byte");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (bytes[pos++] as number);
      if (length < 0x80) fail("a short length uses the long form");
      at = pos;
    }
    const contentEnd = at + length;
    if (contentEnd > end) fail("a length runs past its container");
    const children: BerNode[] = [];
    if (constructed) {
      while (pos < contentEnd) children.push(value(contentEnd, depth + 1, false) as BerNode);
    } else {
      pos = contentEnd;
    }
    return {
      tagClass,
      constructed,
      tag,
      start,
      contentStart: at,
      contentEnd,
      end: contentEnd,
      indefinite: false,
      children,
    };
  };

  const root = value(bytes.length, 0, false) as BerNode;
  if (pos !== bytes.length) throw new EncodingError(`trailing data: ${bytes.length - pos} bytes`);
  return root;
}

/** Why the bytes are not one well-formed BER value, or null when they are. */
export function encodingProblem(bytes: Uint8Array): string | null {
  try {
    decodeBer(bytes);
    return null;
  } catch (e) {
    if (e instanceof EncodingError) return e.message;
    throw e;
  }
}

/** Whether a value and everything inside it uses definite lengths and primitive strings: DER's forms. */
export function isDefiniteForm(node: BerNode): boolean {
  if (node.indefinite) return false;
  // BER lets strings be built of chunks; DER does not (BIT, OCTET and character strings).
  if (node.tagClass === UNIVERSAL && node.constructed && !CONSTRUCTED.has(node.tag)) return false;
  return node.children.every(isDefiniteForm);
}

/** The whole encoding of a value (identifier, length, contents), without copying. */
export function encodingOf(bytes: Uint8Array, node: BerNode): Uint8Array {
  return bytes.subarray(node.start, node.end);
}

/** The contents of a primitive value, without copying. */
export function contentOf(bytes: Uint8Array, node: BerNode): Uint8Array {
  return bytes.subarray(node.contentStart, node.contentEnd);
}

export function isUniversal(node: BerNode | undefined, tag: number): node is BerNode {
  return node !== undefined && node.tagClass === UNIVERSAL && node.tag === tag;
}

export function isContext(node: BerNode | undefined, tag: number): node is BerNode {
  return node !== undefined && node.tagClass === CONTEXT && node.tag === tag;
}

/** Dotted form of an OBJECT IDENTIFIER's contents; null when they are not a valid encoding. */
export function oidText(contents: Uint8Array): string | null {
  if (contents.length === 0 || ((contents[contents.length - 1] as number) & 0x80) !== 0) return null;
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (const b of contents) {
    if (fresh && b === 0x80) return null; // an arc with a leading zero
    value = value * 128 + (b & 0x7f);
    // Arcs beyond 2^48 name nothing the gate knows; they are not worth exact digits.
    if (value > 2 ** 48) return `oid:${Buffer.from(contents).toString("hex")}`;
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}
