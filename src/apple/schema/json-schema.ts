// Apple-format schema → JSON Schema 2020-12, pruned to a platform and OS
// version. Shared or recursive `subkeys` lists (YAML aliases) become `$defs`
// entries referenced with `$ref`, so the output grows with the input, never
// with the number of paths through it.
import { EnrollgateError } from "../../errors.js";
import { isPlatform, schemaPlatform, SCHEMA_PLATFORMS, type Platform } from "../platform.js";
import { parseOsVersion, type OsVersion } from "../version.js";
import {
  availableInScope,
  deprecatedInScope,
  inapplicableReason,
  inherit,
  narrowerThanParent,
  payloadSupport,
  type EffectiveSupport,
  type Scope,
} from "./availability.js";
import { keyList, type AppleKey, type AppleSchemaDocument, type KeyList } from "./document.js";

/** `emit`: documents enrollgate sends (unknown keys forbidden); `receive`: documents devices send. */
export type Direction = "emit" | "receive";

export interface SchemaTarget {
  readonly platform?: Platform;
  /** The device's OS version; only meaningful with `platform`. */
  readonly os?: string;
  readonly direction: Direction;
  /** payloadkeys or responsekeys; default payloadkeys when the file has them. */
  readonly keys?: KeyList;
}

export type JsonSchema = { [keyword: string]: unknown } | boolean;

export type Conversion =
  | { readonly applicable: true; readonly schema: { [keyword: string]: unknown } }
  | { readonly applicable: false; readonly reason: string };

/** A platform or OS version a schema cannot be converted for. */
export class SchemaTargetError extends EnrollgateError<"schema-target-invalid"> {
  override readonly name = "SchemaTargetError";

  constructor(message: string) {
    super("schema-target-invalid", message);
  }
}

/** The keyword that accepts plist values JSON Schema cannot type: a Date or a Buffer. */
export const PLIST_TYPE_KEYWORD = "x-plist-type";

const BASE64 = "^[A-Za-z0-9+/\\s]*={0,2}\\s*$";

type Role = "object" | "items" | "values";

function isAnyKey(name: string): boolean {
  return name === "ANY" || name.startsWith("ANY ");
}

/** Subkeys lists reached more than once (aliases, recursion): these become $defs. */
function sharedLists(roots: ReadonlyArray<AppleKey>): Set<ReadonlyArray<AppleKey>> {
  const seen = new Set<ReadonlyArray<AppleKey>>();
  const shared = new Set<ReadonlyArray<AppleKey>>();
  const stack: ReadonlyArray<AppleKey>[] = [roots];
  while (stack.length > 0) {
    const list = stack.pop() as ReadonlyArray<AppleKey>;
    for (const key of list) {
      const sub = key.subkeys;
      if (sub === undefined) continue;
      if (seen.has(sub)) {
        shared.add(sub);
        continue;
      }
      seen.add(sub);
      stack.push(sub);
    }
  }
  return shared;
}

class Converter {
  private readonly shared: Set<ReadonlyArray<AppleKey>>;
  private readonly defNames = new Map<ReadonlyArray<AppleKey>, Map<string, string>>();
  private readonly usedNames = new Set<string>();
  readonly defs: Record<string, JsonSchema> = {};

  constructor(
    roots: ReadonlyArray<AppleKey>,
    private readonly scope: Scope,
    private readonly direction: Direction,
  ) {
    this.shared = sharedLists(roots);
  }

  /** The schema of a dictionary's keys: properties, required, and ANY keys as additionalProperties. */
  objectOf(keys: ReadonlyArray<AppleKey>, parent: EffectiveSupport): { [keyword: string]: unknown } {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    const wildcard: JsonSchema[] = [];
    let wildcardRequired = false;
    for (const key of keys) {
      const support = inherit(parent, key.supportedOS);
      if (!availableInScope(support, this.scope)) continue;
      const schema = this.keySchema(key, support);
      if (isAnyKey(key.key)) {
        wildcard.push(schema);
        if (key.presence === "required") wildcardRequired = true;
        continue;
      }
      properties[key.key] = schema;
      if (key.presence === "required" && !narrowerThanParent(parent, support, this.scope)) required.push(key.key);
    }
    const out: { [keyword: string]: unknown } = { type: "object" };
    const names = Object.keys(properties);
    if (names.length > 0) out.properties = properties;
    if (required.length > 0) out.required = required;
    if (wildcard.length > 0) {
      out.additionalProperties = wildcard.length === 1 ? wildcard[0] : { anyOf: wildcard };
      if (wildcardRequired) {
        // At least one key beyond the named ones.
        if (names.length === 0) out.minProperties = 1;
        else out.not = { type: "object", propertyNames: { enum: names } };
      }
    } else if (this.direction === "emit") {
      out.additionalProperties = false;
    }
    return out;
  }

  /** An array's `items` (one variant, or anyOf several) plus cardinality from `repetition`. */
  itemsOf(keys: ReadonlyArray<AppleKey>, parent: EffectiveSupport): { [keyword: string]: unknown } {
    const variants: JsonSchema[] = [];
    let repetition: AppleKey["repetition"];
    for (const key of keys) {
      const support = inherit(parent, key.supportedOS);
      if (!availableInScope(support, this.scope)) continue;
      variants.push(this.keySchema(key, support));
      repetition ??= key.repetition;
    }
    const out: { [keyword: string]: unknown } = { type: "array" };
    if (variants.length === 1) out.items = variants[0];
    else if (variants.length > 1) out.items = { anyOf: variants };
    else if (keys.length > 0 && this.direction === "emit") out.items = false; // no variant exists here
    if (repetition !== undefined) {
      out.minItems = repetition.min;
      out.maxItems = repetition.max;
    }
    return out;
  }

