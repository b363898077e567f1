// Libraries a clean run never needs, loaded synchronously on first use: the
// positioned YAML parser (for findings and user-supplied Apple schema files)
// and Ajv's string formats (only some Apple schemas use them). Startup time
// of every CLI command depends on not loading them eagerly.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

let yamlModule: typeof import("yaml") | undefined;
let ajvModule: typeof import("ajv/dist/2020.js") | undefined;

/** Ajv for JSON Schema 2020-12 (only needed when a schema is not precompiled). */
export function ajvClass(): typeof import("ajv/dist/2020.js").Ajv2020 {
  ajvModule ??= require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  return ajvModule.Ajv2020;
}

/** The `yaml` package. */
export function yamlLib(): typeof import("yaml") {
  yamlModule ??= require("yaml") as typeof import("yaml");
  return yamlModule;
}

type AddFormats = (ajv: unknown, formats: string[]) => unknown;
let addFormatsFn: AddFormats | undefined;

/** ajv-formats' plugin function. */
export function ajvFormats(): AddFormats {
  if (addFormatsFn === undefined) {
    const mod = require("ajv-formats") as AddFormats | { default: AddFormats };
    addFormatsFn = typeof mod === "function" ? mod : mod.default;
  }
  return addFormatsFn;
}
