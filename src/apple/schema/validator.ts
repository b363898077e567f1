// Compiles converted Apple schemas with Ajv (JSON Schema 2020-12, strict mode)
// and reports violations as "path: problem" lines people can act on.
import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { ajvClass, ajvFormats } from "../../lazy-modules.js";
import { precompiledValidator } from "./precompiled.js";
import type { AppleSchemaDocument } from "./document.js";
import { PLIST_TYPE_KEYWORD, toJsonSchema, type SchemaTarget } from "./json-schema.js";

export interface SchemaViolation {
  /** JSON Pointer into the document, "" for the root. */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult =
  { readonly ok: true } | { readonly ok: false; readonly violations: ReadonlyArray<SchemaViolation> };

export type CompiledAppleSchema =
  | {
      readonly applicable: true;
      readonly schema: { [keyword: string]: unknown };
      validate(document: unknown): ValidationResult;
    }
  | { readonly applicable: false; readonly reason: string };

const FORMATS = ["date-time", "uri", "hostname", "email"];
const withFormats = new WeakSet<Ajv2020>();

/** Registers the string formats on first need: most schemas use none. */
function ensureFormats(ajv: Ajv2020, schema: unknown): void {
  if (withFormats.has(ajv) || !JSON.stringify(schema).includes('"format":')) return;
  ajvFormats()(ajv, FORMATS);
  withFormats.add(ajv);
}

/**
 * A fresh Ajv set up for converted Apple schemas. Strict mode checks every
 * keyword; the converted schemas are checked against the 2020-12 meta-schema
 * by the tests rather than on every compile.
 */
export function createAjv(options: { validateSchema?: boolean } = {}): Ajv2020 {
  const Ajv = ajvClass();
  const ajv = new Ajv({
    strict: true,
    allErrors: true,
    unicodeRegExp: true,
    validateSchema: options.validateSchema ?? false,
  });
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
    anyOfs.some(
      (a) => a !== e && e.schemaPath.startsWith(`${a.schemaPath}/`) && e.instancePath.startsWith(a.instancePath),
    );
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
    validate(document) ? { ok: true } : { ok: false, violations: describeErrors(validate.errors ?? []) };
}

/**
 * Converts and compiles a document for a target. Throws when the converted
 * schema does not compile under strict mode: that is a converter bug or a
 * malformed Apple file, never a device's fault.
 */
export function compileAppleSchema(doc: AppleSchemaDocument, target: SchemaTarget, ajv?: Ajv2020): CompiledAppleSchema {
  const conversion = toJsonSchema(doc, target);
  if (!conversion.applicable) return conversion;
  const pre = ajv === undefined ? precompiledValidator(doc, target) : null;
  if (pre !== null) return { applicable: true, schema: conversion.schema, validate: wrap(pre) };
  const compiler = ajv ?? sharedAjv();
  ensureFormats(compiler, conversion.schema);
  const validate = compiler.compile(conversion.schema);
  return { applicable: true, schema: conversion.schema, validate: wrap(validate) };
}
