// Validators compiled at build time (scripts/build-validators.mjs) for the
// schemas enrollgate ships, so that a run need not load Ajv to check its
// own 403 bodies. Used only for the exact shipped document and target; any
// other document or target is compiled at run time as usual.
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv/dist/2020.js";
import type { AppleSchemaDocument } from "./document.js";
import type { SchemaTarget } from "./json-schema.js";

const shipped = new WeakMap<AppleSchemaDocument, string>();
type Table = Record<string, ValidateFunction> | null;
/** The 403 body's validators, and the DDM schemas' (apart, so that a run that needs only one loads only it). */
const tables = new Map<string, Table>();

function load(file: string): Table {
  let table = tables.get(file);
  if (table === undefined) {
    try {
      table = createRequire(import.meta.url)(file) as Record<string, ValidateFunction>;
    } catch {
      table = null; // running from source: nothing was generated
    }
    tables.set(file, table);
  }
  return table;
}

/** The key a shipped document's validator is stored under. */
export function precompiledKey(name: string, target: SchemaTarget): string {
  return [name, target.platform ?? "*", target.os ?? "*", target.direction, target.keys ?? "-"].join("|");
}

/** Marks a document as the shipped one of that name (bundled.ts does, on loading it). */
export function markShipped(doc: AppleSchemaDocument, name: string): void {
  shipped.set(doc, name);
}

export function precompiledValidator(doc: AppleSchemaDocument, target: SchemaTarget): ValidateFunction | null {
  const name = shipped.get(doc);
  if (name === undefined) return null;
  const table = load(name.startsWith("ddm/") ? "../ddm-validators.cjs" : "../apple-validators.cjs");
  return table?.[precompiledKey(name, target)] ?? null;
}
