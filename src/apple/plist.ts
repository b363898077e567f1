// Reading XML property lists that arrive from devices: strictly, and safely
// on a public URL. Apple's standard DOCTYPE line is accepted; any other
// DOCTYPE, an internal DTD subset, entity or element declarations, undefined
// entity references, binary plists and absurd nesting are refused before the
// XML parser sees them. Values are converted strictly: <integer>abc</integer>
// is an error, not null.
import { DOMParser, type Element, type Node as XmlNode } from "@xmldom/xmldom";
import { EnrollgateError } from "../errors.js";

export class PlistError extends EnrollgateError<"plist-invalid"> {
  override readonly name = "PlistError";

  constructor(message: string) {
    super("plist-invalid", message);
  }
}

export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | { [key: string]: PlistValue };

export const MAX_PLIST_DEPTH = 32;

const APPLE_DOCTYPE =
  /<!DOCTYPE\s+plist\s+PUBLIC\s+"-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN"\s+"http:\/\/www\.apple\.com\/DTDs\/PropertyList-1\.0\.dtd"\s*>/g;
const PREDEFINED_ENTITIES = new Set(["lt", "gt", "amp", "quot", "apos"]);

/** Refuses what a plist from a device never needs and an attacker would use. */
function screen(xml: string): void {
  const withoutAppleDoctype = xml.replace(APPLE_DOCTYPE, "");
  const declaration = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b/i.exec(withoutAppleDoctype);
  if (declaration !== null) {
    const kind = (declaration[1] ?? "").toUpperCase();
    if (kind === "DOCTYPE") {
      const rest = withoutAppleDoctype.slice(declaration.index, declaration.index + 4096);
      throw new PlistError(
        rest.includes("[")
          ? "the plist has an internal DTD subset; only Apple's standard DOCTYPE line is accepted"
          : "the plist has a DOCTYPE other than Apple's standard plist DOCTYPE",
      );
    }
    throw new PlistError(
      `the plist declares an ${kind === "ENTITY" ? "entity" : kind.toLowerCase()} (<!${kind}>); declarations are not accepted`,
    );
  }
  for (const m of xml.matchAll(/&([A-Za-z_:][\w.:-]*);/g)) {
    if (!PREDEFINED_ENTITIES.has(m[1] ?? ""))
      throw new PlistError(`the plist refers to an undefined entity &${m[1] ?? ""};`);
  }
  let depth = 0;
  // [^<>]* (not a lazy [^>]*?): an attempt ends at the next < or >, so the
  // scan is linear however many unclosed tags there are.
  for (const m of xml.matchAll(/<(\/?)(dict|array)\b([^<>]*)>/g)) {
    if ((m[3] ?? "").endsWith("/")) continue;
    depth += m[1] === "/" ? -1 : 1;
    if (depth > MAX_PLIST_DEPTH) throw new PlistError(`the plist nests deeper than ${MAX_PLIST_DEPTH} levels`);
  }
}

function elementChildren(node: XmlNode): Element[] {
  const out: Element[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType === c.ELEMENT_NODE) out.push(c as Element);
    else if (c.nodeType === c.TEXT_NODE && (c.nodeValue ?? "").trim() !== "") {
      throw new PlistError(
        `unexpected text ${JSON.stringify((c.nodeValue ?? "").trim().slice(0, 40))} inside <${node.nodeName}>`,
      );
    }
  }
  return out;
}