  /** A scalar whose subkeys name its allowed values. */
  valuesOf(keys: ReadonlyArray<AppleKey>, parent: EffectiveSupport): { [keyword: string]: unknown } {
    const names = keys.filter((k) => availableInScope(inherit(parent, k.supportedOS), this.scope)).map((k) => k.key);
    return { enum: names };
  }

  /** Expands a subkeys list in a role, through $defs when the list is shared. */
  private subkeys(
    keys: ReadonlyArray<AppleKey>,
    role: Role,
    parent: EffectiveSupport,
    hint: string,
  ): { [keyword: string]: unknown } {
    const build = () =>
      role === "object"
        ? this.objectOf(keys, parent)
        : role === "items"
          ? this.itemsOf(keys, parent)
          : this.valuesOf(keys, parent);
    if (!this.shared.has(keys)) return build();
    // The same list under a parent with different availability can prune differently.
    const variant = `${role}|${JSON.stringify(SCHEMA_PLATFORMS.map((p) => parent[p] ?? null))}`;
    let byVariant = this.defNames.get(keys);
    if (byVariant === undefined) {
      byVariant = new Map();
      this.defNames.set(keys, byVariant);
    }
    let name = byVariant.get(variant);
    if (name === undefined) {
      name = this.uniqueName(hint);
      byVariant.set(variant, name);
      this.defs[name] = true; // placeholder: a recursive reference finds the name already taken
      this.defs[name] = build();
    }
    return { $ref: `#/$defs/${encodeURIComponent(name)}` };
  }

  private uniqueName(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.-]/g, "_") || "keys";
    let name = base;
    for (let i = 2; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  keySchema(key: AppleKey, support: EffectiveSupport): JsonSchema {
    const out: { [keyword: string]: unknown } = {};
    if (key.title !== undefined) out.title = key.title;
    if (key.content !== undefined) out.description = key.content;
    if (key.default !== undefined) out.default = key.default;
    if (deprecatedInScope(support, this.scope)) out.deprecated = true;
    const sub = key.subkeys;
    const hint = key.subkeytype ?? key.key;
    switch (key.type) {
      case "<string>":
      case "<integer>":
      case "<real>":
      case "<boolean>": {
        out.type = { "<string>": "string", "<integer>": "integer", "<real>": "number", "<boolean>": "boolean" }[
          key.type
        ];
        if (key.rangelist !== undefined) out.enum = [...key.rangelist];
        else if (sub !== undefined && sub.length > 0) Object.assign(out, this.subkeys(sub, "values", support, hint));
        if (key.range?.min !== undefined) out.minimum = key.range.min;
        if (key.range?.max !== undefined) out.maximum = key.range.max;
        if (key.format !== undefined) out.pattern = key.format;
        if (key.subtype !== undefined)
          out.format = { "<url>": "uri", "<hostname>": "hostname", "<email>": "email" }[key.subtype];
        return out;
      }
      case "<date>":
        out.anyOf = [{ type: "string", format: "date-time" }, { [PLIST_TYPE_KEYWORD]: "date" }];
        return out;
      case "<data>":
        out.anyOf = [{ type: "string", contentEncoding: "base64", pattern: BASE64 }, { [PLIST_TYPE_KEYWORD]: "data" }];
        return out;
      case "<array>":
        out.type = "array";
        if (sub !== undefined && sub.length > 0) Object.assign(out, this.subkeys(sub, "items", support, hint));
        if (key.repetition !== undefined) {
          out.minItems = key.repetition.min;
          out.maxItems = key.repetition.max;
        }
        return out;
      case "<dictionary>":
        if (sub === undefined || sub.length === 0) {
          out.type = "object";
          return out;
        }
        return { ...out, ...this.subkeys(sub, "object", support, hint) };
      case "<any>":
        return out;
    }
  }
}

/** Resolves a target's platform and OS into a scope, with clear errors for bad input. */
export function scopeOf(target: SchemaTarget): Scope {
  if (target.platform === undefined) {
    if (target.os !== undefined) throw new SchemaTargetError("an OS version needs a platform");
    return { platforms: SCHEMA_PLATFORMS, os: null };
  }
  if (!isPlatform(target.platform)) {
    throw new SchemaTargetError(
      `unknown platform ${JSON.stringify(target.platform)} (expected iOS, iPadOS, macOS, tvOS, visionOS or watchOS)`,
    );
  }
  const os: OsVersion | null = target.os === undefined ? null : parseOsVersion(target.os);
  return { platforms: [schemaPlatform(target.platform)], os };
}

/** Converts one key list of a document for a target, or says why the payload does not apply. */
export function toJsonSchema(doc: AppleSchemaDocument, target: SchemaTarget): Conversion {
  const keys = keyList(doc, target.keys);
  if (keys === undefined) {
    throw new SchemaTargetError(`${doc.title} has no ${target.keys === "response" ? "responsekeys" : "payloadkeys"}`);
  }
  const scope = scopeOf(target);
  const root = payloadSupport(doc.payload?.supportedOS);
  const platform = scope.platforms.length === 1 ? scope.platforms[0] : undefined;
  if (platform !== undefined && target.platform !== undefined) {
    const reason = inapplicableReason(doc.title, root, target.platform, platform, scope.os, target.os);
    if (reason !== null) return { applicable: false, reason };
  }
  const converter = new Converter(keys, scope, target.direction);
  const body = converter.objectOf(keys, root);
  const schema: { [keyword: string]: unknown } = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: doc.title,
  };
  if (doc.description !== undefined && doc.description !== "") schema.description = doc.description;
  Object.assign(schema, body);
  if (Object.keys(converter.defs).length > 0) schema.$defs = converter.defs;
  return { applicable: true, schema };
}
