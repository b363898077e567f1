// Structural validation of policy files against schemas/policy.schema.json,
// with each Ajv error turned into a finding at the right place: an unknown key
// at the key, a missing key at its mapping, a wrong value at the value.
import { createRequire } from "node:module";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { readFileSync } from "node:fs";
import { InternalError } from "../errors.js";
import { ajvClass } from "../lazy-modules.js";
import { packageFile } from "../paths.js";
import { parseBuild } from "../apple/build.js";
import { parseOsVersion, VersionError } from "../apple/version.js";
import type { Finding } from "./findings.js";
import { finding, type DataPath, type ParsedSource } from "./source.js";
import { QUOTE_MODELS_HINT } from "./yaml-hints.js";

export type FileKind = "rules" | "tests" | "settings";
export type { ValidateFunction } from "ajv/dist/2020.js";

const DEF: Record<FileKind, string> = { rules: "ruleFile", tests: "testFile", settings: "settingsFile" };

let validators: Record<FileKind, ValidateFunction> | undefined;

/** schemas/policy.schema.json, the policy file format, shipped with the package. */
function policyJsonSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(packageFile("schemas/policy.schema.json"), "utf8")) as Record<string, unknown>;
}

/** The validators `npm run build` generated from the schema, when running from dist/. */
function generated(): Record<FileKind, ValidateFunction> | undefined {
  try {
    return createRequire(import.meta.url)("./policy-validators.cjs") as Record<FileKind, ValidateFunction>;
  } catch {
    return undefined;
  }
}

function compiled(): Record<FileKind, ValidateFunction> {
  validators ??= generated();
  if (validators === undefined) {
    // verbose: errors carry the data and parent schema, for "did you mean" hints.
    // Our own schema: the tests check it against the meta-schema, not every run.
    const Ajv2020 = ajvClass();
    const ajv = new Ajv2020({ strict: true, allErrors: true, verbose: true, validateSchema: false });
    const schema = policyJsonSchema();
    ajv.addSchema(schema);
    const id = String(schema.$id);
    const get = (kind: FileKind) => {
      const v = ajv.getSchema(`${id}#/$defs/${DEF[kind]}`);
      if (v === undefined) throw new InternalError(`policy schema has no $defs/${DEF[kind]}`);
      return v;
    };
    validators = { rules: get("rules"), tests: get("tests"), settings: get("settings") };
  }
  return validators;
}