function text(el: Element): string {
  let s = "";
  for (let c = el.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType === c.TEXT_NODE || c.nodeType === c.CDATA_SECTION_NODE) s += c.nodeValue ?? "";
    else if (c.nodeType === c.ELEMENT_NODE) throw new PlistError(`<${el.tagName}> cannot contain <${c.nodeName}>`);
  }
  return s;
}

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function value(el: Element, depth: number, path: string): PlistValue {
  if (depth > MAX_PLIST_DEPTH) throw new PlistError(`the plist nests deeper than ${MAX_PLIST_DEPTH} levels`);
  const at = path === "" ? "" : ` at ${path}`;
  switch (el.tagName) {
    case "dict": {
      const out: { [key: string]: PlistValue } = {};
      const children = elementChildren(el);
      for (let i = 0; i < children.length; i += 2) {
        const k = children[i] as Element;
        if (k.tagName !== "key") throw new PlistError(`expected <key> in <dict>${at}, found <${k.tagName}>`);
        const name = text(k);
        const v = children[i + 1];
        if (v === undefined) throw new PlistError(`<key>${name}</key> has no value${at}`);
        if (Object.prototype.hasOwnProperty.call(out, name)) throw new PlistError(`key "${name}" appears twice${at}`);
        Object.defineProperty(out, name, {
          value: value(v, depth + 1, path === "" ? name : `${path}.${name}`),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "array":
      return elementChildren(el).map((c, i) => value(c, depth + 1, `${path}[${i}]`));
    case "string":
      return text(el);
    case "integer": {
      const t = text(el).trim();
      const n = Number(t);
      if (!INTEGER.test(t) || !Number.isSafeInteger(n))
        throw new PlistError(`<integer>${t.slice(0, 40)}</integer> is not an integer${at}`);
      return n;
    }
    case "real": {
      const t = text(el).trim();
      if (!REAL.test(t)) throw new PlistError(`<real>${t.slice(0, 40)}</real> is not a number${at}`);
      const lower = t.toLowerCase().replace(/^[+-]/, "");
      if (lower === "nan") return Number.NaN;
      if (lower === "inf" || lower === "infinity") return t.startsWith("-") ? -Infinity : Infinity;
      return Number(t);
    }
    case "true":
    case "false":
      if (el.firstChild !== null && text(el).trim() !== "") throw new PlistError(`<${el.tagName}/> must be empty${at}`);
      return el.tagName === "true";
    case "date": {
      const t = text(el).trim();
      const d = new Date(t);
      if (!DATE.test(t) || Number.isNaN(d.getTime()))
        throw new PlistError(`<date>${t.slice(0, 40)}</date> is not an ISO 8601 UTC date${at}`);
      return d;
    }
    case "data": {
      const t = text(el).replace(/\s+/g, "");
      if (!BASE64.test(t) || t.length % 4 === 1) throw new PlistError(`<data> is not base64${at}`);
      return Buffer.from(t, "base64");
    }
    default:
      throw new PlistError(`<${el.tagName}> is not a property list element${at}`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes and parses an XML plist from bytes, refusing anything unsafe or malformed. */
export function parsePlistBytes(bytes: Uint8Array): PlistValue {
  if (bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString("latin1") === "bplist") {
    throw new PlistError("binary property lists are not accepted; expected an XML plist");
  }
  if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) {
    throw new PlistError("the plist is UTF-16; expected UTF-8");
  }
  let xml: string;
  try {
    xml = utf8.decode(bytes);
  } catch {
    throw new PlistError("the plist is not valid UTF-8");
  }
  return parsePlistText(xml);
}

/** Parses XML plist text, refusing anything unsafe or malformed. */
export function parsePlistText(xml: string): PlistValue {
  screen(xml);
  const problems: string[] = [];
  const parser = new DOMParser({
    onError: (level, message) => {
      if (level === "warning") return;
      problems.push(message.split("\n")[0] ?? message);
      throw new PlistError(message);
    },
  });
  let doc;
  try {
    doc = parser.parseFromString(xml.replace(/^\uFEFF/, ""), "text/xml");
  } catch (e) {
    throw new PlistError(
      `the plist is not well-formed XML: ${problems[0] ?? (e as Error).message.split("\n")[0] ?? ""}`.trim(),
    );
  }
  const root = doc.documentElement;
  if (root === null) throw new PlistError("the plist is empty");
  if (root.tagName !== "plist") throw new PlistError(`the root element is <${root.tagName}>, not <plist>`);
  const children = elementChildren(root);
  if (children.length !== 1) throw new PlistError(`<plist> must hold exactly one value, not ${children.length}`);
  return value(children[0] as Element, 1, "");
}

export function isPlistDict(v: PlistValue): v is { [key: string]: PlistValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}
