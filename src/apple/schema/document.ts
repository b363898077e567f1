// Apple's device-management YAML schema format (apple/device-management,
// docs/schema.md): the typed model and a parser that checks its structure.
// Aliases are kept as shared (possibly cyclic) object references; nothing here
// expands them.
import { EnrollgateError } from "../../errors.js";
import { formatLocation } from "../../location.js";
import { yamlLib } from "../../lazy-modules.js";
import { SCHEMA_PLATFORMS, type SchemaPlatform } from "../platform.js";
import { tryParseOsVersion } from "../version.js";

export const TYPE_TOKENS = [
  "<string>",
  "<integer>",
  "<real>",
  "<boolean>",
  "<date>",
  "<data>",
  "<array>",
  "<dictionary>",
  "<any>",
] as const;
export type TypeToken = (typeof TYPE_TOKENS)[number];

export interface OsSupport {
  readonly introduced?: string;
  readonly deprecated?: string;
  readonly removed?: string;
  readonly [attribute: string]: unknown;
}

export type SupportedOS = Partial<Record<SchemaPlatform, OsSupport>>;

export interface AppleKey {
  readonly key: string;
  readonly type: TypeToken;
  readonly title?: string;
  readonly subtype?: "<url>" | "<hostname>" | "<email>";
  readonly presence?: "required" | "optional";
  readonly rangelist?: ReadonlyArray<string | number>;
  readonly range?: { readonly min?: number; readonly max?: number };
  readonly default?: string | number | boolean;
  readonly format?: string;
  readonly repetition?: { readonly min: number; readonly max: number };
  readonly content?: string;
  readonly supportedOS?: SupportedOS;
  readonly subkeytype?: string;
  readonly subkeys?: ReadonlyArray<AppleKey>;
}

export interface AppleSchemaDocument {
  readonly title: string;
  readonly description?: string;
  readonly payload?: {
    readonly supportedOS?: SupportedOS;
    readonly payloadtype?: string;
    readonly requesttype?: string;
    readonly declarationtype?: string;
    readonly statusitemtype?: string;
    readonly content?: string;
  };
  readonly payloadkeys?: ReadonlyArray<AppleKey>;
  readonly responsekeys?: ReadonlyArray<AppleKey>;
}

export class AppleSchemaError extends EnrollgateError<"apple-schema-invalid"> {
  override readonly name = "AppleSchemaError";
  constructor(
    message: string,
    readonly source: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(
      "apple-schema-invalid",
      `${line === undefined ? source : formatLocation({ file: source, line, column: column ?? 1 })}: ${message}`,
    );
  }
}

// Larger inputs than this are not schema files; refuse before parsing.
const MAX_SCHEMA_BYTES = 4 * 1024 * 1024;
// Deeper nesting than this is hostile, not a schema.
const MAX_DEPTH = 64;

type Problems = string[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const VERSION_SENTINELS = new Set(["n/a", "all"]);

function checkSupportedOS(value: unknown, where: string, problems: Problems): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    problems.push(`${where}.supportedOS must be a mapping`);
    return;
  }
  for (const [platform, entry] of Object.entries(value)) {
    if (!(SCHEMA_PLATFORMS as readonly string[]).includes(platform)) {
      // Newer schema releases may add platforms; they cannot affect ours.
      continue;
    }
    if (!isRecord(entry)) {
      problems.push(`${where}.supportedOS.${platform} must be a mapping`);
      continue;
    }
    for (const field of ["introduced", "deprecated", "removed"] as const) {
      const v = entry[field];
      if (v === undefined) continue;
      if (typeof v !== "string" || (!VERSION_SENTINELS.has(v) && tryParseOsVersion(v) === null)) {
        problems.push(
          `${where}.supportedOS.${platform}.${field}: ${JSON.stringify(v)} is not an OS version, "n/a" or "all"`,
        );
      }
    }
  }
}