function toPath(pointer: string): DataPath {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

const VERSION_FIELDS = new Set(["minimum", "osVersion"]);
const BUILD_FIELDS = new Set(["minimumBuild", "targetBuild", "build", "supplementalBuild", "buildVersion"]);
const DATE_FIELDS = new Set(["activeFrom", "until", "now"]);

function fieldKind(path: DataPath): "version" | "target" | "build" | "date" | null {
  const last = path[path.length - 1];
  if (typeof last !== "string") return null;
  if (VERSION_FIELDS.has(last)) return "version";
  if (last === "target") return path[path.length - 2] === "expect" ? "version" : "target";
  if (BUILD_FIELDS.has(last)) return "build";
  if (DATE_FIELDS.has(last)) return "date";
  return null;
}

function label(path: DataPath): string {
  const last = path[path.length - 1];
  return last === undefined ? "the file" : typeof last === "number" ? `item ${last + 1}` : `"${last}"`;
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(
        cur + 1,
        (row[j - 1] ?? 0) + 1,
        prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}

function suggestion(unknown: string, known: ReadonlyArray<string>): string {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(unknown, k);
    if (d < bestScore) {
      best = k;
      bestScore = d;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(best.length / 3))
    ? ` (did you mean "${best}"?)`
    : "";
}

function knownKeys(parentSchema: unknown): string[] {
  const props = (parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props === undefined ? [] : Object.keys(props);
}

/** The rule id at a path inside a rule file, for findings' `rule` field. */
function ruleIdAt(value: unknown, path: DataPath): string | undefined {
  if (path[0] !== "rules" || typeof path[1] !== "number") return undefined;
  const rules = (value as { rules?: unknown[] } | null)?.rules;
  const id = (rules?.[path[1]] as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : undefined;
}

const ZONED_DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Why a deadline is not one, in words: the schema's oneOf says only that neither form fits. */
function deadlineProblem(data: unknown): string {
  const forms = 'a date-time on the device\'s clock (2026-12-15T18:00:00) or { daysAfterRelease: N, at: "HH:MM" }';
  if (typeof data === "string") {
    const zoned = ZONED_DATE_TIME.exec(data);
    if (zoned !== null)
      return `deadline ${data} has a time zone; Apple's TargetLocalDateTime is the device's own clock: write ${zoned[1] ?? ""}`;
    if (/^\d{4}-\d{2}-\d{2}$/.test(data))
      return `deadline ${data} needs a time of day on the device's clock: ${data}T18:00:00, say`;
    return `deadline ${JSON.stringify(data)} is not ${forms}`;
  }
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    const o = data as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => k !== "daysAfterRelease" && k !== "at");
    if (unknown.length > 0) return `deadline: unknown key ${unknown.map((k) => `"${k}"`).join(", ")}; write ${forms}`;
    if (!("at" in o)) return 'deadline needs at: the time of day on the device\'s clock, "HH:MM"';
    if (typeof o.at !== "string" || !/^(\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?)$/.test(o.at))
      return `deadline at ${JSON.stringify(o.at)} is not a time of day on the device's clock ("HH:MM", 24-hour)`;
    if (/^\d{2}:\d{2}$/.test(o.at) && !/^([01]\d|2[0-3]):[0-5]\d$/.test(o.at))
      return `deadline at ${JSON.stringify(o.at)} is not a time of day ("HH:MM", 00:00 to 23:59)`;
    return "deadline daysAfterRelease must be a whole number of days, 0 to 365";
  }
  return `deadline must be ${forms}`;
}

function describeValueProblem(e: ErrorObject, path: DataPath, source: ParsedSource): Finding | null {
  const at = source.locate(path);
  const rule = ruleIdAt(source.value, path);
  const kind = fieldKind(path);
  const scalar = source.scalarAt(path);
  const what = label(path);

  if (kind !== null && (e.keyword === "type" || e.keyword === "pattern")) {
    if (scalar !== null && (typeof scalar.value === "number" || typeof scalar.value === "boolean") && kind !== "date") {
      const code = kind === "build" ? "invalid-build" : "version-not-string";
      return finding(
        at,
        code,
        "error",
        `${what} is the YAML ${typeof scalar.value} ${scalar.source}; write it as a quoted string: "${scalar.source}"`,
        rule,
      );
    }
    if (e.keyword === "pattern" && scalar !== null && typeof scalar.value === "string") {
      if (kind === "build") {
        return finding(at, "invalid-build", "error", `${what}: ${errorText(() => parseBuild(scalar.value))}`, rule);
      }
      if (kind === "date") {
        return finding(
          at,
          "invalid-date",
          "error",
          `${what}: ${JSON.stringify(scalar.value)} is not a date (expected YYYY-MM-DD or an RFC 3339 date-time)`,
          rule,
        );
      }
      const extra = kind === "target" ? ' or "latest" / "latest-in-major"' : "";
      return finding(
        at,
        "invalid-version",
        "error",
        `${what}: ${errorText(() => parseOsVersion(scalar.value))}${extra}`,
        rule,
      );
    }
  }
  // A string where the token mapping belongs: a literal token, never allowed in git.
  if (
    path[path.length - 1] === "token" &&
    e.keyword === "type" &&
    scalar !== null &&
    typeof scalar.value === "string"
  ) {
    return finding(
      at,
      "literal-beta-token",
      "error",
      "betaProgram.token is a literal token; tokens never live in git: use token: {env: NAME} or token: {file: PATH}",
      rule,
    );
  }
  switch (e.keyword) {
    case "type":
      return finding(at, "schema-type", "error", `${what} must be ${article(String(e.params.type))}`, rule);
    case "enum": {
      const allowed = (e.params.allowedValues as unknown[]).map((v) => String(v));
      const got = scalar?.source ?? JSON.stringify(e.data);
      const near = allowed.find((a) => typeof e.data === "string" && a.toLowerCase() === e.data.toLowerCase());
      return finding(
        at,
        "schema-value",
        "error",
        `${what} must be one of ${allowed.join(", ")}, not ${got}${near !== undefined ? ` (did you mean "${near}"?)` : ""}`,
        rule,
      );
    }
    case "pattern":
      if (path[path.length - 1] === "detailsURL") {
        return finding(
          at,
          "schema-value",
          "error",
          `"detailsURL": ${JSON.stringify(e.data)} is not a web address (https://...)`,
          rule,
        );
      }
      if (path[path.length - 1] === "id") {
        return finding(
          at,
          "schema-value",
          "error",
          `rule id ${JSON.stringify(e.data)} must be lowercase letters, digits and hyphens, starting with a letter or digit`,
          rule,
        );
      }
      return finding(
        at,
        "schema-value",
        "error",
        `${what}: ${JSON.stringify(e.data)} is not allowed here (must match ${String(e.params.pattern)})`,
        rule,
      );
    case "uniqueItems":
      return finding(
        at,
        "schema-value",
        "error",
        `${what} lists the same value twice (items ${Number(e.params.j) + 1} and ${Number(e.params.i) + 1})`,
        rule,
      );
    case "minProperties":
    case "maxProperties":
      if (path[path.length - 1] === "token") {
        return finding(at, "schema-value", "error", "betaProgram.token needs exactly one of env or file", rule);
      }
      return finding(at, "schema-value", "error", `${what} ${e.message ?? "is invalid"}`, rule);
    case "oneOf":
      if (path[path.length - 1] === "deadline")
        return finding(at, "invalid-deadline", "error", deadlineProblem(e.data), rule);
      return finding(
        at,
        "schema-value",
        "error",
        `${what} must be ${path[path.length - 1] === "rule" ? "a rule id or null" : "a build number or null"}`,
        rule,
      );
    default:
      return finding(at, "schema-value", "error", `${what} ${e.message ?? "is invalid"}`, rule);
  }
}

function article(type: string): string {
  const names: Record<string, string> = {
    array: "a list",
    object: "a mapping",
    string: "a string",
    integer: "an integer",
    boolean: "true or false",
    number: "a number",
    null: "null",
  };
  return names[type] ?? type;
}

function errorText(f: () => unknown): string {
  try {
    f();
    return "invalid";
  } catch (e) {
    return e instanceof VersionError ? e.message : String(e);
  }
}

/** Rules whose model list holds numbers: an unquoted `iPhone15,2` split at its comma. */
function splitModelLists(source: ParsedSource): Map<number, Finding> {
  const out = new Map<number, Finding>();
  const rules = (source.value as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return out;
  rules.forEach((rule: unknown, i) => {
    const models = (rule as { models?: unknown } | null)?.models;
    if (!Array.isArray(models)) return;
    const j = models.findIndex((m, k) => k > 0 && typeof m === "number" && typeof models[k - 1] === "string");
    if (j === -1) return;
    const written = `${String(models[j - 1])},${String(models[j])}`;
    out.set(
      i,
      finding(
        source.locate(["rules", i, "models"]),
        "schema-type",
        "error",
        `"models" reads ${written} as two values, "${String(models[j - 1])}" and ${String(models[j])}: ${QUOTE_MODELS_HINT}`,
        ruleIdAt(source.value, ["rules", i]),
      ),
    );
  });
  return out;
}

export interface StructureCheck {
  readonly findings: Finding[];
  /** Rules (by index) with a structural error; the file's other rules can still be read. */
  readonly brokenRules: ReadonlySet<number>;
  /** An error outside any single rule: nothing in the file can be read. */
  readonly brokenFile: boolean;
}

/** Validates one parsed file against its kind's schema. */
export function validateStructure(
  source: ParsedSource,
  kind: FileKind,
  validators: Record<FileKind, ValidateFunction> = compiled(),
): StructureCheck {
  const validate = validators[kind];
  if (validate(source.value)) return { findings: [], brokenRules: new Set(), brokenFile: false };
  const errors = validate.errors ?? [];
  const oneOfs = errors.filter((e) => e.keyword === "oneOf");
  // A deadline's oneOf is explained whole (deadlineProblem): what its branches say beneath it would repeat it.
  const deadlines = oneOfs.filter((o) => o.instancePath.endsWith("/deadline")).map((o) => o.instancePath);
  const insideOneOf = (e: ErrorObject) =>
    oneOfs.some((o) => o !== e && e.schemaPath.startsWith(`${o.schemaPath}/`) && e.instancePath === o.instancePath) ||
    (e.keyword !== "oneOf" && deadlines.some((d) => e.instancePath === d || e.instancePath.startsWith(`${d}/`)));
  const out: Finding[] = [];
  const seen = new Set<string>();
  const brokenRules = new Set<number>();
  let brokenFile = false;
  // `models: [iPhone15,2]` reads as "iPhone15" and 2: one finding that says to quote, not one per piece.
  const splitModels = kind === "rules" ? splitModelLists(source) : new Map<number, Finding>();
  for (const [i, f] of splitModels) {
    brokenRules.add(i);
    out.push(f);
  }
  for (const e of errors) {
    if (insideOneOf(e)) continue;
    const path = toPath(e.instancePath);
    if (path[0] === "rules" && typeof path[1] === "number" && path[2] === "models" && splitModels.has(path[1]))
      continue;
    if (kind === "rules" && path[0] === "rules" && typeof path[1] === "number") brokenRules.add(path[1]);
    else brokenFile = true;
    let f: Finding | null;
    if (e.keyword === "additionalProperties") {
      const key = String(e.params.additionalProperty);
      const keyPath = [...path, key];
      f = finding(
        source.locate(keyPath, "key"),
        "schema-unknown-key",
        "error",
        `unknown key "${key}"${path.length > 0 ? ` in ${label(path)}` : ""}${
          /^\d+$/.test(key)
            ? ' (inside { }, a comma ends a value: quote values such as "iPhone15,2")'
            : suggestion(key, knownKeys(e.parentSchema))
        }`,
        ruleIdAt(source.value, path),
      );
    } else if (e.keyword === "required") {
      const missing = String(e.params.missingProperty);
      f = finding(
        source.locate(path),
        "schema-missing-key",
        "error",
        `missing required key "${missing}"${path.length > 0 ? ` in ${label(path)}` : ""}`,
        ruleIdAt(source.value, path),
      );
    } else {
      f = describeValueProblem(e, path, source);
    }
    if (f === null) continue;
    const key = `${f.line}:${f.column}:${f.code}:${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return { findings: out, brokenRules, brokenFile };
}
