// Compiles converted Apple schemas with Ajv (JSON Schema 2020-12, strict mode)
// and reports violations as "path: problem" lines people can act on.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { AppleSchemaDocument } from "./document.js";
import { PLIST_TYPE_KEYWORD, toJsonSchema, type SchemaTarget } from "./json-schema.js";

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020, formats: string[]) => Ajv2020;

export interface SchemaViolation {
  /** JSON Pointer into the document, "" for the root. */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult =
  | { readonly valid: true }
  | { readonly valid: false; readonly violations: ReadonlyArray<SchemaViolation> };

export type CompiledAppleSchema =
  | {
      readonly applicable: true;
      readonly schema: { [keyword: string]: unknown };
      validate(document: unknown): ValidationResult;
    }
  | { readonly applicable: false; readonly reason: string };

/** A fresh Ajv set up for converted Apple schemas. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, unicodeRegExp: true });
  addFormats(ajv, ["date-time", "uri", "hostname", "email"]);
  ajv.addKeyword({
    keyword: PLIST_TYPE_KEYWORD,
    schemaType: "string",
    errors: false,
    validate: (kind: string, data: unknown) =>
      kind === "date"
        ? data instanceof Date && !Number.isNaN(data.getTime())
        : Buffer.isBuffer(data) || data instanceof Uint8Array,
  });
  return ajv;
}

let shared: Ajv2020 | undefined;
function sharedAjv(): Ajv2020 {
  shared ??= createAjv();
  return shared;
}

function pointerToPath(pointer: string): string {
  if (pointer === "") return "(root)";
  return pointer
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

/**
 * One plain-language line per Ajv error. Errors from inside an anyOf's
 * branches are folded into the anyOf's own line: listing why each
 * alternative failed buries the point.
 */
export function describeErrors(errors: ReadonlyArray<ErrorObject>): SchemaViolation[] {
  const anyOfs = errors.filter((e) => e.keyword === "anyOf");
  const insideAnyOf = (e: ErrorObject) =>
    anyOfs.some((a) => a !== e && e.schemaPath.startsWith(`${a.schemaPath}/`) && e.instancePath.startsWith(a.instancePath));
  const out: SchemaViolation[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (insideAnyOf(e)) continue;
    let message: string;
    let path = e.instancePath;
    switch (e.keyword) {
      case "required":
        message = `missing required key "${String(e.params.missingProperty)}"`;
        break;
      case "additionalProperties":
        path = `${path}/${String(e.params.additionalProperty).replace(/~/g, "~0").replace(/\//g, "~1")}`;
        message = "unknown key";
        break;
      case "enum":
        message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
        break;
      case "type":
        message = `must be ${String(e.params.type)}`;
        break;
      case "anyOf":
        message = "does not match any allowed form";
        break;
      default:
        message = e.message ?? e.keyword;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

/** Formats violations as "details.OSVersion: must be string; ..." */
export function formatViolations(violations: ReadonlyArray<SchemaViolation>): string {
  return violations.map((v) => `${pointerToPath(v.path)}: ${v.message}`).join("; ");
}

function wrap(validate: ValidateFunction): (document: unknown) => ValidationResult {
  return (document) =>
    validate(document) ? { valid: true } : { valid: false, violations: describeErrors(validate.errors ?? []) };
}

/**
 * Converts and compiles a document for a target. Throws when the converted
 * schema does not compile under strict mode: that is a converter bug or a
 * malformed Apple file, never a device's fault.
 */
export function compileAppleSchema(
  doc: AppleSchemaDocument,
  target: SchemaTarget,
  ajv: Ajv2020 = sharedAjv(),
): CompiledAppleSchema {
  const conversion = toJsonSchema(doc, target);
  if (!conversion.applicable) return conversion;
  const validate = ajv.compile(conversion.schema);
  return { applicable: true, schema: conversion.schema, validate: wrap(validate) };
}