function checkKeys(value: unknown, where: string, problems: Problems, seen: Set<unknown>, depth: number): void {
  if (seen.has(value)) return; // a shared or recursive alias: checked once
  seen.add(value);
  if (depth > MAX_DEPTH) {
    problems.push(`${where}: nested deeper than ${MAX_DEPTH} levels`);
    return;
  }
  if (!Array.isArray(value)) {
    problems.push(`${where} must be a sequence of keys`);
    return;
  }
  value.forEach((item: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isRecord(item)) {
      problems.push(`${at} must be a mapping`);
      return;
    }
    if (typeof item.key !== "string" || item.key === "") {
      problems.push(`${at}: "key" must be a non-empty string`);
      return;
    }
    const named = `${at} (${item.key})`;
    if (typeof item.type !== "string" || !(TYPE_TOKENS as readonly string[]).includes(item.type)) {
      problems.push(`${named}: unknown type ${JSON.stringify(item.type)} (expected one of ${TYPE_TOKENS.join(" ")})`);
    }
    if (item.presence !== undefined && item.presence !== "required" && item.presence !== "optional") {
      problems.push(`${named}: presence must be "required" or "optional"`);
    }
    if (item.rangelist !== undefined) {
      const ok =
        Array.isArray(item.rangelist) &&
        item.rangelist.every((v: unknown) => typeof v === "string" || typeof v === "number");
      if (!ok) problems.push(`${named}: rangelist must be a sequence of strings or numbers`);
    }
    if (item.range !== undefined) {
      const r = item.range;
      const ok = isRecord(r) && ["min", "max"].every((k) => r[k] === undefined || typeof r[k] === "number");
      if (!ok) problems.push(`${named}: range must have numeric min and/or max`);
    }
    if (item.repetition !== undefined) {
      const r = item.repetition;
      const ok = isRecord(r) && Number.isInteger(r.min) && Number.isInteger(r.max);
      if (!ok) problems.push(`${named}: repetition must have integer min and max`);
    }
    if (item.format !== undefined) {
      if (typeof item.format !== "string") problems.push(`${named}: format must be a string`);
      else {
        try {
          new RegExp(item.format, "u");
        } catch (e) {
          problems.push(`${named}: format is not a valid regular expression (${(e as Error).message})`);
        }
      }
    }
    if (item.subtype !== undefined && !["<url>", "<hostname>", "<email>"].includes(String(item.subtype))) {
      problems.push(`${named}: unknown subtype ${JSON.stringify(item.subtype)}`);
    }
    checkSupportedOS(item.supportedOS, named, problems);
    if (item.subkeys !== undefined) checkKeys(item.subkeys, `${named}.subkeys`, problems, seen, depth + 1);
  });
}

/** Checks an already-parsed value and returns it typed, or throws an AppleSchemaError. */
export function toAppleSchemaDocument(value: unknown, source = "schema"): AppleSchemaDocument {
  const problems: Problems = [];
  if (!isRecord(value)) throw new AppleSchemaError("the document must be a mapping", source);
  if (typeof value.title !== "string") problems.push(`"title" must be a string`);
  if (value.payload !== undefined) {
    if (!isRecord(value.payload)) problems.push(`"payload" must be a mapping`);
    else checkSupportedOS(value.payload.supportedOS, "payload", problems);
  }
  if (value.payloadkeys === undefined && value.responsekeys === undefined) {
    problems.push(`the document has neither "payloadkeys" nor "responsekeys"`);
  }
  const seen = new Set<unknown>();
  if (value.payloadkeys !== undefined) checkKeys(value.payloadkeys, "payloadkeys", problems, seen, 0);
  if (value.responsekeys !== undefined) checkKeys(value.responsekeys, "responsekeys", problems, seen, 0);
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join("; ");
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : "";
    throw new AppleSchemaError(`not an Apple device-management schema: ${shown}${more}`, source);
  }
  return value as unknown as AppleSchemaDocument;
}

/** What a parser's stack overflow means for a document. */
export const TOO_DEEP = "the document nests too deeply to read (thousands of levels; these files need a handful)";

/** The first line of a yaml error, without the position it repeats. */
export function yamlMessage(message: string): string {
  if (message.includes("Maximum call stack size exceeded")) return TOO_DEEP;
  return (message.split("\n")[0] ?? "YAML syntax error").replace(/ at line \d+, column \d+:?$/, "");
}

/** Parses Apple-format YAML text into a checked document. */
export function parseAppleSchema(text: string, source = "schema"): AppleSchemaDocument {
  if (text.length > MAX_SCHEMA_BYTES) {
    throw new AppleSchemaError(`the file is larger than ${MAX_SCHEMA_BYTES / 1024 / 1024} MiB`, source);
  }
  const doc = yamlLib().parseDocument(text);
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    throw new AppleSchemaError(yamlMessage(first.message), source, pos?.line, pos?.col);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    throw new AppleSchemaError(yamlMessage((e as Error).message), source);
  }
  return toAppleSchemaDocument(value, source);
}

/** Which key list a document describes: "payload" (payloadkeys) or "response" (responsekeys). */
export type KeyList = "payload" | "response";

export function keyList(doc: AppleSchemaDocument, which?: KeyList): ReadonlyArray<AppleKey> | undefined {
  if (which === "payload") return doc.payloadkeys;
  if (which === "response") return doc.responsekeys;
  return doc.payloadkeys ?? doc.responsekeys;
}
